import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import hre from "hardhat";
import { HardhatPluginError } from "hardhat/plugins";
import { parseManifest } from "../../offchain/manifest";
import { deployTom3 } from "../fixtures/deploy";
import { REPO_ROOT } from "../harness/local-chain";
import { ONE, VERSION_1, VERSION_2, runTask, taskError, useDeploymentsDir, writeRecord } from "./helpers";
import type { TaskJson } from "./helpers";

const BOND = ONE;
/** The order of the brief: cpu 500m, memory 256Mi, storage 1Gi, bandwidth 10Mbps for 1h, bids for 30 s. */
const ORDER_FLAGS = {
  deployment: "1",
  cpu: "500m",
  memory: "256Mi",
  storage: "1Gi",
  bandwidth: "10Mbps",
  maxPrice: "120wei",
  duration: "1h",
  window: "30s",
};
const REQUESTED = { cpuMillis: 500, memoryMiB: 256, storageMiB: 1024, bandwidthMbps: 10 };

/**
 * The market's tasks against the deployed suite: signer 0 is the tenant (and owns the parameters), signers 1 and 2
 * are registered, staked providers with a deposit for bid bonds, signer 3 is an operator candidate. Setup goes
 * through the tasks too.
 */
describe("tasks: market", function () {
  const dir = useDeploymentsDir();

  async function marketFixture() {
    const deployedAtBlock = await hre.ethers.provider.getBlockNumber();
    const suite = await deployTom3();
    const [tenant, provider1, provider2, operator] = await hre.ethers.getSigners();
    await suite.market.setBidBond(BOND);
    await writeRecord(dir(), suite, deployedAtBlock);
    for (const [index, provider] of [provider1, provider2].entries()) {
      await suite.token.transfer(provider.address, 1_000n * ONE);
      const from = String(index + 1);
      await runTask("tom3:provider:register", { from, endpoint: `https://p${from}.example` });
      await runTask("tom3:provider:stake", { from, amount: "100" });
      await runTask("tom3:deposit", { from, amount: "10" });
    }
    await runTask("tom3:deposit", { amount: "1000" });
    await runTask("tom3:deployment:create", { versionHash: VERSION_1 });
    return { ...suite, deployedAtBlock, tenant, provider1, provider2, operator };
  }

  async function setup() {
    const fixture = await loadFixture(marketFixture);
    await writeRecord(dir(), fixture, fixture.deployedAtBlock);
    return fixture;
  }

  /** Post the standard order, bid on it from provider 1 (and, with `price2`, provider 2); returns the ids. */
  async function orderWithBids(price2?: string): Promise<{ order: TaskJson; bid1: TaskJson; bid2?: TaskJson }> {
    const order = await runTask("tom3:order:create", ORDER_FLAGS);
    const bid1 = await runTask("tom3:bid", { from: "1", order: order.orderId, price: "100wei" });
    const bid2 = price2 ? await runTask("tom3:bid", { from: "2", order: order.orderId, price: price2 }) : undefined;
    return { order, bid1, bid2 };
  }

  it("creates, updates and closes a deployment", async function () {
    const { market, tenant } = await setup();
    const created = await runTask("tom3:deployment:create", { versionHash: VERSION_1 });
    expect(created).to.include({ deploymentId: "2", owner: tenant.address, version: VERSION_1 });
    const updated = await runTask("tom3:deployment:update", { deployment: "2", versionHash: VERSION_2 });
    expect(updated).to.include({ deploymentId: "2", version: VERSION_2 });
    expect((await market.deployment(2n)).version).to.equal(VERSION_2);
    expect(await runTask("tom3:deployment:close", { deployment: "2" })).to.include({ deploymentId: "2", closed: true });
    expect((await market.deployment(2n)).closedAt).to.equal(BigInt(await time.latest()));

    const { error } = await taskError("tom3:order:create", { ...ORDER_FLAGS, deployment: "2" });
    expect(error.message).to.match(/^Market\.createOrder reverted: .*\(MarketDeploymentClosed\)$/);
  });

  it("takes the version from a manifest file, hashed as `tom3 manifest hash` does", async function () {
    await setup();
    const file = join(REPO_ROOT, "examples", "hello.yaml");
    const { version } = parseManifest(readFileSync(file, "utf8"), { source: file });
    const created = await runTask("tom3:deployment:create", { manifest: file });
    expect(created).to.include({ deploymentId: "2", version, manifest: file });
    const updated = await runTask("tom3:deployment:update", { deployment: "2", versionHash: VERSION_2 });
    expect(updated).to.include({ version: VERSION_2 });

    const neither = await taskError("tom3:deployment:create");
    expect(neither.error.message).to.equal(
      "give the version as --manifest <file.yaml> or --version-hash 0x<64 hex digits> (one of the two)",
    );
    const both = await taskError("tom3:deployment:create", { manifest: file, versionHash: VERSION_1 });
    expect(both.error.message).to.equal(neither.error.message);
    const missing = await taskError("tom3:deployment:create", { manifest: "no-such.yaml" });
    expect(missing.error.message).to.equal("--manifest: no-such.yaml: no such file");
  });

  it("posts an order in the units of its flags and locks max price x duration", async function () {
    const { market, tenant } = await setup();
    const order = await runTask("tom3:order:create", ORDER_FLAGS);
    const createdAt = await time.latest();
    expect(order).to.deep.include({
      orderId: "1",
      deploymentId: "1",
      tenant: tenant.address,
      resources: REQUESTED,
      maxPrice: "120",
      duration: 3600,
      locked: (120n * 3600n).toString(),
      closesAt: createdAt + 30,
    });

    const onChain = await market.order(1n);
    expect(onChain.resources).to.deep.equal([500n, 256n, 1024n, 10n]);
    expect(onChain.maxPricePerSecond).to.equal(120n);
    expect(onChain.duration).to.equal(3600n);
    expect(onChain.createdAt).to.equal(BigInt(createdAt));
    expect(onChain.closesAt).to.equal(BigInt(createdAt + 30));
    expect(onChain.bidBond).to.equal(BOND);
    expect(onChain.attributes).to.deep.equal([]);
    expect(await market.balanceOf(tenant.address)).to.deep.equal([1000n * ONE - 432_000n, 432_000n]);
  });

  it("bids, matches, acknowledges, claims, extends and closes a charter", async function () {
    const { market, provider1, provider2, tenant } = await setup();
    const { order, bid1, bid2 } = await orderWithBids("110wei");
    // Offered resources default to the order's.
    expect(bid1).to.deep.include({ bidId: "1", provider: provider1.address, price: "100", bond: BOND.toString() });
    expect(bid1.offered).to.deep.equal(REQUESTED);
    expect(bid2).to.include({ bidId: "2", provider: provider2.address, price: "110" });
    expect(await market.balanceOf(provider1.address)).to.deep.equal([9n * ONE, BOND]);

    const matched = await runTask("tom3:match", { order: order.orderId });
    expect(matched).to.include({
      charterId: "1",
      orderId: "1",
      bidId: "1",
      tenant: tenant.address,
      provider: provider1.address,
      price: "100",
      duration: 3600,
    });
    // The order locked 120 wei/s for 3600 s: the charter keeps 100 wei/s of it, the rest went back to the tenant.
    expect(matched).to.include({ lockedForCharter: "360000", returnedToTenant: "72000" });

    const released = await runTask("tom3:bid:release", { bid: "2" });
    expect(released).to.include({ bidId: "2", provider: provider2.address, bond: BOND.toString() });
    expect((await market.bid(2n)).released).to.equal(true);
    expect(await market.balanceOf(provider2.address)).to.deep.equal([10n * ONE, 0n]);

    const ack = await runTask("tom3:ack", { from: "1", charter: "1" });
    const acknowledgedAt = await time.latest();
    expect(ack).to.include({ charterId: "1", endsAt: acknowledgedAt + 3600 });
    expect(await market.balanceOf(provider1.address)).to.deep.equal([10n * ONE, 0n]);

    await time.increase(99);
    const claim = await runTask("tom3:claim", { charter: "1" });
    const claimed = 100n * BigInt((await time.latest()) - acknowledgedAt);
    expect(claim).to.include({ charterId: "1", provider: provider1.address, paid: claimed.toString(), fee: "0" });
    expect(await market.balanceOf(provider1.address)).to.deep.equal([10n * ONE + claimed, 0n]);

    const extend = await runTask("tom3:extend", { charter: "1", seconds: "30m" });
    expect(extend).to.include({ charterId: "1", extendedBy: 1800, locked: "180000", endsAt: acknowledgedAt + 5400 });
    expect((await market.charter(1n)).endsAt).to.equal(BigInt(acknowledgedAt + 5400));

    const closed = await runTask("tom3:close", { charter: "1" });
    const ran = BigInt((await time.latest()) - acknowledgedAt);
    expect(closed).to.include({
      charterId: "1",
      reason: "ClosedByTenant",
      paidToProvider: (100n * ran - claimed).toString(),
      refundedToTenant: (100n * (5400n - ran)).toString(),
    });
    const charter = await market.charter(1n);
    expect(charter.state).to.equal(3n); // Closed
    expect(charter.claimed).to.equal(100n * ran);
  });

  it("cancels an undelivered charter: refund, bond to the tenant, slash", async function () {
    const { market, registry, provider1 } = await setup();
    const { order } = await orderWithBids();
    await runTask("tom3:match", { order: order.orderId });
    const stake = await registry.stakeOf(provider1.address);

    const early = await taskError("tom3:cancel-undelivered", { charter: "1" });
    expect(early.error.message).to.match(/^Market\.cancelUndelivered reverted: /);

    await time.increase(601);
    const cancelled = await runTask("tom3:cancel-undelivered", { charter: "1" });
    expect(cancelled).to.include({
      charterId: "1",
      reason: "Undelivered",
      paidToProvider: "0",
      refundedToTenant: (100n * 3600n).toString(),
      bondToTenant: BOND.toString(),
    });
    expect(await registry.stakeOf(provider1.address)).to.equal(stake - (stake * 500n) / 10_000n);
    expect((await market.charter(1n)).closeReason).to.equal(4n); // Undelivered
  });

  it("lists the orders, bids and charters it created", async function () {
    const { provider1, provider2, tenant } = await setup();
    const { order } = await orderWithBids("90wei");
    const second = await runTask("tom3:order:create", { ...ORDER_FLAGS, maxPrice: "200wei" });
    await runTask("tom3:deployment:create", { versionHash: VERSION_2 });
    const third = await runTask("tom3:order:create", { ...ORDER_FLAGS, deployment: "2" });
    expect(await runTask("tom3:order:cancel", { order: third.orderId })).to.include({ orderId: "3", cancelled: true });

    const open = await runTask("tom3:orders");
    expect(open.orders.map((o: TaskJson) => o.id)).to.deep.equal(["1", "2"]);
    expect(open.orders[0]).to.deep.include({
      id: "1",
      deployment: "1",
      tenant: tenant.address,
      state: "Open",
      resources: REQUESTED,
      maxPrice: "120",
      duration: 3600,
      bidding: "open",
      closesAt: order.closesAt,
      bestBid: "2",
      bestPrice: "90",
      attributes: 0,
    });
    expect(open.orders[1]).to.include({ id: "2", maxPrice: "200", bestBid: "none" });
    expect(open.orders[1]).not.to.have.property("bestPrice");

    const all = await runTask("tom3:orders", { all: true });
    expect(all.orders.map((o: TaskJson) => [o.id, o.state])).to.deep.equal([
      ["1", "Open"],
      ["2", "Open"],
      ["3", "Cancelled"],
    ]);
    const ofDeployment2 = await runTask("tom3:orders", { deployment: "2", all: true });
    expect(ofDeployment2.orders.map((o: TaskJson) => o.id)).to.deep.equal(["3"]);

    // Best first: provider 2's 90 wei beats provider 1's earlier 100 wei.
    const bids = await runTask("tom3:bids", { order: "1" });
    expect(bids).to.deep.equal({
      orderId: "1",
      bids: [
        { id: "2", provider: provider2.address, price: "90", best: true, released: false },
        { id: "1", provider: provider1.address, price: "100", best: false, released: false },
      ],
    });
    expect((await runTask("tom3:bids", { order: second.orderId })).bids).to.deep.equal([]);

    await time.increase(30);
    expect((await runTask("tom3:orders")).orders[0].bidding).to.equal("closed");
    await runTask("tom3:match", { from: "3", order: "1" }); // anyone, after the window
    await runTask("tom3:ack", { from: "2", charter: "1" });
    const charters = await runTask("tom3:charters");
    expect(charters.charters).to.have.length(1);
    expect(charters.charters[0]).to.deep.include({
      id: "1",
      deployment: "1",
      tenant: tenant.address,
      provider: provider2.address,
      state: "Active",
      price: "90",
      duration: 3600,
      endsAt: (await time.latest()) + 3600,
      accrued: "0",
      claimable: "0",
    });
    expect((await runTask("tom3:charters", { provider: provider2.address })).charters).to.have.length(1);
    expect((await runTask("tom3:charters", { provider: provider1.address })).charters).to.deep.equal([]);
    expect((await runTask("tom3:charters", { tenant: tenant.address })).charters).to.have.length(1);
  });

  it("approves an operator, who then posts orders for the owner", async function () {
    const { market, tenant, operator } = await setup();
    const before = await time.latest();
    const approved = await runTask("tom3:operator:approve", {
      operator: operator.address,
      allowance: "1",
      expiry: "7d",
    });
    // "7d" counts from the latest block when the task runs: at or after `before`, at or before the approval's block
    // (blocks may share a timestamp on this network).
    const week = 7 * 24 * 3600;
    const expiry = Number(approved.expiry);
    expect(expiry - week).to.be.within(before, await time.latest());
    expect(approved).to.include({ owner: tenant.address, operator: operator.address, allowance: ONE.toString() });
    const approval = await market.operatorApproval(tenant.address, operator.address);
    expect([approval.allowance, approval.expiry, approval.active]).to.deep.equal([ONE, BigInt(expiry), true]);
    expect(await market.isOperator(tenant.address, operator.address)).to.equal(true);

    const order = await runTask("tom3:order:create", { ...ORDER_FLAGS, from: "3" });
    expect(order.tenant).to.equal(tenant.address);
    expect((await market.operatorApproval(tenant.address, operator.address)).allowance).to.equal(ONE - 432_000n);
  });

  describe("errors", function () {
    it("rejects a bid above the order's limit with the decoded sentence", async function () {
      await setup();
      const order = await runTask("tom3:order:create", ORDER_FLAGS);
      const { error, printed } = await taskError("tom3:bid", { from: "1", order: order.orderId, price: "200wei" });
      expect(error).to.be.instanceOf(HardhatPluginError);
      expect(error.message).to.equal(
        "Market.placeBid reverted: price 200 is above the order's limit 120 (MarketPriceAboveLimit)",
      );
      expect(error.message).not.to.match(/0x[0-9a-f]{8}/i);
      expect(printed.error.revert).to.deep.include({ code: "MarketPriceAboveLimit", contract: "Market" });
    });

    it("names an unknown order", async function () {
      await setup();
      const { error } = await taskError("tom3:bid", { from: "1", order: "99", price: "100wei" });
      expect(error.message).to.contain("order 99 does not exist");
      const cancel = await taskError("tom3:order:cancel", { order: "99" });
      expect(cancel.error.message).to.contain("order 99 does not exist");
    });

    it("names the flag of a bad unit", async function () {
      await setup();
      const memory = await taskError("tom3:order:create", { ...ORDER_FLAGS, memory: "12XB" });
      expect(memory.error).to.be.instanceOf(HardhatPluginError);
      expect(memory.error.message).to.match(/^--memory: .*12XB/);
      const duration = await taskError("tom3:order:create", { ...ORDER_FLAGS, duration: "1w" });
      expect(duration.error.message).to.match(/^--duration: /);
      const order = await taskError("tom3:bid", { order: "one", price: "1wei" });
      expect(order.error.message).to.equal('--order: "one" is not an id (a positive integer)');
    });
  });
});
