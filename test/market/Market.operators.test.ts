/**
 * Market operators: approveOperator, the allowance (consumed by every lock, never restored by refunds, replaced by
 * a new approval), expiry and revocation, every action an operator may take for its owner and those it may not.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import {
  CloseReason,
  TENANT_DEPOSIT,
  VERSION_2,
  activeCharter,
  balance,
  createOrder,
  defaultSpec,
  marketFixture,
  mineAt,
  nextBlockAt,
  pendingCharter,
  placeBids,
  specArgs,
} from "./fixtures";

const ESCROW = defaultSpec().maxPricePerSecond * defaultSpec().duration;
/** Price of the world's charters (the fixture's default winning bid) and what each locks. */
const PRICE = 900n;
const CHARTER_TOTAL = PRICE * defaultSpec().duration;
const DAY = 24n * 3600n;

/**
 * The tenant's market as an operator finds it: a pending charter past its start timeout, an active charter and an
 * open order still taking bids (with one bid).
 */
async function operatorWorld() {
  const fx = await loadFixture(marketFixture);
  const pending = await pendingCharter(fx);
  const active = await activeCharter(fx);
  const openOrder = await createOrder(fx, defaultSpec({ biddingWindow: DAY }));
  await placeBids(fx, openOrder, [{ provider: fx.provider2, price: 800n }]);
  const { closesAt } = await fx.market.order(openOrder);
  return { fx, pending, active, openOrder, closesAt };
}
type World = Awaited<ReturnType<typeof operatorWorld>>;

/** The world with the operator approved for a week, once the pending charter's start timeout is over. */
async function approvedWorld(): Promise<World> {
  const w = await operatorWorld();
  const now = BigInt(await time.latest());
  await w.fx.market.connect(w.fx.tenant).approveOperator(w.fx.operator, 10n * ESCROW, now + 7n * DAY);
  await mineAt(w.pending.acknowledgeBy + 1n);
  return w;
}

/** The world with an approval that expired before the pending charter's start timeout ended. */
async function expiredWorld(): Promise<World> {
  const w = await operatorWorld();
  const now = BigInt(await time.latest());
  await w.fx.market.connect(w.fx.tenant).approveOperator(w.fx.operator, 10n * ESCROW, now + 10n);
  await mineAt(w.pending.acknowledgeBy + 1n);
  return w;
}

/** The world with an approval revoked by a new approval of allowance 0. */
async function revokedWorld(): Promise<World> {
  const w = await approvedWorld();
  const now = BigInt(await time.latest());
  await w.fx.market.connect(w.fx.tenant).approveOperator(w.fx.operator, 0, now + 7n * DAY);
  return w;
}

interface OperatorAction {
  name: string;
  run: (w: World) => Promise<ContractTransactionResponse>;
  /** The event the action emits when the operator may take it in a block at `at`. */
  event: (w: World, at: bigint) => [name: string, args: unknown[]];
  /** The custom error it reverts with when the operator may not. */
  denied: (w: World) => [name: string, args: unknown[]];
}

const unauthorized = (w: World): [string, unknown[]] => ["MarketUnauthorized", [w.fx.operator.address]];

