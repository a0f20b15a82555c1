import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { HardhatPluginError } from "hardhat/plugins";
import { writeDeployment } from "../../offchain/chain/addresses";
import { formatReport, price, secondsFlag, time, toJson, tokens } from "../../tasks/lib";

/**
 * The tasks' shared machinery, before the contracts exist: finding the deployment, refusing a stale one, and
 * turning a revert into a sentence. A RevertFixture stands in for every contract; its fallback refuses any call
 * with MarketUnauthorized(caller).
 */
describe("tasks/lib", function () {
  const VERSION = `0x${"ab".repeat(32)}`;
  let dir: string;
  let previousDir: string | undefined;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-task-deployments-"));
    previousDir = process.env.TOM3_DEPLOYMENTS_DIR;
    process.env.TOM3_DEPLOYMENTS_DIR = dir;
  });

  afterEach(function () {
    if (previousDir === undefined) delete process.env.TOM3_DEPLOYMENTS_DIR;
    else process.env.TOM3_DEPLOYMENTS_DIR = previousDir;
    rmSync(dir, { recursive: true, force: true });
  });

  async function deployFixture() {
    const fixture = await hre.ethers.deployContract("RevertFixture");
    return { address: await fixture.getAddress() };
  }

  function writeRecord(address: string): void {
    const contracts = { token: address, registry: address, certificates: address, market: address, usage: address };
    writeDeployment({ chainId: 31337, deployedAtBlock: 0, contracts }, dir);
  }

  /** Run a task with console output captured; returns what it printed and threw. */
  async function run(name: string, args: Record<string, unknown>): Promise<{ printed: string; error?: Error }> {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...parts: unknown[]) => void lines.push(parts.join(" "));
    try {
      await hre.run(name, { json: false, ...args });
      return { printed: lines.join("\n") };
    } catch (error) {
      return { printed: lines.join("\n"), error: error as Error };
    } finally {
      console.log = log;
    }
  }

  it("names the missing deployment file", async function () {
    const { error } = await run("tom3:balance", {});
    expect(error).to.be.instanceOf(HardhatPluginError);
    expect(error!.message).to.contain(join(dir, "31337.json"));
    expect(error!.message).to.contain("nothing is deployed on chain 31337");
  });

  it("refuses a deployment file whose addresses hold no code", async function () {
    writeRecord("0x000000000000000000000000000000000000dEaD");
    const { error } = await run("tom3:balance", {});
    expect(error).to.be.instanceOf(HardhatPluginError);
    // Run without --network (the in-process network): the usual cause is a forgotten `--network localhost`.
    expect(error!.message).to.contain(`no TOM3 contract at the addresses of ${join(dir, "31337.json")} on Hardhat's in-process network`);
    expect(error!.message).to.contain("add `--network localhost`");
  });

  it("reports a revert as the contract, the method and a sentence", async function () {
    const { address } = await loadFixture(deployFixture);
    writeRecord(address);
    const [signer] = await hre.ethers.getSigners();
    const { error } = await run("tom3:deployment:create", { versionHash: VERSION });
    expect(error).to.be.instanceOf(HardhatPluginError);
    expect(error!.message).to.equal(
      `Market.createDeployment reverted: ${signer.address} is not allowed to do this ` +
        `(not the owner, tenant or an approved operator) (MarketUnauthorized)`,
    );
  });

  it("prints the decoded revert as JSON with --json", async function () {
    const { address } = await loadFixture(deployFixture);
    writeRecord(address);
    const [, second] = await hre.ethers.getSigners();
    const { printed, error } = await run("tom3:order:cancel", { order: "3", from: "1", json: true });
    expect(error).to.be.instanceOf(HardhatPluginError);
    const json = JSON.parse(printed) as { error: { message: string; revert: Record<string, unknown> } };
    expect(json.error.message).to.match(/^Market\.cancelOrder reverted: /);
    expect(json.error.revert).to.include({ code: "MarketUnauthorized", contract: "Market" });
    expect(json.error.revert.args).to.deep.equal({ caller: second.address });
  });

  it("names the flag of a bad value", async function () {
    const { address } = await loadFixture(deployFixture);
    writeRecord(address);
    const { error } = await run("tom3:deployment:create", { versionHash: "0x1234" });
    expect(error!.message).to.equal('--version-hash: "0x1234" is not 32 bytes of hex (0x + 64 digits)');
    const order = await run("tom3:order:create", {
      deployment: "1",
      cpu: "1.5m",
      memory: "256Mi",
      storage: "1Gi",
      bandwidth: "10Mbps",
      maxPrice: "120wei",
      duration: "1h",
      window: "30s",
      minReputation: "0",
      attributes: "",
    });
    expect(order.error).to.be.instanceOf(HardhatPluginError);
    expect(order.error!.message).to.equal(
      "--cpu: 1.5m is not a whole number of millicores (1 CPU = 1000m); use at most 3 decimals of a CPU",
    );
    const from = await run("tom3:balance", { from: "99" });
    expect(from.error!.message).to.match(/^--from 99: network hardhat has \d+ accounts/);
  });

  it("takes durations as the manifest writes them, or plain seconds", function () {
    expect(secondsFlag("seconds", "3600")).to.equal(3600);
    expect(secondsFlag("seconds", "1h30m")).to.equal(5400);
    expect(() => secondsFlag("seconds", "1w")).to.throw(/^--seconds: expected a duration/);
  });

  describe("reports", function () {
    const report = {
      orderId: 3n,
      locked: tokens(432_000n),
      deposited: tokens(15n * 10n ** 17n),
      maxPrice: price(120n),
      closesAt: time(1_767_225_600),
      approvalTx: undefined,
      bids: [{ id: 1n, price: price(100n), best: true }],
    };

    it("print one line per fact, lists one line per item", function () {
      expect(formatReport(report)).to.equal(
        [
          "order id: 3",
          "locked: 432000 wei",
          "deposited: 1.5 TOM3",
          "max price: 120 wei/s",
          "closes at: 2026-01-01 00:00:00 UTC",
          "bids: 1",
          "  id 1, price 100 wei/s, best true",
        ].join("\n"),
      );
    });

    it("give wei and ids as strings and times as numbers in JSON", function () {
      expect(toJson(report)).to.deep.equal({
        orderId: "3",
        locked: "432000",
        deposited: "1500000000000000000",
        maxPrice: "120",
        closesAt: 1_767_225_600,
        bids: [{ id: "1", price: "100", best: true }],
      });
    });
  });
});
