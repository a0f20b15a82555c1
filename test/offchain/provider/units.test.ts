import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { id } from "ethers";
import {
  Inventory,
  LinearPricing,
  ProviderConfigError,
  StateStore,
  createPricingStrategy,
  loadProviderKey,
  parseProviderConfig,
  registerPricingStrategy,
  resolveCapacity,
} from "../../../offchain/provider";
import { PRICING, tempDir } from "./helpers";

const R = (cpuMillis: number, memoryMiB = 1024, storageMiB = 1024, bandwidthMbps = 10) => ({ cpuMillis, memoryMiB, storageMiB, bandwidthMbps });
const CAPACITY = R(4000, 8192, 20480, 100);

describe("provider inventory", function () {
  it("refuses a reservation beyond capacity and never over-commits", function () {
    const inventory = new Inventory(CAPACITY, new StateStore(tempDir(), { durable: false }));
    expect(inventory.reserve(1n, 1n, R(3000)).ok).to.equal(true);
    const refused = inventory.reserve(2n, 1n, R(2000));
    expect(refused).to.deep.equal({ ok: false, resource: "cpuMillis", requested: 2000, free: 1000, capacity: 4000 });
    expect(inventory.get(2n)).to.equal(undefined);
    expect(inventory.free().cpuMillis).to.equal(1000);
    expect(inventory.reserve(1n, 1n, R(3000)).ok).to.equal(true); // idempotent
    expect(inventory.usage().cpuMillis).to.equal(3000);
  });

  it("commits when won and releases on loss, cancel, expiry, deployment close and charter end", function () {
    const inventory = new Inventory(CAPACITY, new StateStore(tempDir(), { durable: false }));
    const released: string[] = [];
    inventory.on("released", (r, reason) => released.push(`${r.orderId}:${reason}`));
    for (const order of [1n, 2n, 3n, 4n, 5n]) inventory.reserve(order, order === 5n ? 9n : 1n, R(500));
    expect(inventory.commit(1n, 1n)?.state).to.equal("committed");
    inventory.release(2n, "lost");
    inventory.release(3n, "cancelled");
    inventory.release(4n, "expired");
    inventory.releaseDeployment(9n);
    inventory.release(1n, "charter-closed");
    expect(released).to.deep.equal(["2:lost", "3:cancelled", "4:expired", "5:deployment-closed", "1:charter-closed"]);
    expect(inventory.usage()).to.deep.equal(R(0, 0, 0, 0));
    expect(inventory.release(1n, "lost")).to.equal(undefined);
  });

  it("keeps reservations across a restart (journal and snapshot)", function () {
    const dir = tempDir();
    const state = new StateStore(dir, { compactEvery: 3 });
    const inventory = new Inventory(CAPACITY, state);
    for (const order of [1n, 2n, 3n, 4n]) inventory.reserve(order, 1n, R(1000));
    inventory.commit(2n, 2n);
    inventory.release(3n, "lost");
    state.close();
    const reopened = new Inventory(CAPACITY, new StateStore(dir));
    expect(reopened.list().map((r) => [r.orderId, r.state])).to.deep.equal([["1", "reserved"], ["2", "committed"], ["4", "reserved"]]);
    expect(reopened.free().cpuMillis).to.equal(1000);
  });
});

describe("provider pricing", function () {
  const order = (resources = R(2000, 4096, 10240, 100), maxPricePerSecond = 1000n) => ({
    orderId: 1n,
    resources,
    maxPricePerSecond,
    duration: 3600n,
    attributes: [],
  });

  it("linear: sum of resource x unit price, plus margin, at least the floor", function () {
    const result = new LinearPricing(PRICING).price(order());
    expect(result).to.deep.equal({
      kind: "price",
      price: 539n,
      breakdown: { cpu: 200n, memory: 80n, storage: 10n, bandwidth: 200n, base: 490n, margin: 49n, floored: false },
    });
    const tiny = new LinearPricing(PRICING).price(order(R(1, 1, 1, 0)));
    expect(tiny).to.include({ kind: "price", price: 10n });
  });

  it("declines above the order's limit", function () {
    expect(new LinearPricing(PRICING).price(order(undefined, 538n))).to.deep.equal({
      kind: "decline",
      code: "ProviderPriceAboveLimit",
      reason: "our price 539 wei/s is above the order's limit 538 wei/s",
    });
  });

  it("strategies are pluggable by name", function () {
    registerPricingStrategy("flat", () => ({ name: "flat", price: () => ({ kind: "decline", code: "Flat", reason: "no" }) }));
    expect(createPricingStrategy({ ...PRICING, strategy: "flat" }).name).to.equal("flat");
    expect(() => createPricingStrategy({ ...PRICING, strategy: "nope" })).to.throw(/unknown pricing strategy "nope"/);
  });
});