/** Every action PROTOCOL.md lets an operator take for its owner. */
const operatorActions: OperatorAction[] = [
  {
    name: "createOrder",
    run: (w) => w.fx.market.connect(w.fx.operator).createOrder(w.fx.deploymentId, defaultSpec()),
    event: (w, at) => ["OrderCreated", [4n, w.fx.deploymentId, w.fx.tenant.address, specArgs(defaultSpec()), at + 60n]],
    denied: unauthorized,
  },
  {
    name: "cancelOrder",
    run: (w) => w.fx.market.connect(w.fx.operator).cancelOrder(w.openOrder),
    event: (w) => ["OrderCancelled", [w.openOrder]],
    denied: unauthorized,
  },
  {
    name: "matchOrder (while bidding is open)",
    run: (w) => w.fx.market.connect(w.fx.operator).matchOrder(w.openOrder),
    event: (w) => ["OrderMatched", [w.openOrder, 3n, w.openOrder]],
    denied: (w) => ["MarketBiddingOpen", [w.openOrder, w.closesAt]],
  },
  {
    name: "updateDeployment",
    run: (w) => w.fx.market.connect(w.fx.operator).updateDeployment(w.fx.deploymentId, VERSION_2),
    event: (w) => ["DeploymentUpdated", [w.fx.deploymentId, VERSION_2]],
    denied: unauthorized,
  },
  {
    name: "closeCharter (active)",
    run: (w) => w.fx.market.connect(w.fx.operator).closeCharter(w.active.charterId),
    event: (w, at) => {
      const paid = PRICE * (at - w.active.acknowledgedAt);
      return ["CharterClosed", [w.active.charterId, CloseReason.ClosedByTenant, paid, CHARTER_TOTAL - paid]];
    },
    denied: unauthorized,
  },
  {
    name: "closeCharter (pending)",
    run: (w) => w.fx.market.connect(w.fx.operator).closeCharter(w.pending.charterId),
    event: (w) => ["CharterClosed", [w.pending.charterId, CloseReason.ClosedByTenant, 0n, CHARTER_TOTAL]],
    denied: unauthorized,
  },
  {
    name: "extendCharter",
    run: (w) => w.fx.market.connect(w.fx.operator).extendCharter(w.active.charterId, 60n),
    event: (w) => ["CharterExtended", [w.active.charterId, w.active.endsAt + 60n]],
    denied: unauthorized,
  },
  {
    name: "cancelUndelivered",
    run: (w) => w.fx.market.connect(w.fx.operator).cancelUndelivered(w.pending.charterId),
    event: (w) => ["CharterClosed", [w.pending.charterId, CloseReason.Undelivered, 0n, CHARTER_TOTAL]],
    denied: unauthorized,
  },
];

