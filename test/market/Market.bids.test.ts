/**
 * Market bids: the qualification rule (every refusal through placeBid's revert and checkBid's reason), the bid
 * book (lowest price wins, the earliest on a tie, constant-gas match), releaseBid and bid bonds.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  ATTR,
  DEFAULT_RESOURCES,
  ONE,
  OrderState,
  PROVIDER_DEPOSIT,
  TENANT_DEPOSIT,
  balance,
  createOrder,
  decodeReason,
  defaultSpec,
  expectConservation,
  marketFixture,
  matchAndAck,
  mineAt,
  nextBlockAt,
  placeBids,
  type MarketFixture,
  type Resources,
} from "./fixtures";

/** A bid to try, and the custom error it must be refused with. */
interface Refusal {
  orderId: bigint;
  bidder: HardhatEthersSigner;
  price: bigint;
  offered?: Resources;
  error: string;
  args: unknown[];
}

/** Each case sets up a market in which the bid it returns must be refused. */
const refusals: Array<[when: string, setup: (fx: MarketFixture) => Promise<Refusal>]> = [
  [
    "the order is unknown",
    async (fx) => ({ orderId: 99n, bidder: fx.provider1, price: 900n, error: "MarketUnknownOrder", args: [99n] }),
  ],
  [
    "the order is cancelled",
    async (fx) => {
      const orderId = await createOrder(fx);
      await fx.market.connect(fx.tenant).cancelOrder(orderId);
      return {
        orderId,
        bidder: fx.provider1,
        price: 900n,
        error: "MarketOrderNotOpen",
        args: [orderId, OrderState.Cancelled],
      };
    },
  ],
  [
    "the order is matched",
    async (fx) => {
      const orderId = await createOrder(fx);
      await placeBids(fx, orderId, [{ provider: fx.provider2, price: 900n }]);
      await fx.market.connect(fx.tenant).matchOrder(orderId);
      return {
        orderId,
        bidder: fx.provider1,
        price: 800n,
        error: "MarketOrderNotOpen",
        args: [orderId, OrderState.Matched],
      };
    },
  ],
  [
    "the deployment is closed",
    async (fx) => {
      const orderId = await createOrder(fx);
      await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
      return { orderId, bidder: fx.provider1, price: 900n, error: "MarketDeploymentClosed", args: [fx.deploymentId] };
    },
  ],
  [
    "the bidding window has closed",
    async (fx) => {
      const orderId = await createOrder(fx);
      const { closesAt } = await fx.market.order(orderId);
      await mineAt(closesAt);
      return { orderId, bidder: fx.provider1, price: 900n, error: "MarketBiddingClosed", args: [orderId, closesAt] };
    },
  ],
  [
    "the bidder is the tenant",
    async (fx) => {
      const orderId = await createOrder(fx);
      return { orderId, bidder: fx.tenant, price: 900n, error: "MarketTenantCannotBid", args: [fx.tenant.address] };
    },
  ],
  [
    "the price is zero",
    async (fx) => ({
      orderId: await createOrder(fx),
      bidder: fx.provider1,
      price: 0n,
      error: "MarketZeroPrice",
      args: [],
    }),
  ],
  [
    "the price is above the order's limit",
    async (fx) => ({
      orderId: await createOrder(fx),
      bidder: fx.provider1,
      price: 1_001n,
      error: "MarketPriceAboveLimit",
      args: [1_001n, 1_000n],
    }),
  ],
  ...(["cpuMillis", "memoryMiB", "storageMiB", "bandwidthMbps"] as const).map(
    (field, index): [string, (fx: MarketFixture) => Promise<Refusal>] => [
      `the offered ${field} is below the request`,
      async (fx) => {
        const offered = { ...DEFAULT_RESOURCES, [field]: DEFAULT_RESOURCES[field] - 1n };
        return {
          orderId: await createOrder(fx),
          bidder: fx.provider1,
          price: 900n,
          offered,
          error: "MarketResourcesBelowRequest",
          args: [index, DEFAULT_RESOURCES[field] - 1n, DEFAULT_RESOURCES[field]],
        };
      },
    ],
  ),
  [
    "the bidder is not a registered provider",
    async (fx) => ({
      orderId: await createOrder(fx),
      bidder: fx.stranger,
      price: 900n,
      error: "MarketNotProvider",
      args: [fx.stranger.address],
    }),
  ],
  [
    "the provider's reputation is below the order's minimum",
    async (fx) => {
      const reputation = await fx.registry.reputationOf(fx.provider2);
      const orderId = await createOrder(fx, defaultSpec({ minReputation: reputation + 1n }));
      return {
        orderId,
        bidder: fx.provider2,
        price: 900n,
        error: "MarketReputationTooLow",
        args: [reputation, reputation + 1n],
      };
    },
  ],
  [
    "the provider lacks the order's attribute",
    async (fx) => ({
      orderId: await createOrder(fx),
      bidder: fx.provider3, // us-east only
      price: 900n,
      error: "MarketMissingAttribute",
      args: [ATTR.euWest],
    }),
  ],
  [
    "the provider holds only some of the order's attributes",
    async (fx) => ({
      orderId: await createOrder(fx, defaultSpec({ attributes: [ATTR.euWest, ATTR.gpu] })),
      bidder: fx.provider2, // eu-west without gpu: the first missing attribute is named
      price: 900n,
      error: "MarketMissingAttribute",
      args: [ATTR.gpu],
    }),
  ],
  [
    "the provider already bid on the order",
    async (fx) => {
      const orderId = await createOrder(fx);
      const [bidId] = await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
      return {
        orderId,
        bidder: fx.provider1,
        price: 800n,
        error: "MarketDuplicateBid",
        args: [orderId, fx.provider1.address, bidId],
      };
    },
  ],
  [
    "the provider's available balance cannot cover the bid bond",
    async (fx) => {
      const bond = PROVIDER_DEPOSIT + 1n;
      await fx.market.connect(fx.owner).setBidBond(bond);
      const orderId = await createOrder(fx);
      return {
        orderId,
        bidder: fx.provider1,
        price: 900n,
        error: "MarketInsufficientBalance",
        args: [fx.provider1.address, PROVIDER_DEPOSIT, bond],
      };
    },
  ],
];

