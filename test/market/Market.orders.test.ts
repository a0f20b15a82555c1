/**
 * Market orders: createOrder (escrow, validation), cancelOrder and matchOrder (who may match when, escrow
 * settlement, the charter it creates). The winner rule itself is in Market.bids.test.ts.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  ATTR,
  CharterState,
  CloseReason,
  DEFAULT_START_TIMEOUT,
  OrderState,
  TENANT_DEPOSIT,
  balance,
  createOrder,
  defaultSpec,
  expectConservation,
  marketFixture,
  nextBlockAt,
  placeBids,
  specArgs,
  type Spec,
} from "./fixtures";

const TEN_YEARS = 10n * 365n * 24n * 3600n;
const THIRTY_DAYS = 30n * 24n * 3600n;

describe("Market: orders", function () {
  describe("createOrder", function () {
    it("locks maxPricePerSecond x duration, stores the order and emits OrderCreated", async function () {
      const fx = await loadFixture(marketFixture);
      const spec = defaultSpec({ minReputation: 100n, attributes: [ATTR.euWest, ATTR.gpu] });
      const createdAt = await nextBlockAt();
      const closesAt = createdAt + spec.biddingWindow;
      const escrow = spec.maxPricePerSecond * spec.duration;

      await expect(fx.market.connect(fx.tenant).createOrder(fx.deploymentId, spec))
        .to.emit(fx.market, "OrderCreated")
        .withArgs(1n, fx.deploymentId, fx.tenant.address, specArgs(spec), closesAt);

      expect(await fx.market.orderCount()).to.equal(1n);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - escrow, escrow]);
      const o = await fx.market.order(1n);
      expect(o.tenant).to.equal(fx.tenant.address);
      expect(o.deploymentId).to.equal(fx.deploymentId);
      expect(o.state).to.equal(OrderState.Open);
      expect(o.resources).to.deep.equal(specArgs(spec)[0]);
      expect(o.maxPricePerSecond).to.equal(spec.maxPricePerSecond);
      expect(o.duration).to.equal(spec.duration);
      expect(o.createdAt).to.equal(createdAt);
      expect(o.closesAt).to.equal(closesAt);
      expect(o.minReputation).to.equal(spec.minReputation);
      expect(o.bidBond).to.equal(0n);
      expect(o.bestBidId).to.equal(0n);
      expect(o.bestPrice).to.equal(0n);
      expect(o.attributes).to.deep.equal(spec.attributes);
      await expectConservation(fx, fx.accounts);
    });

    it("accepts the limits of every field", async function () {
      const fx = await loadFixture(marketFixture);
      const spec = defaultSpec({
        resources: { cpuMillis: 1n, memoryMiB: 1n, storageMiB: 0n, bandwidthMbps: 0n },
        maxPricePerSecond: 1n,
        duration: TEN_YEARS,
        biddingWindow: THIRTY_DAYS,
        minReputation: 10_000n,
        attributes: Array.from({ length: 32 }, (_, i) => ethers.id(`label=${i}`)),
      });
      await expect(fx.market.connect(fx.tenant).createOrder(fx.deploymentId, spec)).to.emit(fx.market, "OrderCreated");
      expect((await fx.market.order(1n)).attributes).to.have.length(32);
    });

    describe("when the spec is invalid", function () {
      const cases: Array<[label: string, field: string, override: Partial<Spec>]> = [
        [
          "no CPU",
          "resources.cpuMillis",
          { resources: { cpuMillis: 0n, memoryMiB: 1n, storageMiB: 1n, bandwidthMbps: 1n } },
        ],
        [
          "no memory",
          "resources.memoryMiB",
          { resources: { cpuMillis: 1n, memoryMiB: 0n, storageMiB: 1n, bandwidthMbps: 1n } },
        ],
        ["a zero price limit", "maxPricePerSecond", { maxPricePerSecond: 0n }],
        ["a zero duration", "duration", { duration: 0n }],
        ["a duration above ten years", "duration", { duration: TEN_YEARS + 1n }],
        ["a zero bidding window", "biddingWindow", { biddingWindow: 0n }],
        ["a bidding window above 30 days", "biddingWindow", { biddingWindow: THIRTY_DAYS + 1n }],
        ["a minimum reputation above 10000", "minReputation", { minReputation: 10_001n }],
        ["33 attributes", "attributes", { attributes: Array.from({ length: 33 }, (_, i) => ethers.id(`label=${i}`)) }],
      ];
      for (const [label, field, override] of cases) {
        it(`refuses ${label} with MarketInvalidSpec("${field}")`, async function () {
          const fx = await loadFixture(marketFixture);
          await expect(fx.market.connect(fx.tenant).createOrder(fx.deploymentId, defaultSpec(override)))
            .to.be.revertedWithCustomError(fx.market, "MarketInvalidSpec")
            .withArgs(field);
        });
      }
    });

    describe("when the tenant's available balance is short of the escrow", function () {
      it("reverts with MarketInsufficientBalance", async function () {
        const fx = await loadFixture(marketFixture);
        const spec = defaultSpec({ maxPricePerSecond: TENANT_DEPOSIT / 3600n + 1n });
        await expect(fx.market.connect(fx.tenant).createOrder(fx.deploymentId, spec))
          .to.be.revertedWithCustomError(fx.market, "MarketInsufficientBalance")
          .withArgs(fx.tenant.address, TENANT_DEPOSIT, spec.maxPricePerSecond * spec.duration);
      });
    });

    describe("when the escrow does not fit in 128 bits", function () {
      it("reverts with MarketInsufficientBalance rather than wrapping", async function () {
        const fx = await loadFixture(marketFixture);
        const spec = defaultSpec({ maxPricePerSecond: 2n ** 128n - 1n, duration: TEN_YEARS });
        await expect(fx.market.connect(fx.tenant).createOrder(fx.deploymentId, spec))
          .to.be.revertedWithCustomError(fx.market, "MarketInsufficientBalance")
          .withArgs(fx.tenant.address, TENANT_DEPOSIT, (2n ** 128n - 1n) * TEN_YEARS);
      });
    });

    describe("when the caller does not own the deployment", function () {
      it("reverts with MarketUnauthorized", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.otherTenant).createOrder(fx.deploymentId, defaultSpec()))
          .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
          .withArgs(fx.otherTenant.address);
      });
    });

    describe("when the deployment is unknown", function () {
      it("reverts with MarketUnknownDeployment", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).createOrder(9n, defaultSpec()))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownDeployment")
          .withArgs(9n);
      });
    });
  });

  describe("order", function () {
    it("returns an empty record for an unknown id", async function () {
      const fx = await loadFixture(marketFixture);
      const o = await fx.market.order(5n);
      expect([o.tenant, o.state, o.maxPricePerSecond, o.attributes.length]).to.deep.equal([
        ethers.ZeroAddress,
        OrderState.None,
        0n,
        0,
      ]);
    });
  });

  describe("cancelOrder", function () {
    it("lets the tenant cancel an open order, unlocking its escrow, and emits OrderCancelled", async function () {
      const fx = await loadFixture(marketFixture);
      const orderId = await createOrder(fx);
      await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);

      await expect(fx.market.connect(fx.tenant).cancelOrder(orderId))
        .to.emit(fx.market, "OrderCancelled")
        .withArgs(orderId);

      expect((await fx.market.order(orderId)).state).to.equal(OrderState.Cancelled);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT, 0n]);
      await expectConservation(fx, fx.accounts);
    });

    it("lets the tenant cancel an expired order (window closed, no bid)", async function () {
      const fx = await loadFixture(marketFixture);
      const spec = defaultSpec();
      const orderId = await createOrder(fx, spec);
      await time.increase(spec.biddingWindow * 10n);
      await expect(fx.market.connect(fx.tenant).cancelOrder(orderId))
        .to.emit(fx.market, "OrderCancelled")
        .withArgs(orderId);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT, 0n]);
    });

    it("lets the tenant cancel after the window closed with bids, as long as nobody matched", async function () {
      const fx = await loadFixture(marketFixture);
      const spec = defaultSpec();
      const orderId = await createOrder(fx, spec);
      await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
      await time.increase(spec.biddingWindow);
      await expect(fx.market.connect(fx.tenant).cancelOrder(orderId)).to.emit(fx.market, "OrderCancelled");
    });

    describe("when the caller is not the tenant", function () {
      it("reverts with MarketUnauthorized", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        await expect(fx.market.connect(fx.provider1).cancelOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
          .withArgs(fx.provider1.address);
      });
    });

    describe("when the order is unknown", function () {
      it("reverts with MarketUnknownOrder", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).cancelOrder(3n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownOrder")
          .withArgs(3n);
      });
    });

    describe("when the order is already cancelled", function () {
      it("reverts with MarketOrderNotOpen", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        await fx.market.connect(fx.tenant).cancelOrder(orderId);
        await expect(fx.market.connect(fx.tenant).cancelOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketOrderNotOpen")
          .withArgs(orderId, OrderState.Cancelled);
      });
    });

    describe("when the order is matched", function () {
      it("reverts with MarketOrderNotOpen", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
        await fx.market.connect(fx.tenant).matchOrder(orderId);
        await expect(fx.market.connect(fx.tenant).cancelOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketOrderNotOpen")
          .withArgs(orderId, OrderState.Matched);
      });
    });
  });

  describe("matchOrder", function () {
    it("creates the charter, returns unused escrow and emits OrderMatched and CharterCreated", async function () {
      const fx = await loadFixture(marketFixture);
      const spec = defaultSpec();
      const orderId = await createOrder(fx, spec);
      const [bidId] = await placeBids(fx, orderId, [{ provider: fx.provider2, price: 700n }]);
      await time.increase(spec.biddingWindow);
      const matchedAt = await nextBlockAt();

      // Anyone may match once the window closed.
      const tx = fx.market.connect(fx.stranger).matchOrder(orderId);
      await expect(tx).to.emit(fx.market, "OrderMatched").withArgs(orderId, bidId, orderId);
      await expect(tx)
        .to.emit(fx.market, "CharterCreated")
        .withArgs(orderId, fx.tenant.address, fx.provider2.address, fx.deploymentId, 700n, spec.duration);

      expect((await fx.market.order(orderId)).state).to.equal(OrderState.Matched);
      const c = await fx.market.charter(orderId);
      expect(c.tenant).to.equal(fx.tenant.address);
      expect(c.provider).to.equal(fx.provider2.address);
      expect(c.deploymentId).to.equal(fx.deploymentId);
      expect(c.orderId).to.equal(orderId);
      expect(c.bidId).to.equal(bidId);
      expect(c.pricePerSecond).to.equal(700n);
      expect(c.duration).to.equal(spec.duration);
      expect(c.acknowledgeBy).to.equal(matchedAt + DEFAULT_START_TIMEOUT);
      expect(c.acknowledgedAt).to.equal(0n);
      expect(c.endsAt).to.equal(0n);
      expect(c.claimed).to.equal(0n);
      expect(c.feeBps).to.equal(0n);
      expect(c.state).to.equal(CharterState.Pending);
      expect(c.closeReason).to.equal(CloseReason.None);

      // Only price x duration stays locked: (max - price) x duration went back.
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - 700n * spec.duration, 700n * spec.duration]);
      await expectConservation(fx, fx.accounts);
    });

    it("lets the tenant match while bidding is still open", async function () {
      const fx = await loadFixture(marketFixture);
      const orderId = await createOrder(fx);
      await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
      await expect(fx.market.connect(fx.tenant).matchOrder(orderId)).to.emit(fx.market, "OrderMatched");
    });

    describe("when a stranger matches while bidding is open", function () {
      it("reverts with MarketBiddingOpen, up to the last second of the window", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
        const { closesAt } = await fx.market.order(orderId);
        await nextBlockAt(closesAt - 1n);
        await expect(fx.market.connect(fx.stranger).matchOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketBiddingOpen")
          .withArgs(orderId, closesAt);
        await nextBlockAt(closesAt);
        await expect(fx.market.connect(fx.stranger).matchOrder(orderId)).to.emit(fx.market, "OrderMatched");
      });
    });

    describe("when the order has no bid", function () {
      it("reverts with MarketNoBids", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        await expect(fx.market.connect(fx.tenant).matchOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketNoBids")
          .withArgs(orderId);
      });
    });

    describe("when the order is unknown", function () {
      it("reverts with MarketUnknownOrder", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).matchOrder(1n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownOrder")
          .withArgs(1n);
      });
    });

    describe("when the order is already matched", function () {
      it("reverts with MarketOrderNotOpen: an order is matched at most once", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
        await fx.market.connect(fx.tenant).matchOrder(orderId);
        await expect(fx.market.connect(fx.tenant).matchOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketOrderNotOpen")
          .withArgs(orderId, OrderState.Matched);
      });
    });

    describe("when the order is cancelled", function () {
      it("reverts with MarketOrderNotOpen", async function () {
        const fx = await loadFixture(marketFixture);
        const orderId = await createOrder(fx);
        await placeBids(fx, orderId, [{ provider: fx.provider1, price: 900n }]);
        await fx.market.connect(fx.tenant).cancelOrder(orderId);
        await expect(fx.market.connect(fx.tenant).matchOrder(orderId))
          .to.be.revertedWithCustomError(fx.market, "MarketOrderNotOpen")
          .withArgs(orderId, OrderState.Cancelled);
      });
    });
  });
});
