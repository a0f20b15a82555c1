import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ATTR, createOrder, defaultSpec, marketFixture, type MarketFixture } from "../../market/fixtures";
import type { BidDecision, DeclineDecision, WonOrder } from "../../../offchain/provider";
import { CHEAP_PRICING, eventually, marketSide, type Side } from "./helpers";

describe("provider bid engine", function () {
  let fx: MarketFixture;
  const sides: Side[] = [];
  const side = async (...args: Parameters<typeof marketSide>) => {
    const s = await marketSide(...args);
    sides.push(s);
    return s;
  };

  beforeEach(async function () {
    fx = await loadFixture(marketFixture);
  });

  afterEach(async function () {
    for (const s of sides.splice(0)) await s.stop();
  });

  it("bids on a qualifying order with the strategy's price", async function () {
    const p1 = await side(fx, fx.provider1);
    const orderId = await createOrder(fx);
    const d = (await p1.engine.waitForDecision(orderId)) as BidDecision;
    expect(d.kind).to.equal("bid");
    expect(d.price).to.equal("539");
    const bid = await fx.market.bid(BigInt(d.bidId!));
    expect(bid.provider).to.equal(fx.provider1.address);
    expect(bid.pricePerSecond).to.equal(539n);
    expect(p1.inventory.get(orderId)?.state).to.equal("reserved");
    expect(await p1.metrics.registry.getSingleMetricAsString("tom3_provider_bids_sent_total")).to.match(/ 1$/m);
  });

  describe("declines with a reason served as a sentence", function () {
    it("when the order asks for more than the capacity left", async function () {
      const p1 = await side(fx, fx.provider1, { capacity: { cpuMillis: 1000, memoryMiB: 8192, storageMiB: 20480, bandwidthMbps: 1000 } });
      const orderId = await createOrder(fx);
      const d = (await p1.engine.waitForDecision(orderId)) as DeclineDecision;
      expect(d).to.include({ kind: "decline", code: "ProviderInsufficientCapacity" });
      expect(d.reason).to.equal("the order asks for 2000 millicores of cpu but only 1000 of 1000 are free");
      expect(p1.inventory.get(orderId)).to.equal(undefined);
    });

    it("when the order pays too little", async function () {
      const p1 = await side(fx, fx.provider1);
      const orderId = await createOrder(fx, defaultSpec({ maxPricePerSecond: 500n }));
      const d = (await p1.engine.waitForDecision(orderId)) as DeclineDecision;
      expect(d).to.include({ kind: "decline", code: "ProviderPriceAboveLimit" });
      expect(d.reason).to.equal("our price 539 wei/s is above the order's limit 500 wei/s");
    });

    it("when the order needs an attribute the provider lacks", async function () {
      const p2 = await side(fx, fx.provider2);
      const orderId = await createOrder(fx, defaultSpec({ attributes: [ATTR.euWest, ATTR.gpu] }));
      const d = (await p2.engine.waitForDecision(orderId)) as DeclineDecision;
      expect(d).to.include({ kind: "decline", code: "ProviderMissingAttribute" });
      expect(d.reason).to.contain(ATTR.gpu);
    });

    it("in the contract's own words when checkBid refuses", async function () {
      // provider3 is registered in us-east; its (misconfigured) daemon claims eu-west, so only the chain refuses.
      const p3 = await side(fx, fx.provider3);
      const orderId = await createOrder(fx);
      const d = (await p3.engine.waitForDecision(orderId)) as DeclineDecision;
      expect(d).to.include({ kind: "decline", code: "MarketMissingAttribute" });
      expect(d.reason).to.equal(`the provider does not hold the required attribute ${ATTR.euWest}`);
      expect(p3.inventory.get(orderId)).to.equal(undefined); // reserved, then given back
    });

    it("when maxConcurrentCharters is reached", async function () {
      const p1 = await side(fx, fx.provider1, { maxConcurrentCharters: 1 });
      const first = await createOrder(fx);
      const second = await createOrder(fx);
      expect((await p1.engine.waitForDecision(first)).kind).to.equal("bid");
      const d = (await p1.engine.waitForDecision(second)) as DeclineDecision;
      expect(d.code).to.equal("ProviderCharterLimit");
    });
  });

  it("two providers compete: the lower wins, matches after the window itself, and the loser releases", async function () {
    const p1 = await side(fx, fx.provider1);
    const p2 = await side(fx, fx.provider2, { pricing: CHEAP_PRICING });
    const won: WonOrder[] = [];
    p2.engine.on("charterWon", (_id, order) => won.push(order));
    const orderId = await createOrder(fx);
    expect(((await p1.engine.waitForDecision(orderId)) as BidDecision).price).to.equal("539");
    expect(((await p2.engine.waitForDecision(orderId)) as BidDecision).price).to.equal("429");

    await time.increase(61); // the window closes; nobody but the best bidder acts
    await eventually(async () => (await fx.market.order(orderId)).state === 2n, 10_000, "the match");
    const charter = await fx.market.charter(orderId);
    expect(charter.provider).to.equal(fx.provider2.address);
    await eventually(() => p1.inventory.get(orderId) === undefined && won.length === 1, 10_000, "outcomes");
    expect((p1.engine.decision(orderId) as BidDecision).outcome).to.equal("lost");
    expect((p2.engine.decision(orderId) as BidDecision).outcome).to.equal("won");
    expect(p2.inventory.get(orderId)).to.include({ state: "committed", charterId: String(orderId) });
    expect(won[0]).to.include({ charterId: orderId, pricePerSecond: 429n });
  });

  describe("releases the reservation", function () {
    it("when the order is cancelled", async function () {
      const p1 = await side(fx, fx.provider1);
      const orderId = await createOrder(fx);
      await p1.engine.waitForDecision(orderId);
      await fx.market.connect(fx.tenant).cancelOrder(orderId);
      await eventually(() => p1.inventory.get(orderId) === undefined, 10_000, "release");
      expect((p1.engine.decision(orderId) as BidDecision).outcome).to.equal("cancelled");
    });

    it("when the order expires unmatched past the grace period", async function () {
      const p1 = await side(fx, fx.provider1, { expiryGraceSeconds: 30 });
      const orderId = await createOrder(fx);
      await p1.engine.waitForDecision(orderId);
      // A cheaper bid by hand: provider1 is not the best bidder, so it does not match; nobody does.
      await fx.market.connect(fx.provider2).placeBid(orderId, 100n, defaultSpec().resources);
      await time.increase(61);
      await ethers.provider.send("evm_mine", []);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(p1.inventory.get(orderId)?.state).to.equal("reserved"); // window closed, grace not over
      await time.increase(31);
      await eventually(() => p1.inventory.get(orderId) === undefined, 10_000, "expiry");
      expect((p1.engine.decision(orderId) as BidDecision).outcome).to.equal("expired");
    });

    it("when the bid fails on chain after checkBid passed, with the contract's reason recorded", async function () {
      const p1 = await side(fx, fx.provider1);
      // Automine off: the bid waits in the pool while the window closes, so it is mined (bids go out with a fixed
      // gas limit, no estimation) and reverts; only its receipt tells.
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        await fx.market.connect(fx.tenant).createOrder(fx.deploymentId, defaultSpec(), { gasLimit: 1_000_000 });
        await ethers.provider.send("evm_mine", []);
        const orderId = await fx.market.orderCount();
        await eventually(() => (p1.engine.decision(orderId) as BidDecision | undefined)?.txHash !== undefined, 10_000, "bid sent");
        const sent = p1.engine.decision(orderId) as BidDecision;
        expect(p1.inventory.get(orderId)?.state).to.equal("reserved");
        const { closesAt } = await fx.market.order(orderId);
        await ethers.provider.send("evm_setNextBlockTimestamp", [Number(closesAt)]);
        await ethers.provider.send("evm_mine", []);
        const receipt = await ethers.provider.getTransactionReceipt(sent.txHash!);
        expect(receipt?.status).to.equal(0);

        await eventually(() => (p1.engine.decision(orderId) as BidDecision).outcome === "failed", 10_000, "failure recorded");
        const failed = p1.engine.decision(orderId) as BidDecision;
        expect(failed.failure?.code).to.equal("MarketBiddingClosed");
        expect(failed.failure?.reason).to.match(new RegExp(`^bidding on order ${orderId} closed at `));
        expect(failed).to.include({ kind: "bid", txHash: sent.txHash });
        expect(failed.bidId).to.equal(undefined);
        expect(p1.inventory.get(orderId)).to.equal(undefined);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
    });

    it("when the deployment closes, and when the charter ends", async function () {
      const p1 = await side(fx, fx.provider1);
      const orderA = await createOrder(fx);
      await p1.engine.waitForDecision(orderA);
      await fx.market.connect(fx.tenant).matchOrder(orderA); // won: committed
      await eventually(() => p1.inventory.get(orderA)?.state === "committed", 10_000, "commit");
      await fx.market.connect(fx.tenant).closeCharter(orderA);
      await eventually(() => p1.inventory.get(orderA) === undefined, 10_000, "charter close");

      const orderB = await createOrder(fx);
      await p1.engine.waitForDecision(orderB);
      await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
      await eventually(() => p1.inventory.get(orderB) === undefined, 10_000, "deployment close");
      expect((p1.engine.decision(orderB) as BidDecision).outcome).to.equal("deployment-closed");
    });
  });

  it("restarts on the same dataDir without a duplicate bid, with its cursor and reservations", async function () {
    const first = await side(fx, fx.provider1);
    const orderId = await createOrder(fx);
    const before = (await first.engine.waitForDecision(orderId)) as BidDecision;
    const cursor = first.watcher.status.cursor!;
    await first.stop();
    sides.splice(sides.indexOf(first), 1);
    const bids = await fx.market.bidCount();

    const second = await side(fx, fx.provider1, { dir: first.dir, start: false });
    expect(second.state.cursor).to.deep.equal(cursor);
    expect(second.inventory.get(orderId)?.state).to.equal("reserved");
    expect(second.engine.decision(orderId)).to.deep.equal(before);
    // Lose the decision (a crash between sending and recording) and replay from scratch: the engine finds its
    // BidPlaced log and adopts the bid instead of bidding again.
    second.state.put("decisions", String(orderId), undefined);
    second.state.setCursor(null, []);
    second.engine.start();
    second.watcher.start();
    const again = (await second.engine.waitForDecision(orderId)) as BidDecision;
    expect(again.bidId).to.equal(before.bidId);
    expect(await fx.market.bidCount()).to.equal(bids);
    expect(second.inventory.get(orderId)?.state).to.equal("reserved");
  });
});