describe("provider config", function () {
  const example = readFileSync(join(__dirname, "../../../offchain/provider/provider.example.yaml"), "utf8");

  function refused(text: string): string {
    try {
      parseProviderConfig(text, "provider.yaml", "/etc/tom3");
    } catch (error) {
      expect(error).to.be.instanceOf(ProviderConfigError);
      return (error as ProviderConfigError).format();
    }
    throw new Error("accepted");
  }

  it("reads the documented example", function () {
    const config = parseProviderConfig(example, "provider.example.yaml", "/etc/tom3");
    expect(config.chain).to.include({ rpcUrl: "http://127.0.0.1:8545", confirmations: 2, reorgDepth: 64, pollIntervalMs: 2000 });
    expect(config.key).to.deep.include({ keyEnv: "TOM3_PROVIDER_KEY" });
    expect(config.capacity).to.deep.equal({ cpuMillis: 8000, memoryMiB: 16384, storageMiB: 204800, bandwidthMbps: 1000 });
    expect(config.attributes.get(id("region=eu-west"))).to.equal("region=eu-west");
    expect(config.pricing).to.deep.equal({ strategy: "linear", cpu: 100n, memory: 20n, storage: 1n, bandwidth: 1n, marginBps: 1000, floor: 10n });
    expect(config.timeouts).to.deep.equal({ rpcMs: 10_000, transactionMs: 120_000, expiryGraceSeconds: 300 });
    expect(config.register).to.deep.equal({ enabled: true, stake: 1000n * 10n ** 18n, retryMs: 30_000 });
    expect(config.dataDir).to.equal("/etc/tom3/data");
    expect(config.charters).to.deep.equal({ claimIntervalMs: 3_600_000, watchdogMarginSeconds: 60, peerFetchDelayMs: 5_000 });
  });

  it("takes the watchdog margin in whole seconds, with a located error otherwise", function () {
    const margin = (value: string) => example.replace("watchdogMargin: 60s", `watchdogMargin: ${value}`);
    expect(parseProviderConfig(margin("2m")).charters.watchdogMarginSeconds).to.equal(120);
    expect(parseProviderConfig(margin("90")).charters.watchdogMarginSeconds).to.equal(90);
    const line = example.split("\n").findIndex((l) => l.includes("watchdogMargin")) + 1;
    expect(refused(margin("1500ms"))).to.equal(
      `provider.yaml:${line}:19: charters.watchdogMargin: must be a whole number of seconds, at least 1s (it is compared with the chain's clock)`,
    );
    expect(refused(margin("0s"))).to.contain(`provider.yaml:${line}:19: charters.watchdogMargin: must be a whole number of seconds`);
    expect(refused(margin("soon"))).to.equal(
      `provider.yaml:${line}:19: charters.watchdogMargin: "soon" is not valid here (expected a duration like "2s", "500ms" or "5m")`,
    );
    expect(refused(margin("60s\n  watchdog: 1m"))).to.match(/charters\.watchdog: unknown key \(expected one of: claimInterval, watchdogMargin, peerFetchDelay\)/);
  });

  it("locates every problem by path and line:column, never a stack trace", function () {
    const text = example
      .replace("memory: 16Gi", "memory: 16GB")
      .replace("keyEnv: TOM3_PROVIDER_KEY", "privateKey: 0xabc")
      .replace("confirmations: 2 ", "confirmations: two ");
    const report = refused(text);
    const line = (needle: string) => text.split("\n").findIndex((l) => l.includes(needle)) + 1;
    expect(report).to.contain(`provider.yaml:${line("confirmations: two")}:18: chain.confirmations: must be integer`);
    expect(report).to.match(new RegExp(`provider\\.yaml:${line("privateKey:")}:3: key\\.privateKey: unknown key`));
    expect(report).not.to.match(/\n\s+at /);
    const units = refused(example.replace("memory: 16Gi", "memory: 16GB"));
    expect(units).to.match(new RegExp(`^provider\\.yaml:${line("memory: 16GB")}:11: capacity\\.memory: `));
  });

  it("needs a key source, and reads the key from the environment only", async function () {
    expect(refused(example.replace("keyEnv: TOM3_PROVIDER_KEY", "keystore: ./k.json"))).to.contain("key: a keystore needs passwordEnv");
    const config = parseProviderConfig(example);
    const error = await loadProviderKey(config, {}).catch((e: unknown) => e);
    expect((error as ProviderConfigError).format()).to.equal("provider.yaml: key.keyEnv: the environment variable TOM3_PROVIDER_KEY is not set");
    const wallet = await loadProviderKey(config, { TOM3_PROVIDER_KEY: "0x" + "11".repeat(32) });
    expect(wallet.address).to.match(/^0x/);
  });

  it("takes missing capacity from the engine's report", async function () {
    const config = parseProviderConfig(example.replace("  cpu: 8            # CPUs", "  # cpu").replace("  memory: 16Gi", "  # memory"));
    expect(await resolveCapacity(config, () => ({ cpuMillis: 2000, memoryMiB: 4096 }))).to.deep.equal({
      cpuMillis: 2000,
      memoryMiB: 4096,
      storageMiB: 204800,
      bandwidthMbps: 1000,
    });
    const error = await resolveCapacity(config).catch((e: unknown) => e);
    expect((error as ProviderConfigError).format()).to.contain("capacity.cpu: is not set");
  });
});
