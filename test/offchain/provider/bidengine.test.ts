import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ATTR, createOrder, defaultSpec, marketFixture, type MarketFixture } from "../../market/fixtures";
import { zeroPadValue } from "ethers";
import type { Filter, FilterByBlockHash, Log, Provider, TransactionRequest } from "ethers";
import { topicOf, type BidDecision, type DeclineDecision, type WonOrder } from "../../../offchain/provider";
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

  it("the best bidder whose node's clock runs ahead tries matchOrder again on a later block (MarketBiddingOpen is not final)", async function () {
    // An RPC node whose head reports a timestamp 20 s ahead of the chain: the engine believes the window closed
    // while the block that mines its matchOrder still has it open.
    const ahead = new Proxy(ethers.provider, {
      get(target, property) {
        if (property === "getBlock") {
          return async (tag: Parameters<typeof target.getBlock>[0]) => {
            const block = await target.getBlock(tag);
            return block && new Proxy(block, { get: (b, p) => (p === "timestamp" ? b.timestamp + 20 : Reflect.get(b, p, b)) });
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const matchOrder = fx.market.interface.getFunction("matchOrder")!.selector;
    let matchSends = 0;
    const signer = new Proxy(fx.provider1, {
      get(target, property) {
        if (property === "sendTransaction") {
          return (tx: TransactionRequest) => {
            if (String(tx.data ?? "").startsWith(matchOrder)) matchSends++;
            return target.sendTransaction(tx);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const p1 = await side(fx, signer, { provider: ahead });
    const orderId = await createOrder(fx);
    await p1.engine.waitForDecision(orderId);
    const { closesAt } = await fx.market.order(orderId);
    await time.increaseTo(closesAt - 10n); // the node says closesAt + 10: the engine sends, the chain refuses
    await eventually(() => matchSends >= 1, 10_000, "the early matchOrder");
    expect((await fx.market.order(orderId)).state).to.equal(1n); // still open: the early match was refused
    await time.increaseTo(closesAt); // a later block, with the window closed on chain too
    await eventually(async () => (await fx.market.order(orderId)).state === 2n, 10_000, "the match on a later block");
    expect((await fx.market.charter(orderId)).provider).to.equal(fx.provider1.address);
    await eventually(() => (p1.engine.decision(orderId) as BidDecision).outcome === "won", 10_000, "the win");
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

  it("retries a bid that ran out of gas on chain (a rival's bid changed the state after estimation) instead of declining", async function () {
    // The node mines the first placeBid with too little gas, as when a rival bid lands between the estimate and the
    // block: the revert has no data, so only checkBid can tell whether the bid still qualifies.
    let starved = 0;
    const signer = new Proxy(fx.provider1, {
      get(target, property) {
        if (property === "sendTransaction") {
          return (tx: TransactionRequest) => target.sendTransaction(starved++ === 0 ? { ...tx, gasLimit: 60_000n } : tx);
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const p1 = await side(fx, signer);
    const orderId = await createOrder(fx);
    const d = await p1.engine.waitForDecision(orderId);
    expect(starved).to.be.greaterThan(1);
    expect(d, JSON.stringify(d)).to.include({ kind: "bid", price: "539" });
    expect((await fx.market.bid(BigInt((d as BidDecision).bidId!))).provider).to.equal(fx.provider1.address);
    expect(p1.inventory.get(orderId)?.state).to.equal("reserved");
    expect(await p1.metrics.registry.getSingleMetricAsString("tom3_provider_declines_total")).not.to.contain("RevertWithoutData");
  });

  describe("a bid mined before a crash that neither the state nor the log lookup saw", function () {
    /**
     * A node that lags behind the chain (one backend of a load-balanced RPC): it never returns this provider's
     * BidPlaced logs and, with `staleCheckBid`, answers checkBid from before the bid. Transactions still reach the
     * real chain, which refuses a second bid with MarketDuplicateBid.
     */
    function laggingNode(inner: Provider, self: string, staleCheckBid: boolean): Provider {
      const selfTopic = zeroPadValue(self, 32).toLowerCase();
      const checkBid = fx.market.interface.getFunction("checkBid")!;
      const hidden = (l: Log) => l.topics[0] === topicOf("BidPlaced") && l.topics[3]?.toLowerCase() === selfTopic;
      return new Proxy(inner, {
        get(target, property) {
          if (property === "getLogs") return async (filter: Filter | FilterByBlockHash) => (await target.getLogs(filter)).filter((l) => !hidden(l));
          if (property === "call" && staleCheckBid) {
            // Stale at the head only: a question about a given block (a failed receipt's) gets the chain's answer.
            return async (tx: TransactionRequest & { blockTag?: unknown }) =>
              String(tx.data ?? "").startsWith(checkBid.selector) && tx.blockTag === undefined
                ? fx.market.interface.encodeFunctionResult(checkBid, [true, "0x"])
                : target.call(tx);
          }
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    }

    /** The crashed process's bid, at a price the new process would not choose. */
    async function bidBeforeTheCrash(orderId: bigint): Promise<bigint> {
      await fx.market.connect(fx.provider1).placeBid(orderId, 600n, defaultSpec().resources);
      return fx.market.bidCount();
    }

    it("adopts it when the new bid is mined after it and fails on chain with MarketDuplicateBid", async function () {
      const p1 = await side(fx, fx.provider1, { provider: laggingNode(ethers.provider, fx.provider1.address, true) });
      // Automine off: the crashed process's bid is mined with the order; the new process's bid (fixed gas, no
      // estimation) waits in the pool and reverts in the next block, so only its receipt tells.
      await ethers.provider.send("evm_setAutomine", [false]);
      try {
        const orderId = (await fx.market.orderCount()) + 1n;
        await fx.market.connect(fx.tenant).createOrder(fx.deploymentId, defaultSpec(), { gasLimit: 1_000_000 });
        await fx.market.connect(fx.provider1).placeBid(orderId, 600n, defaultSpec().resources, { gasLimit: 300_000 });
        await ethers.provider.send("evm_mine", []);
        const earlier = await fx.market.bidCount();
        await eventually(() => (p1.engine.decision(orderId) as BidDecision | undefined)?.txHash !== undefined, 10_000, "bid sent");
        const sent = p1.engine.decision(orderId) as BidDecision;
        await ethers.provider.send("evm_mine", []);
        expect((await ethers.provider.getTransactionReceipt(sent.txHash!))?.status).to.equal(0);

        await eventually(() => (p1.engine.decision(orderId) as BidDecision).bidId !== undefined, 10_000, "adoption");
        const d = p1.engine.decision(orderId) as BidDecision;
        expect(d).to.include({ kind: "bid", bidId: String(earlier), price: "600" });
        expect(d.outcome).to.equal(undefined);
        expect(p1.inventory.get(orderId)?.state).to.equal("reserved");
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
    });

    it("adopts it when checkBid names the duplicate, keeping the reservation", async function () {
      const orderId = await createOrder(fx);
      const bidId = await bidBeforeTheCrash(orderId);
      const p1 = await side(fx, fx.provider1, { provider: laggingNode(ethers.provider, fx.provider1.address, false) });
      const d = (await p1.engine.waitForDecision(orderId)) as BidDecision;
      expect(d).to.include({ kind: "bid", bidId: String(bidId), price: "600" });
      expect(d.outcome).to.equal(undefined);
      expect(p1.inventory.get(orderId)?.state).to.equal("reserved");
      expect(await fx.market.bidCount()).to.equal(bidId);
    });

    it("adopts it when placeBid is refused with MarketDuplicateBid, and wins with it", async function () {
      const orderId = await createOrder(fx);
      const bidId = await bidBeforeTheCrash(orderId);
      const p1 = await side(fx, fx.provider1, { provider: laggingNode(ethers.provider, fx.provider1.address, true) });
      const won: bigint[] = [];
      p1.engine.on("charterWon", (charterId) => won.push(charterId));
      const d = (await p1.engine.waitForDecision(orderId)) as BidDecision;
      expect(d).to.include({ kind: "bid", bidId: String(bidId), price: "600" });
      expect(p1.inventory.get(orderId)?.state).to.equal("reserved");
      expect(await fx.market.bidCount()).to.equal(bidId);
      expect(await p1.metrics.registry.getSingleMetricAsString("tom3_provider_declines_total")).not.to.contain("MarketDuplicateBid");

      await fx.market.connect(fx.tenant).matchOrder(orderId);
      await eventually(() => won.length === 1, 10_000, "the win");
      expect((p1.engine.decision(orderId) as BidDecision).outcome).to.equal("won");
      expect(p1.inventory.get(orderId)?.state).to.equal("committed");
    });
  });
});
