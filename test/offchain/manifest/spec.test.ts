/**
 * From a manifest to its orders: the summed, rounded-up resources of each placement group, and an integration
 * test posting them to the Market deployed by the project's Ignition module.
 */
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { id } from "ethers";
import { ethers } from "hardhat";
import { readFileSync } from "node:fs";
import path from "node:path";
import { deployTom3 } from "../../fixtures/deploy";
import {
  attributeHash,
  ManifestError,
  parseManifest,
  requirementSpecs,
  type NormalisedManifest,
} from "../../../offchain/manifest";

const hello = readFileSync(path.join(__dirname, "..", "..", "..", "examples", "hello.yaml"), "utf8");

function manifest(services: string, placement: string): string {
  return `version: "1.0"\nservices:\n${services}\nplacement:\n${placement}\nduration: 1d\nbiddingWindow: 1m\n`;
}

describe("manifest requirement specs", function () {
  it("makes one order of hello: the sum of web and api", function () {
    const [order, ...rest] = requirementSpecs(parseManifest(hello));
    expect(rest).to.deep.equal([]);
    expect(order.group).to.equal("eu");
    expect(order.services).to.deep.equal(["api", "web"]);
    expect(order.spec).to.deep.equal({
      resources: { cpuMillis: 750, memoryMiB: 192, storageMiB: 320, bandwidthMbps: 15 },
      maxPricePerSecond: 120n,
      duration: 3600n,
      biddingWindow: 30n,
      minReputation: 0,
      attributes: [id("region=eu-west")],
    });
  });

  it("multiplies by count, then rounds up to whole MiB and Mbps once per group", function () {
    const text = manifest(
      [
        "  a: { image: a, count: 3, resources: { cpu: 1m, memory: 1, storage: 1Ki, bandwidth: 1bps } }",
        "  b: { image: b, resources: { cpu: 2, memory: 1Mi, storage: 0, bandwidth: 999996bps } }",
      ].join("\n"),
      "  g: { maxPricePerSecond: 1, services: [a, b] }",
    );
    expect(requirementSpecs(parseManifest(text))[0].spec.resources).to.deep.equal({
      cpuMillis: 2003, // 3 × 1m + 2000m
      memoryMiB: 2, // 1 MiB + 3 bytes, rounded up
      storageMiB: 1, // 3 KiB, rounded up
      bandwidthMbps: 1, // 999,996 + 3 bps, rounded up
    });
  });

  it("orders groups by name and hashes attributes as keccak256(key=value), sorted", function () {
    const text = manifest(
      ["  x: { image: x, resources: { cpu: 1, memory: 1Mi, storage: 0, bandwidth: 0bps } }",
       "  y: { image: y, resources: { cpu: 1, memory: 1Mi, storage: 0, bandwidth: 0bps } }"].join("\n"),
      [
        "  zulu: { maxPricePerSecond: 2, minReputation: 10, services: [y], attributes: { tier: gpu, region: us-east } }",
        "  alpha: { maxPricePerSecond: 1, services: [x] }",
      ].join("\n"),
    );
    const specs = requirementSpecs(parseManifest(text));
    expect(specs.map((order) => order.group)).to.deep.equal(["alpha", "zulu"]);
    expect(specs[0].spec.attributes).to.deep.equal([]);
    expect(specs[1].spec.attributes).to.deep.equal([id("region=us-east"), id("tier=gpu")].sort());
    expect(attributeHash("tier", "gpu")).to.equal(id("tier=gpu"));
    expect(specs[1].spec.minReputation).to.equal(10);
  });

  it("takes the normal form too, and then reports an overflow by path without a line", function () {
    const normal = parseManifest(hello).manifest;
    expect(requirementSpecs(normal)).to.deep.equal(requirementSpecs(parseManifest(hello)));
    const huge: NormalisedManifest = structuredClone(normal);
    huge.services.web.count = 2 ** 40;
    let thrown: unknown;
    try {
      requirementSpecs(huge);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).to.be.instanceOf(ManifestError);
    const [issue] = (thrown as ManifestError).issues;
    expect(issue.path).to.equal("placement.eu");
    expect(issue.line).to.equal(undefined);
    expect(issue.message).to.contain("CPU 549755813888250 millicores");
  });

  describe("on chain", function () {
    // The suite as the deployment module deploys it, with a funded tenant.
    async function market() {
      const [deployer, tenant] = await ethers.getSigners();
      const { token, market: contract } = await deployTom3();
      const funds = 10n ** 24n;
      await token.connect(deployer).transfer(tenant.address, funds);
      await token.connect(tenant).approve(await contract.getAddress(), funds);
      await contract.connect(tenant).deposit(funds);
      return { market: contract, tenant };
    }

    it("posts each group of a manifest as an order the Market accepts and records as asked", async function () {
      const { market: contract, tenant } = await loadFixture(market);
      const vectors = (await import("../../../offchain/manifest/test-vectors.json")).default;
      const parsed = parseManifest(vectors.valid.find((vector) => vector.name === "two-groups")!.yaml);
      await contract.connect(tenant).createDeployment(parsed.version);
      const deploymentId = await contract.deploymentCount();
      expect((await contract.deployment(deploymentId)).version).to.equal(parsed.version);

      for (const { spec } of requirementSpecs(parsed)) {
        await expect(contract.connect(tenant).createOrder(deploymentId, spec)).to.emit(contract, "OrderCreated");
        const order = await contract.order(await contract.orderCount());
        const { cpuMillis, memoryMiB, storageMiB, bandwidthMbps } = order.resources;
        expect({ cpuMillis, memoryMiB, storageMiB, bandwidthMbps }).to.deep.equal({
          cpuMillis: BigInt(spec.resources.cpuMillis),
          memoryMiB: BigInt(spec.resources.memoryMiB),
          storageMiB: BigInt(spec.resources.storageMiB),
          bandwidthMbps: BigInt(spec.resources.bandwidthMbps),
        });
        expect(order.maxPricePerSecond).to.equal(spec.maxPricePerSecond);
        expect(order.duration).to.equal(spec.duration);
        expect(order.minReputation).to.equal(BigInt(spec.minReputation));
        expect([...order.attributes]).to.deep.equal(spec.attributes);
      }
    });
  });
});