describe("Market: bids", function () {
  describe("qualification", function () {
    for (const [when, setup] of refusals) {
      describe(`when ${when}`, function () {
        it("is explained by checkBid and refused by placeBid with the same custom error", async function () {
          const fx = await loadFixture(marketFixture);
          const r = await setup(fx);
          const offered = r.offered ?? DEFAULT_RESOURCES;
          const bidsBefore = await fx.market.bidCount();

          const [qualifies, reason] = await fx.market.checkBid(r.orderId, r.bidder, r.price, offered);
          expect(qualifies).to.equal(false);
          expect(decodeReason(fx, reason)).to.deep.equal({ name: r.error, args: r.args });

          await expect(fx.market.connect(r.bidder).placeBid(r.orderId, r.price, offered))
            .to.be.revertedWithCustomError(fx.market, r.error)
            .withArgs(...r.args);
          // A bid that did not qualify is never stored.
          expect(await fx.market.bidCount()).to.equal(bidsBefore);
        });
      });
    }

    describe("when every condition holds at its limit", function () {
      it("qualifies: price at the limit, resources as requested, minimum reputation, last second", async function () {
        const fx = await loadFixture(marketFixture);
        const reputation = await fx.registry.reputationOf(fx.provider1);
        const orderId = await createOrder(
          fx,
          defaultSpec({ minReputation: reputation, attributes: [ATTR.euWest, ATTR.gpu] }),
        );
        const { closesAt, maxPricePerSecond } = await fx.market.order(orderId);
        await mineAt(closesAt - 2n);

        expect(await fx.market.checkBid(orderId, fx.provider1, maxPricePerSecond, DEFAULT_RESOURCES)).to.deep.equal([
          true,
          "0x",
        ]);
        await nextBlockAt(closesAt - 1n);
        await expect(fx.market.connect(fx.provider1).placeBid(orderId, maxPricePerSecond, DEFAULT_RESOURCES)).to.emit(
          fx.market,
          "BidPlaced",
        );
      });
    });

    describe("when the order asks for no attribute", function () {
      it("qualifies every registered provider", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx, defaultSpec({ attributes: [] }));
        for (const provider of fx.providers) {
          expect((await fx.market.checkBid(orderId, provider, 900n, DEFAULT_RESOURCES))[0]).to.equal(true);
        }
      });
    });
  });

  describe("placeBid", function () {
    it("stores the bid, makes it the best and emits BidPlaced", async function () {
      const fx = await loadFixture(marketFixture);
      const orderId = await createOrder(fx);

      await expect(fx.market.connect(fx.provider2).placeBid(orderId, 850n, { ...DEFAULT_RESOURCES, cpuMillis: 4000n }))
        .to.emit(fx.market, "BidPlaced")
        .withArgs(orderId, 1n, fx.provider2.address, 850n);

      expect(await fx.market.bidCount()).to.equal(1n);
      const b = await fx.market.bid(1n);
      expect([b.orderId, b.provider, b.pricePerSecond, b.released]).to.deep.equal([
        orderId,
        fx.provider2.address,
        850n,
        false,
      ]);
      expect(await fx.market.bestBid(orderId)).to.equal(1n);
      const o = await fx.market.order(orderId);
      expect([o.bestBidId, o.bestPrice]).to.deep.equal([1n, 850n]);
      // With no bid bond, bidding locks nothing.
      expect(await balance(fx, fx.provider2)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
    });
  });

  describe("bid", function () {
    it("returns an empty record for an unknown id", async function () {
      const fx = await loadFixture(marketFixture);
      const b = await fx.market.bid(12n);
      expect([b.orderId, b.provider, b.pricePerSecond, b.released]).to.deep.equal([0n, ethers.ZeroAddress, 0n, false]);
    });
  });

  describe("bestBid and matchOrder: the winner", function () {
    it("is the lowest price", async function () {
      const fx = await loadFixture(marketFixture);
      const spec = defaultSpec({ attributes: [] });
      const orderId = await createOrder(fx, spec);
      const best: bigint[] = [];
      const ids: bigint[] = [];
      for (const [provider, price] of [
        [fx.provider1, 950n],
        [fx.provider2, 800n],
        [fx.provider3, 850n],
      ] as const) {
        ids.push(...(await placeBids(fx, orderId, [{ provider, price }])));
        best.push(await fx.market.bestBid(orderId));
      }
      expect(best).to.deep.equal([ids[0], ids[1], ids[1]]);

      await time.increase(spec.biddingWindow);
      await expect(fx.market.connect(fx.stranger).matchOrder(orderId))
        .to.emit(fx.market, "CharterCreated")
        .withArgs(orderId, fx.tenant.address, fx.provider2.address, fx.deploymentId, 800n, spec.duration);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - 800n * spec.duration, 800n * spec.duration]);
    });

    it("is the earliest bid among equal prices, until a strictly lower one arrives", async function () {
      const fx = await loadFixture(marketFixture);
      const orderId = await createOrder(fx, defaultSpec({ attributes: [] }));
      const [first, second] = await placeBids(fx, orderId, [
        { provider: fx.provider2, price: 800n },
        { provider: fx.provider1, price: 800n },
      ]);
      expect(await fx.market.bestBid(orderId)).to.equal(first);
      expect(second).to.be.greaterThan(first);

      const [lower] = await placeBids(fx, orderId, [{ provider: fx.provider3, price: 799n }]);
      expect(await fx.market.bestBid(orderId)).to.equal(lower);
      await fx.market.connect(fx.tenant).matchOrder(orderId);
      expect((await fx.market.charter(orderId)).provider).to.equal(fx.provider3.address);
    });

    it("is matched at a gas cost that does not grow with the number of bids", async function () {
      const fx = await loadFixture(marketFixture);
      const spec = defaultSpec({ attributes: [] });
      const lone = await createOrder(fx, spec);
      await placeBids(fx, lone, [{ provider: fx.provider1, price: 700n }]);
      const crowded = await createOrder(fx, spec);
      await placeBids(fx, crowded, [
        { provider: fx.provider1, price: 700n },
        { provider: fx.provider2, price: 900n },
        { provider: fx.provider3, price: 800n },
      ]);

      const loneGas = (await (await fx.market.connect(fx.tenant).matchOrder(lone)).wait())!.gasUsed;
      const crowdedGas = (await (await fx.market.connect(fx.tenant).matchOrder(crowded)).wait())!.gasUsed;
      expect(crowdedGas).to.equal(loneGas);
    });

    it("is 0 for an order without bids", async function () {
      const fx = await loadFixture(marketFixture);
      expect(await fx.market.bestBid(await createOrder(fx))).to.equal(0n);
      expect(await fx.market.bestBid(77n)).to.equal(0n);
    });
  });

  describe("releaseBid", function () {
    const BOND = 2n * ONE;

    /** An order with bids by providers 1 (best), 2 and 3 under a non-zero bid bond. */
    async function bondedOrder() {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.owner).setBidBond(BOND);
      const orderId = await createOrder(fx, defaultSpec({ attributes: [] }));
      const bidIds = await placeBids(fx, orderId, [
        { provider: fx.provider1, price: 700n },
        { provider: fx.provider2, price: 800n },
        { provider: fx.provider3, price: 900n },
      ]);
      return { fx, orderId, bidIds };
    }

    describe("when the order was matched", function () {
      it("lets anyone return a losing bid's bond to its provider", async function () {
        const { fx, orderId, bidIds } = await bondedOrder();
        await fx.market.connect(fx.tenant).matchOrder(orderId);

        await expect(fx.market.connect(fx.stranger).releaseBid(bidIds[1]))
          .to.emit(fx.market, "BidReleased")
          .withArgs(bidIds[1], fx.provider2.address, BOND);
        expect(await balance(fx, fx.provider2)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
        expect((await fx.market.bid(bidIds[1])).released).to.equal(true);
      });

      it("refuses the winning bid with MarketWinningBid: its bond follows the charter", async function () {
        const { fx, orderId, bidIds } = await bondedOrder();
        await fx.market.connect(fx.tenant).matchOrder(orderId);
        await expect(fx.market.releaseBid(bidIds[0]))
          .to.be.revertedWithCustomError(fx.market, "MarketWinningBid")
          .withArgs(bidIds[0]);
      });

      it("returns a bond at most once (MarketBondAlreadyReleased)", async function () {
        const { fx, orderId, bidIds } = await bondedOrder();
        await fx.market.connect(fx.tenant).matchOrder(orderId);
        await fx.market.releaseBid(bidIds[2]);
        await expect(fx.market.releaseBid(bidIds[2]))
          .to.be.revertedWithCustomError(fx.market, "MarketBondAlreadyReleased")
          .withArgs(bidIds[2]);
        expect(await balance(fx, fx.provider3)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
      });
    });

    describe("when the order was cancelled", function () {
      it("returns every bid's bond, the best one's included", async function () {
        const { fx, orderId, bidIds } = await bondedOrder();
        await fx.market.connect(fx.tenant).cancelOrder(orderId);
        for (const [i, bidId] of bidIds.entries()) {
          await expect(fx.market.releaseBid(bidId))
            .to.emit(fx.market, "BidReleased")
            .withArgs(bidId, fx.providers[i].address, BOND);
        }
        for (const provider of fx.providers) {
          expect(await balance(fx, provider)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
        }
        await expectConservation(fx, fx.accounts);
      });
    });

    describe("when the order is still open", function () {
      it("reverts with MarketBidStillBinding, even after the window closed", async function () {
        const { fx, orderId, bidIds } = await bondedOrder();
        await expect(fx.market.releaseBid(bidIds[1]))
          .to.be.revertedWithCustomError(fx.market, "MarketBidStillBinding")
          .withArgs(bidIds[1], orderId);
        await time.increase(3600);
        await expect(fx.market.releaseBid(bidIds[1]))
          .to.be.revertedWithCustomError(fx.market, "MarketBidStillBinding")
          .withArgs(bidIds[1], orderId);
      });
    });

    describe("when the bid is unknown", function () {
      it("reverts with MarketUnknownBid", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.releaseBid(1n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownBid")
          .withArgs(1n);
      });
    });

    describe("when the bid bond is zero", function () {
      it("marks the bid released and reports a zero bond", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        const [winner, loser] = await placeBids(fx, orderId, [
          { provider: fx.provider1, price: 700n },
          { provider: fx.provider2, price: 800n },
        ]);
        await fx.market.connect(fx.tenant).matchOrder(orderId);
        await expect(fx.market.releaseBid(loser))
          .to.emit(fx.market, "BidReleased")
          .withArgs(loser, fx.provider2.address, 0n);
        expect((await fx.market.bid(loser)).released).to.equal(true);
        expect((await fx.market.bid(winner)).released).to.equal(false);
      });
    });
  });

  describe("bid bonds", function () {
    const BOND = 5n * ONE;

    it("are locked by every bid, back to losers on release and to the winner on acknowledgement", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.owner).setBidBond(BOND);
      const spec = defaultSpec({ attributes: [] });
      const orderId = await createOrder(fx, spec);
      const bidIds = await placeBids(fx, orderId, [
        { provider: fx.provider1, price: 900n },
        { provider: fx.provider2, price: 800n },
        { provider: fx.provider3, price: 850n },
      ]);
      for (const provider of fx.providers) {
        expect(await balance(fx, provider)).to.deep.equal([PROVIDER_DEPOSIT - BOND, BOND]);
      }
      await expectConservation(fx, fx.accounts);

      const { provider: winner } = await matchAndAck(fx, orderId);
      expect(winner.address).to.equal(fx.provider2.address);
      // The winner's bond came back on acknowledgement; the losers' stay locked until released.
      expect(await balance(fx, fx.provider2)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
      expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT - BOND, BOND]);

      await fx.market.releaseBid(bidIds[0]);
      await fx.market.releaseBid(bidIds[2]);
      for (const provider of fx.providers) {
        expect(await balance(fx, provider)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
      }
      await expectConservation(fx, fx.accounts);
    });
  });
});