describe("Market: operators", function () {
  describe("approveOperator", function () {
    it("stores the approval and emits OperatorApproved", async function () {
      const fx = await loadFixture(marketFixture);
      const expiry = BigInt(await time.latest()) + DAY;

      await expect(fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW, expiry))
        .to.emit(fx.market, "OperatorApproved")
        .withArgs(fx.tenant.address, fx.operator.address, ESCROW, expiry);

      const a = await fx.market.operatorApproval(fx.tenant, fx.operator);
      expect([a.allowance, a.expiry, a.active]).to.deep.equal([ESCROW, expiry, true]);
      expect(await fx.market.isOperator(fx.tenant, fx.operator)).to.equal(true);
      // Approvals are per owner: the operator has no rights over anyone else.
      expect(await fx.market.isOperator(fx.otherTenant, fx.operator)).to.equal(false);
    });

    it("replaces an earlier approval instead of adding to it", async function () {
      const fx = await loadFixture(marketFixture);
      const expiry = BigInt(await time.latest()) + DAY;
      await fx.market.connect(fx.tenant).approveOperator(fx.operator, 5n * ESCROW, expiry);
      await fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW, expiry + 1n);
      const a = await fx.market.operatorApproval(fx.tenant, fx.operator);
      expect([a.allowance, a.expiry, a.active]).to.deep.equal([ESCROW, expiry + 1n, true]);
    });

    describe("when the allowance is 0", function () {
      it("revokes every right", async function () {
        const fx = await loadFixture(marketFixture);
        const expiry = BigInt(await time.latest()) + DAY;
        await fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW, expiry);
        await expect(fx.market.connect(fx.tenant).approveOperator(fx.operator, 0, expiry))
          .to.emit(fx.market, "OperatorApproved")
          .withArgs(fx.tenant.address, fx.operator.address, 0, expiry);
        expect(await fx.market.isOperator(fx.tenant, fx.operator)).to.equal(false);
        expect((await fx.market.operatorApproval(fx.tenant, fx.operator)).active).to.equal(false);
      });
    });

    describe("when the expiry is already past", function () {
      it("grants nothing", async function () {
        const fx = await loadFixture(marketFixture);
        const now = BigInt(await time.latest());
        await fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW, now);
        expect(await fx.market.isOperator(fx.tenant, fx.operator)).to.equal(false);
        expect((await fx.market.operatorApproval(fx.tenant, fx.operator)).active).to.equal(false);
      });
    });

    describe("when the expiry arrives", function () {
      it("ends the rights at the expiry second", async function () {
        const fx = await loadFixture(marketFixture);
        // Pinned: after loadFixture the latest block may be long past in wall-clock time, and the next block would
        // be mined at the wall clock, beyond an expiry counted from the latest block.
        const expiry = (await nextBlockAt()) + 100n;
        await fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW, expiry);
        await mineAt(expiry - 1n);
        expect(await fx.market.isOperator(fx.tenant, fx.operator)).to.equal(true);
        await mineAt(expiry);
        expect(await fx.market.isOperator(fx.tenant, fx.operator)).to.equal(false);
      });
    });

    describe("when the operator is the zero address or the caller", function () {
      it("reverts with MarketInvalidOperator", async function () {
        const fx = await loadFixture(marketFixture);
        for (const operator of [ethers.ZeroAddress, fx.tenant.address]) {
          await expect(fx.market.connect(fx.tenant).approveOperator(operator, ESCROW, 2n ** 63n))
            .to.be.revertedWithCustomError(fx.market, "MarketInvalidOperator")
            .withArgs(operator);
        }
      });
    });

    describe("when the allowance does not fit in 128 bits", function () {
      it("reverts with MarketAmountTooLarge", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).approveOperator(fx.operator, 2n ** 128n, 2n ** 63n))
          .to.be.revertedWithCustomError(fx.market, "MarketAmountTooLarge")
          .withArgs(2n ** 128n, 2n ** 128n - 1n);
      });
    });
  });

  describe("operatorApproval and isOperator", function () {
    it("are empty for a pair that never approved", async function () {
      const fx = await loadFixture(marketFixture);
      const a = await fx.market.operatorApproval(fx.tenant, fx.stranger);
      expect([a.allowance, a.expiry, a.active]).to.deep.equal([0n, 0n, false]);
      expect(await fx.market.isOperator(fx.tenant, fx.stranger)).to.equal(false);
    });
  });

  describe("when the operator is approved", function () {
    for (const action of operatorActions) {
      it(`may ${action.name} for its owner`, async function () {
        const w = await loadFixture(approvedWorld);
        const at = await nextBlockAt();
        const [event, args] = action.event(w, at);
        await expect(action.run(w))
          .to.emit(w.fx.market, event)
          .withArgs(...args);
      });
    }

    it("locks from the owner's balance, not its own, and uses up its allowance", async function () {
      const w = await loadFixture(approvedWorld);
      const { fx } = w;
      const [available, locked] = await balance(fx, fx.tenant);

      await fx.market.connect(fx.operator).createOrder(fx.deploymentId, defaultSpec());
      expect((await fx.market.order(await fx.market.orderCount())).tenant).to.equal(fx.tenant.address);
      expect(await balance(fx, fx.tenant)).to.deep.equal([available - ESCROW, locked + ESCROW]);
      expect(await balance(fx, fx.operator)).to.deep.equal([0n, 0n]);
      expect((await fx.market.operatorApproval(fx.tenant, fx.operator)).allowance).to.equal(9n * ESCROW);

      await fx.market.connect(fx.operator).extendCharter(w.active.charterId, 100n);
      expect((await fx.market.operatorApproval(fx.tenant, fx.operator)).allowance).to.equal(9n * ESCROW - PRICE * 100n);
    });

    it("does not get its allowance back from refunds (cancel, match, close)", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.tenant).approveOperator(fx.operator, 2n * ESCROW, BigInt(await time.latest()) + DAY);

      const cancelled = await createOrder(fx, defaultSpec(), fx.operator);
      await fx.market.connect(fx.operator).cancelOrder(cancelled);
      const matched = await createOrder(fx, defaultSpec(), fx.operator);
      await placeBids(fx, matched, [{ provider: fx.provider1, price: 500n }]);
      await fx.market.connect(fx.operator).matchOrder(matched);
      await fx.market.connect(fx.operator).closeCharter(matched);

      // Everything came back to the owner, nothing to the allowance.
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT, 0n]);
      expect((await fx.market.operatorApproval(fx.tenant, fx.operator)).allowance).to.equal(0n);
      await expect(fx.market.connect(fx.operator).createOrder(fx.deploymentId, defaultSpec()))
        .to.be.revertedWithCustomError(fx.market, "MarketOperatorAllowanceExceeded")
        .withArgs(fx.tenant.address, fx.operator.address, 0n, ESCROW);
    });

    describe("when a lock exceeds the allowance left", function () {
      it("reverts with MarketOperatorAllowanceExceeded, for orders and for extensions", async function () {
        const w = await loadFixture(approvedWorld);
        const { fx } = w;
        await fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW - 1n, BigInt(await time.latest()) + DAY);
        await expect(fx.market.connect(fx.operator).createOrder(fx.deploymentId, defaultSpec()))
          .to.be.revertedWithCustomError(fx.market, "MarketOperatorAllowanceExceeded")
          .withArgs(fx.tenant.address, fx.operator.address, ESCROW - 1n, ESCROW);
        const extra = ESCROW / PRICE + 1n;
        await expect(fx.market.connect(fx.operator).extendCharter(w.active.charterId, extra))
          .to.be.revertedWithCustomError(fx.market, "MarketOperatorAllowanceExceeded")
          .withArgs(fx.tenant.address, fx.operator.address, ESCROW - 1n, PRICE * extra);
      });
    });

    describe("when the allowance is larger than the owner's balance", function () {
      it("still cannot lock more than the owner has available", async function () {
        const fx = await loadFixture(marketFixture);
        await fx.market
          .connect(fx.tenant)
          .approveOperator(fx.operator, 2n ** 128n - 1n, BigInt(await time.latest()) + DAY);
        const spec = defaultSpec({ maxPricePerSecond: TENANT_DEPOSIT });
        await expect(fx.market.connect(fx.operator).createOrder(fx.deploymentId, spec))
          .to.be.revertedWithCustomError(fx.market, "MarketInsufficientBalance")
          .withArgs(fx.tenant.address, TENANT_DEPOSIT, TENANT_DEPOSIT * spec.duration);
      });
    });

    describe("what it may not do", function () {
      it("may not close the deployment", async function () {
        const w = await loadFixture(approvedWorld);
        await expect(w.fx.market.connect(w.fx.operator).closeDeployment(w.fx.deploymentId))
          .to.be.revertedWithCustomError(w.fx.market, "MarketUnauthorized")
          .withArgs(w.fx.operator.address);
      });

      it("may not acknowledge a charter", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await pendingCharter(fx);
        await fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW, BigInt(await time.latest()) + DAY);
        await expect(fx.market.connect(fx.operator).acknowledge(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
          .withArgs(fx.operator.address);
      });

      it("may not withdraw the owner's funds: withdraw only ever pays the caller's own balance", async function () {
        const w = await loadFixture(approvedWorld);
        await expect(w.fx.market.connect(w.fx.operator).withdraw(1n))
          .to.be.revertedWithCustomError(w.fx.market, "MarketInsufficientBalance")
          .withArgs(w.fx.operator.address, 0n, 1n);
      });

      it("may not touch the deployments of an owner that did not approve it", async function () {
        const w = await loadFixture(approvedWorld);
        const { fx } = w;
        await fx.market.connect(fx.otherTenant).createDeployment(VERSION_2);
        const otherDeployment = await fx.market.deploymentCount();
        await expect(fx.market.connect(fx.operator).createOrder(otherDeployment, defaultSpec()))
          .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
          .withArgs(fx.operator.address);
        await expect(fx.market.connect(fx.operator).updateDeployment(otherDeployment, ethers.id("v3")))
          .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
          .withArgs(fx.operator.address);
      });
    });
  });

  for (const [when, world] of [
    ["when the approval has expired", expiredWorld],
    ["when the approval was revoked with allowance 0", revokedWorld],
  ] as const) {
    describe(when, function () {
      for (const action of operatorActions) {
        it(`may not ${action.name}`, async function () {
          const w = await loadFixture(world);
          const [error, args] = action.denied(w);
          await expect(action.run(w))
            .to.be.revertedWithCustomError(w.fx.market, error)
            .withArgs(...args);
        });
      }
    });
  }

  describe("when the operator has spent its whole allowance", function () {
    it("keeps its other rights until the expiry: an allowance used up is not a revocation", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.tenant).approveOperator(fx.operator, ESCROW, BigInt(await time.latest()) + DAY);
      const orderId = await createOrder(fx, defaultSpec(), fx.operator);
      expect((await fx.market.operatorApproval(fx.tenant, fx.operator)).allowance).to.equal(0n);
      expect(await fx.market.isOperator(fx.tenant, fx.operator)).to.equal(true);
      await nextBlockAt();
      await expect(fx.market.connect(fx.operator).cancelOrder(orderId))
        .to.emit(fx.market, "OrderCancelled")
        .withArgs(orderId);
    });
  });
});
