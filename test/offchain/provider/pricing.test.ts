/**
 * The example provider bids on the example manifest: examples/hello.yaml's orders, priced with
 * provider.example.yaml's settings through the real pricing code, stay within each order's max price, and the
 * example's attributes and capacity cover what the orders require. A price or manifest change that breaks this
 * would leave a newcomer's first deployment without a bid.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseManifest, requirementSpecs } from "../../../offchain/manifest";
import { createPricingStrategy, parseProviderConfig } from "../../../offchain/provider";
import { REPO_ROOT } from "../../harness/local-chain";

describe("provider pricing: the example provider and the example manifest", function () {
  const config = parseProviderConfig(readFileSync(join(REPO_ROOT, "offchain/provider/provider.example.yaml"), "utf8"), "provider.example.yaml", REPO_ROOT);
  const groups = requirementSpecs(parseManifest(readFileSync(join(REPO_ROOT, "examples/hello.yaml"), "utf8"), { source: "examples/hello.yaml" }));

  it("prices every order of examples/hello.yaml within its max price", function () {
    const strategy = createPricingStrategy(config.pricing);
    expect(groups).to.have.length.greaterThan(0);
    for (const [i, { group, spec }] of groups.entries()) {
      const result = strategy.price({ orderId: BigInt(i + 1), ...spec });
      expect(result.kind, `group ${group}: ${JSON.stringify(result, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`).to.equal("price");
      if (result.kind !== "price") continue;
      expect(result.price <= spec.maxPricePerSecond, `group ${group}: ${result.price} > ${spec.maxPricePerSecond}`).to.equal(true);
    }
  });

  it("declares every attribute the orders require and has the capacity to run them", function () {
    for (const { group, spec } of groups) {
      for (const attribute of spec.attributes) expect(config.attributes.has(attribute.toLowerCase()), `group ${group} needs ${attribute}`).to.equal(true);
      for (const key of ["cpuMillis", "memoryMiB", "storageMiB", "bandwidthMbps"] as const) {
        expect(config.capacity[key]! >= spec.resources[key], `group ${group}: ${key}`).to.equal(true);
      }
    }
  });
});
