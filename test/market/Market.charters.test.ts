/**
 * Market charters: acknowledge, claim (with the protocol fee), closeCharter by tenant, provider and anyone in every
 * state, cancelUndelivered (slash, bond seizure, failure recorded), extendCharter, the lazy deployment close, and the
 * accrued/claimable views. Ends with a whole lifecycle checked for conservation.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  CharterState,
  CloseReason,
  DEFAULT_SLASH_BPS,
  ONE,
  PROVIDER_DEPOSIT,
  STAKES,
  TENANT_DEPOSIT,
  activeCharter,
  balance,
  createOrder,
  defaultSpec,
  expectConservation,
  marketFixture,
  matchAndAck,
  mineAt,
  nextBlockAt,
  pendingCharter,
  placeBids,
  type MarketFixture,
} from "./fixtures";

const PRICE = 900n;
const DURATION = defaultSpec().duration;
const TOTAL = PRICE * DURATION;
const BOND = 3n * ONE;
const TEN_YEARS = 10n * 365n * 24n * 3600n;

/** A fixture with a protocol fee of `feeBps` and a bid bond of BOND in force before any order. */
async function fixtureWith(feeBps: bigint, bond = 0n): Promise<MarketFixture> {
  const fx = await loadFixture(marketFixture);
  if (feeBps !== 0n) await fx.market.connect(fx.owner).setProtocolFee(feeBps, fx.treasury);
  if (bond !== 0n) await fx.market.connect(fx.owner).setBidBond(bond);
  return fx;
}

async function delivery(fx: MarketFixture, provider: string): Promise<[bigint, bigint]> {
  const [completed, failed] = await fx.registry.deliveryOf(provider);
  return [completed, failed];
}

describe("Market: charters", function () {
  describe("acknowledge", function () {
    it("starts the charter for duration seconds from now and emits CharterAcknowledged", async function () {
      const fx = await fixtureWith(0n, BOND);
      const { charterId } = await pendingCharter(fx, PRICE);
      expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT - BOND, BOND]);
      const at = await nextBlockAt();

      await expect(fx.market.connect(fx.provider1).acknowledge(charterId))
        .to.emit(fx.market, "CharterAcknowledged")
        .withArgs(charterId, at + DURATION);

      const c = await fx.market.charter(charterId);
      expect([c.state, c.acknowledgedAt, c.endsAt]).to.deep.equal([CharterState.Active, at, at + DURATION]);
      // The winning bid's bond is back.
      expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
    });

    it("is accepted at the very last second of the start timeout", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
      await nextBlockAt(acknowledgeBy);
      await expect(fx.market.connect(fx.provider1).acknowledge(charterId)).to.emit(fx.market, "CharterAcknowledged");
    });

    describe("when the start timeout is over", function () {
      it("reverts with MarketAcknowledgeTooLate", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
        await nextBlockAt(acknowledgeBy + 1n);
        await expect(fx.market.connect(fx.provider1).acknowledge(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketAcknowledgeTooLate")
          .withArgs(charterId, acknowledgeBy);
      });
    });

    describe("when the caller is not the charter's provider", function () {
      it("reverts with MarketUnauthorized, for the tenant and for another provider", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await pendingCharter(fx, PRICE);
        for (const caller of [fx.tenant, fx.provider2]) {
          await expect(fx.market.connect(caller).acknowledge(charterId))
            .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
            .withArgs(caller.address);
        }
      });
    });

    describe("when the charter is already active", function () {
      it("reverts with MarketCharterNotPending", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, PRICE);
        await expect(fx.market.connect(fx.provider1).acknowledge(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterNotPending")
          .withArgs(charterId, CharterState.Active);
      });
    });

    describe("when the charter was closed before acknowledgement", function () {
      it("reverts with MarketCharterNotPending", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await pendingCharter(fx, PRICE);
        await fx.market.connect(fx.tenant).closeCharter(charterId);
        await expect(fx.market.connect(fx.provider1).acknowledge(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterNotPending")
          .withArgs(charterId, CharterState.Closed);
      });
    });

    describe("when the deployment is closed", function () {
      it("reverts with MarketDeploymentClosed", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await pendingCharter(fx, PRICE);
        await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
        await expect(fx.market.connect(fx.provider1).acknowledge(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
      });
    });

    describe("when the charter is unknown", function () {
      it("reverts with MarketUnknownCharter", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.provider1).acknowledge(4n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownCharter")
          .withArgs(4n);
      });
    });
  });

  describe("accrued and claimable", function () {
    it("are zero before acknowledgement and for an unknown charter", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId } = await pendingCharter(fx, PRICE);
      expect(await fx.market.accrued(charterId)).to.equal(0n);
      expect(await fx.market.claimable(charterId)).to.equal(0n);
      expect(await fx.market.accrued(99n)).to.equal(0n);
    });

    it("grow by the price every second, net of claims, and stop at the end", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgedAt, endsAt } = await activeCharter(fx, PRICE);

      await mineAt(acknowledgedAt + 10n);
      expect(await fx.market.accrued(charterId)).to.equal(PRICE * 10n);
      expect(await fx.market.claimable(charterId)).to.equal(PRICE * 10n);

      await nextBlockAt(acknowledgedAt + 30n);
      await fx.market.claim(charterId);
      await mineAt(acknowledgedAt + 40n);
      expect(await fx.market.accrued(charterId)).to.equal(PRICE * 40n);
      expect(await fx.market.claimable(charterId)).to.equal(PRICE * 10n);

      await mineAt(endsAt + 1_000n);
      expect(await fx.market.accrued(charterId)).to.equal(TOTAL);
      expect(await fx.market.claimable(charterId)).to.equal(TOTAL - PRICE * 30n);
    });
  });

  describe("claim", function () {
    it("lets anyone move accrued payment to the provider's available balance; emits PaymentClaimed", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
      await nextBlockAt(acknowledgedAt + 100n);

      await expect(fx.market.connect(fx.stranger).claim(charterId))
        .to.emit(fx.market, "PaymentClaimed")
        .withArgs(charterId, fx.provider1.address, PRICE * 100n, 0n);

      expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT + PRICE * 100n, 0n]);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - TOTAL, TOTAL - PRICE * 100n]);
      expect((await fx.market.charter(charterId)).claimed).to.equal(PRICE * 100n);
      await expectConservation(fx, fx.accounts);
    });

    it("takes the protocol fee for the treasury; the event carries the net amount and the fee", async function () {
      const fx = await fixtureWith(250n);
      const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
      const gross = PRICE * 100n;
      const fee = (gross * 250n) / 10_000n;
      const [treasuryBefore] = await balance(fx, fx.treasury);
      await nextBlockAt(acknowledgedAt + 100n);

      await expect(fx.market.claim(charterId))
        .to.emit(fx.market, "PaymentClaimed")
        .withArgs(charterId, fx.provider1.address, gross - fee, fee);

      expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT + gross - fee, 0n]);
      expect((await balance(fx, fx.treasury))[0]).to.equal(treasuryBefore + fee);
      expect((await fx.market.charter(charterId)).claimed).to.equal(gross);
      await expectConservation(fx, fx.accounts);
    });

    it("pays nothing past the end", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, endsAt } = await activeCharter(fx, PRICE);
      await nextBlockAt(endsAt + 5_000n);
      await expect(fx.market.claim(charterId))
        .to.emit(fx.market, "PaymentClaimed")
        .withArgs(charterId, fx.provider1.address, TOTAL, 0n);
      await expect(fx.market.claim(charterId))
        .to.be.revertedWithCustomError(fx.market, "MarketNothingToClaim")
        .withArgs(charterId);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - TOTAL, 0n]);
    });

    describe("when nothing accrued since the last claim", function () {
      it("reverts with MarketNothingToClaim", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
        await nextBlockAt(acknowledgedAt); // same second as the acknowledgement
        await expect(fx.market.claim(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketNothingToClaim")
          .withArgs(charterId);
      });
    });

    describe("when the charter is not active", function () {
      it("reverts with MarketCharterNotActive while pending and once closed", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await pendingCharter(fx, PRICE);
        await expect(fx.market.claim(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterNotActive")
          .withArgs(charterId, CharterState.Pending);
        await fx.market.connect(fx.tenant).closeCharter(charterId);
        await expect(fx.market.claim(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterNotActive")
          .withArgs(charterId, CharterState.Closed);
      });
    });

    describe("when the charter is unknown", function () {
      it("reverts with MarketUnknownCharter", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.claim(1n)).to.be.revertedWithCustomError(fx.market, "MarketUnknownCharter").withArgs(1n);
      });
    });
  });

  describe("closeCharter", function () {
    describe("when the charter is active", function () {
      describe("when the tenant closes it before the end", function () {
        it("pays what accrued, refunds the rest, records a completed charter and freezes accrual", async function () {
          const fx = await loadFixture(marketFixture);
          const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
          const earned = PRICE * 100n;
          await nextBlockAt(acknowledgedAt + 100n);

          const tx = fx.market.connect(fx.tenant).closeCharter(charterId);
          await expect(tx).to.emit(fx.market, "PaymentClaimed").withArgs(charterId, fx.provider1.address, earned, 0n);
          await expect(tx)
            .to.emit(fx.market, "CharterClosed")
            .withArgs(charterId, CloseReason.ClosedByTenant, earned, TOTAL - earned);
          await expect(tx).to.emit(fx.registry, "DeliveryRecorded").withArgs(fx.provider1.address, true, 1, 0);

          const c = await fx.market.charter(charterId);
          expect([c.state, c.closeReason, c.endsAt, c.claimed]).to.deep.equal([
            CharterState.Closed,
            CloseReason.ClosedByTenant,
            acknowledgedAt + 100n,
            earned,
          ]);
          expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - earned, 0n]);
          expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT + earned, 0n]);
          expect(await delivery(fx, fx.provider1.address)).to.deep.equal([1n, 0n]);

          await mineAt(acknowledgedAt + 1_000n);
          expect(await fx.market.accrued(charterId)).to.equal(earned);
          expect(await fx.market.claimable(charterId)).to.equal(0n);
          await expectConservation(fx, fx.accounts);
        });

        it("pays only what was not claimed yet, net of the charter's fee", async function () {
          const fx = await fixtureWith(1_000n);
          const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
          await nextBlockAt(acknowledgedAt + 40n);
          await fx.market.claim(charterId);
          const unpaid = PRICE * 60n;
          const fee = unpaid / 10n;
          await nextBlockAt(acknowledgedAt + 100n);

          const tx = fx.market.connect(fx.tenant).closeCharter(charterId);
          await expect(tx)
            .to.emit(fx.market, "PaymentClaimed")
            .withArgs(charterId, fx.provider1.address, unpaid - fee, fee);
          await expect(tx)
            .to.emit(fx.market, "CharterClosed")
            .withArgs(charterId, CloseReason.ClosedByTenant, unpaid - fee, TOTAL - PRICE * 100n);
          expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT + (PRICE * 100n * 9n) / 10n, 0n]);
          await expectConservation(fx, fx.accounts);
        });

        it("pays nothing more when everything accrued was claimed", async function () {
          const fx = await loadFixture(marketFixture);
          const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
          await nextBlockAt(acknowledgedAt + 100n);
          await fx.market.claim(charterId);
          await nextBlockAt(acknowledgedAt + 100n);

          const tx = fx.market.connect(fx.tenant).closeCharter(charterId);
          await expect(tx).not.to.emit(fx.market, "PaymentClaimed");
          await expect(tx)
            .to.emit(fx.market, "CharterClosed")
            .withArgs(charterId, CloseReason.ClosedByTenant, 0n, TOTAL - PRICE * 100n);
        });
      });

      describe("when the provider closes it before the end", function () {
        it("settles the same way but records a failure (ClosedByProvider)", async function () {
          const fx = await loadFixture(marketFixture);
          const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
          await nextBlockAt(acknowledgedAt + 100n);

          const tx = fx.market.connect(fx.provider1).closeCharter(charterId);
          await expect(tx)
            .to.emit(fx.market, "CharterClosed")
            .withArgs(charterId, CloseReason.ClosedByProvider, PRICE * 100n, TOTAL - PRICE * 100n);
          await expect(tx).to.emit(fx.registry, "DeliveryRecorded").withArgs(fx.provider1.address, false, 0, 1);
          expect(await delivery(fx, fx.provider1.address)).to.deep.equal([0n, 1n]);
          // No slash for an early close after delivery.
          expect(await fx.registry.stakeOf(fx.provider1)).to.equal(STAKES[0]);
        });
      });

      describe("when a stranger closes it before the end", function () {
        it("reverts with MarketUnauthorized", async function () {
          const fx = await loadFixture(marketFixture);
          const { charterId, endsAt } = await activeCharter(fx, PRICE);
          await nextBlockAt(endsAt - 1n);
          await expect(fx.market.connect(fx.stranger).closeCharter(charterId))
            .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
            .withArgs(fx.stranger.address);
        });
      });

      describe("when it ran to its end", function () {
        it("lets anyone close it (Expired): the provider gets everything and a completed charter", async function () {
          const fx = await loadFixture(marketFixture);
          const { charterId, endsAt } = await activeCharter(fx, PRICE);
          await nextBlockAt(endsAt);

          const tx = fx.market.connect(fx.stranger).closeCharter(charterId);
          await expect(tx).to.emit(fx.market, "CharterClosed").withArgs(charterId, CloseReason.Expired, TOTAL, 0n);
          await expect(tx).to.emit(fx.registry, "DeliveryRecorded").withArgs(fx.provider1.address, true, 1, 0);
          expect((await fx.market.charter(charterId)).endsAt).to.equal(endsAt);
          expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - TOTAL, 0n]);
          expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT + TOTAL, 0n]);
          await expectConservation(fx, fx.accounts);
        });

        it("records Expired even when the provider or the tenant closes it", async function () {
          const fx = await loadFixture(marketFixture);
          const first = await activeCharter(fx, PRICE);
          const second = await activeCharter(fx, PRICE);
          await mineAt(second.endsAt);
          await expect(fx.market.connect(fx.provider1).closeCharter(first.charterId))
            .to.emit(fx.market, "CharterClosed")
            .withArgs(first.charterId, CloseReason.Expired, TOTAL, 0n);
          await expect(fx.market.connect(fx.tenant).closeCharter(second.charterId))
            .to.emit(fx.market, "CharterClosed")
            .withArgs(second.charterId, CloseReason.Expired, TOTAL, 0n);
          expect(await delivery(fx, fx.provider1.address)).to.deep.equal([2n, 0n]);
        });
      });
    });

    describe("when the charter is pending", function () {
      describe("when the tenant closes it", function () {
        it("refunds everything, returns the bond to the provider and records nothing", async function () {
          const fx = await fixtureWith(0n, BOND);
          const { charterId } = await pendingCharter(fx, PRICE);

          const tx = fx.market.connect(fx.tenant).closeCharter(charterId);
          await expect(tx)
            .to.emit(fx.market, "CharterClosed")
            .withArgs(charterId, CloseReason.ClosedByTenant, 0n, TOTAL);
          await expect(tx).not.to.emit(fx.registry, "DeliveryRecorded");
          await expect(tx).not.to.emit(fx.market, "BondSeized");

          expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT, 0n]);
          expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
          expect(await delivery(fx, fx.provider1.address)).to.deep.equal([0n, 0n]);
          const c = await fx.market.charter(charterId);
          expect([c.state, c.closeReason]).to.deep.equal([CharterState.Closed, CloseReason.ClosedByTenant]);
          await expectConservation(fx, fx.accounts);
        });
      });

      describe("when the provider closes it", function () {
        it("counts as non-delivery: refund, bond to the tenant, slash and a failure", async function () {
          const fx = await fixtureWith(0n, BOND);
          const { charterId } = await pendingCharter(fx, PRICE);
          const slash = (STAKES[0] * DEFAULT_SLASH_BPS) / 10_000n;

          const tx = fx.market.connect(fx.provider1).closeCharter(charterId);
          await expect(tx).to.emit(fx.market, "CharterClosed").withArgs(charterId, CloseReason.Undelivered, 0n, TOTAL);
          await expect(tx)
            .to.emit(fx.market, "BondSeized")
            .withArgs(charterId, fx.provider1.address, fx.tenant.address, BOND);
          await expect(tx).to.emit(fx.registry, "Slashed").withArgs(fx.provider1.address, slash, fx.treasury.address);
          await expect(tx).to.emit(fx.registry, "DeliveryRecorded").withArgs(fx.provider1.address, false, 0, 1);

          expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT + BOND, 0n]);
          expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT - BOND, 0n]);
          expect(await fx.registry.stakeOf(fx.provider1)).to.equal(STAKES[0] - slash);
          await expectConservation(fx, fx.accounts);
        });
      });

      describe("when a stranger closes it", function () {
        it("reverts with MarketUnauthorized, even after the start timeout", async function () {
          const fx = await loadFixture(marketFixture);
          const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
          await nextBlockAt(acknowledgeBy + 1n);
          await expect(fx.market.connect(fx.stranger).closeCharter(charterId))
            .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
            .withArgs(fx.stranger.address);
        });
      });

      describe("when its deployment is closed", function () {
        it("lets anyone close it without fault (DeploymentClosed): refund and bond back", async function () {
          const fx = await fixtureWith(0n, BOND);
          const { charterId } = await pendingCharter(fx, PRICE);
          await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);

          const tx = fx.market.connect(fx.stranger).closeCharter(charterId);
          await expect(tx)
            .to.emit(fx.market, "CharterClosed")
            .withArgs(charterId, CloseReason.DeploymentClosed, 0n, TOTAL);
          await expect(tx).not.to.emit(fx.registry, "DeliveryRecorded");
          expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT, 0n]);
          expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
        });

        it("is not non-delivery when the provider closes it: no slash, no failure", async function () {
          const fx = await fixtureWith(0n, BOND);
          const { charterId } = await pendingCharter(fx, PRICE);
          await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);

          const tx = fx.market.connect(fx.provider1).closeCharter(charterId);
          await expect(tx)
            .to.emit(fx.market, "CharterClosed")
            .withArgs(charterId, CloseReason.DeploymentClosed, 0n, TOTAL);
          await expect(tx).not.to.emit(fx.registry, "Slashed");
          expect(await fx.registry.stakeOf(fx.provider1)).to.equal(STAKES[0]);
          expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
        });
      });
    });

    describe("when the charter is already closed", function () {
      it("reverts with MarketCharterClosed", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, PRICE);
        await fx.market.connect(fx.tenant).closeCharter(charterId);
        await expect(fx.market.connect(fx.tenant).closeCharter(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterClosed")
          .withArgs(charterId);
      });
    });

    describe("when the charter is unknown", function () {
      it("reverts with MarketUnknownCharter", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).closeCharter(8n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownCharter")
          .withArgs(8n);
      });
    });
  });

  describe("cancelUndelivered", function () {
    describe("when the start timeout passed without acknowledgement", function () {
      it("refunds the tenant, gives it the bond, slashes the provider and records a failure", async function () {
        const fx = await fixtureWith(0n, BOND);
        const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
        const slash = (STAKES[0] * DEFAULT_SLASH_BPS) / 10_000n;
        await nextBlockAt(acknowledgeBy + 1n);

        const tx = fx.market.connect(fx.tenant).cancelUndelivered(charterId);
        await expect(tx).to.emit(fx.market, "CharterClosed").withArgs(charterId, CloseReason.Undelivered, 0n, TOTAL);
        await expect(tx)
          .to.emit(fx.market, "BondSeized")
          .withArgs(charterId, fx.provider1.address, fx.tenant.address, BOND);
        await expect(tx).to.emit(fx.registry, "Slashed").withArgs(fx.provider1.address, slash, fx.treasury.address);
        await expect(tx).to.emit(fx.registry, "DeliveryRecorded").withArgs(fx.provider1.address, false, 0, 1);
        await expect(tx).to.changeTokenBalances(fx.token, [fx.registry, fx.treasury], [-slash, slash]);

        const c = await fx.market.charter(charterId);
        expect([c.state, c.closeReason]).to.deep.equal([CharterState.Closed, CloseReason.Undelivered]);
        expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT + BOND, 0n]);
        expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT - BOND, 0n]);
        expect(await fx.registry.stakeOf(fx.provider1)).to.equal(STAKES[0] - slash);
        expect(await fx.registry.deliveryOf(fx.provider1)).to.deep.equal([0n, 1n]);
        expect(await fx.registry.reputationOf(fx.provider1)).to.be.lessThan(
          await fx.registry.reputationFormula(STAKES[0] - slash, await fx.registry.totalStaked(), 0, 0),
        );
        await expectConservation(fx, fx.accounts);
      });

      it("slashes stake the provider started unbonding after the match", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
        await fx.registry.connect(fx.provider1).requestUnstake(STAKES[0]);
        const slash = (STAKES[0] * DEFAULT_SLASH_BPS) / 10_000n;
        await nextBlockAt(acknowledgeBy + 1n);

        await expect(fx.market.connect(fx.tenant).cancelUndelivered(charterId))
          .to.emit(fx.registry, "Slashed")
          .withArgs(fx.provider1.address, slash, fx.treasury.address);
        expect((await fx.registry.unbondingOf(fx.provider1))[0]).to.equal(STAKES[0] - slash);
      });

      it("slashes nothing when slashBps is 0, but still records the failure", async function () {
        const fx = await loadFixture(marketFixture);
        await fx.market.connect(fx.owner).setSlashBps(0);
        const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
        await nextBlockAt(acknowledgeBy + 1n);

        const tx = fx.market.connect(fx.tenant).cancelUndelivered(charterId);
        await expect(tx).not.to.emit(fx.registry, "Slashed");
        await expect(tx).not.to.emit(fx.market, "BondSeized");
        await expect(tx).to.emit(fx.registry, "DeliveryRecorded").withArgs(fx.provider1.address, false, 0, 1);
        expect(await fx.registry.stakeOf(fx.provider1)).to.equal(STAKES[0]);
        expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT, 0n]);
      });
    });

    describe("when the start timeout is not over", function () {
      it("reverts with MarketStartTimeoutNotOver, up to and including its last second", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
        await nextBlockAt(acknowledgeBy);
        await expect(fx.market.connect(fx.tenant).cancelUndelivered(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketStartTimeoutNotOver")
          .withArgs(charterId, acknowledgeBy);
      });
    });

    describe("when the deployment was closed (the provider could not acknowledge)", function () {
      it("reverts with MarketDeploymentClosed; closeCharter unwinds the charter without a slash", async function () {
        const fx = await fixtureWith(0n, BOND);
        const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
        await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
        await expect(fx.market.connect(fx.provider1).acknowledge(charterId)).to.be.revertedWithCustomError(
          fx.market,
          "MarketDeploymentClosed",
        );
        await nextBlockAt(acknowledgeBy + 1n);

        await expect(fx.market.connect(fx.tenant).cancelUndelivered(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
        await expect(fx.market.connect(fx.tenant).closeCharter(charterId))
          .to.emit(fx.market, "CharterClosed")
          .withArgs(charterId, CloseReason.DeploymentClosed, 0n, TOTAL);
        expect(await fx.registry.stakeOf(fx.provider1)).to.equal(STAKES[0]);
        expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
      });
    });

    describe("when the caller is not the tenant", function () {
      it("reverts with MarketUnauthorized, for the provider and for a stranger", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId, acknowledgeBy } = await pendingCharter(fx, PRICE);
        await mineAt(acknowledgeBy + 1n);
        for (const caller of [fx.provider1, fx.stranger]) {
          await expect(fx.market.connect(caller).cancelUndelivered(charterId))
            .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
            .withArgs(caller.address);
        }
      });
    });

    describe("when the charter was acknowledged", function () {
      it("reverts with MarketCharterNotPending", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, PRICE);
        await mineAt((await fx.market.charter(charterId)).acknowledgeBy + 1n);
        await expect(fx.market.connect(fx.tenant).cancelUndelivered(charterId))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterNotPending")
          .withArgs(charterId, CharterState.Active);
      });
    });

    describe("when the charter is unknown", function () {
      it("reverts with MarketUnknownCharter", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).cancelUndelivered(2n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownCharter")
          .withArgs(2n);
      });
    });
  });

  describe("extendCharter", function () {
    it("locks price x extraSeconds more, moves the end and emits CharterExtended", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgedAt, endsAt } = await activeCharter(fx, PRICE);
      await nextBlockAt(acknowledgedAt + 100n);

      await expect(fx.market.connect(fx.tenant).extendCharter(charterId, 600n))
        .to.emit(fx.market, "CharterExtended")
        .withArgs(charterId, endsAt + 600n);

      const c = await fx.market.charter(charterId);
      expect([c.endsAt, c.duration]).to.deep.equal([endsAt + 600n, DURATION + 600n]);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - TOTAL - PRICE * 600n, TOTAL + PRICE * 600n]);

      // Payment keeps accruing past the old end and the whole extended charter is paid out.
      await nextBlockAt(endsAt + 600n);
      await expect(fx.market.connect(fx.stranger).closeCharter(charterId))
        .to.emit(fx.market, "CharterClosed")
        .withArgs(charterId, CloseReason.Expired, TOTAL + PRICE * 600n, 0n);
      await expectConservation(fx, fx.accounts);
    });

    it("refunds the unused extension on an early close", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
      await fx.market.connect(fx.tenant).extendCharter(charterId, 600n);
      await nextBlockAt(acknowledgedAt + 100n);
      await expect(fx.market.connect(fx.tenant).closeCharter(charterId))
        .to.emit(fx.market, "CharterClosed")
        .withArgs(charterId, CloseReason.ClosedByTenant, PRICE * 100n, TOTAL + PRICE * 600n - PRICE * 100n);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - PRICE * 100n, 0n]);
    });

    it("accepts a total of exactly ten years", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgedAt } = await activeCharter(fx, 1n);
      await expect(fx.market.connect(fx.tenant).extendCharter(charterId, TEN_YEARS - DURATION))
        .to.emit(fx.market, "CharterExtended")
        .withArgs(charterId, acknowledgedAt + TEN_YEARS);
    });

    describe("when the total would pass ten years", function () {
      it("reverts with MarketInvalidParameter, also for the largest uint64", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, 1n);
        for (const extra of [TEN_YEARS - DURATION + 1n, 2n ** 64n - 1n]) {
          await expect(fx.market.connect(fx.tenant).extendCharter(charterId, extra))
            .to.be.revertedWithCustomError(fx.market, "MarketInvalidParameter")
            .withArgs("extraSeconds", extra);
        }
      });
    });

    describe("when extraSeconds is zero", function () {
      it("reverts with MarketZeroAmount", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, PRICE);
        await expect(fx.market.connect(fx.tenant).extendCharter(charterId, 0)).to.be.revertedWithCustomError(
          fx.market,
          "MarketZeroAmount",
        );
      });
    });

    describe("when the tenant cannot cover the extension", function () {
      it("reverts with MarketInsufficientBalance", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, PRICE);
        const [before] = await balance(fx, fx.tenant);
        await fx.market.connect(fx.tenant).withdraw(before - PRICE * 100n);
        const available = PRICE * 100n;
        const extra = 101n;
        await expect(fx.market.connect(fx.tenant).extendCharter(charterId, extra))
          .to.be.revertedWithCustomError(fx.market, "MarketInsufficientBalance")
          .withArgs(fx.tenant.address, available, PRICE * extra);
      });
    });

    describe("when the charter has ended", function () {
      it("reverts with MarketCharterEnded from its last second on", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId, endsAt } = await activeCharter(fx, PRICE);
        await nextBlockAt(endsAt);
        await expect(fx.market.connect(fx.tenant).extendCharter(charterId, 60n))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterEnded")
          .withArgs(charterId, endsAt);
      });
    });

    describe("when the charter is not active", function () {
      it("reverts with MarketCharterNotActive while pending and once closed", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await pendingCharter(fx, PRICE);
        await expect(fx.market.connect(fx.tenant).extendCharter(charterId, 60n))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterNotActive")
          .withArgs(charterId, CharterState.Pending);
        await fx.market.connect(fx.tenant).closeCharter(charterId);
        await expect(fx.market.connect(fx.tenant).extendCharter(charterId, 60n))
          .to.be.revertedWithCustomError(fx.market, "MarketCharterNotActive")
          .withArgs(charterId, CharterState.Closed);
      });
    });

    describe("when the deployment is closed", function () {
      it("reverts with MarketDeploymentClosed", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, PRICE);
        await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
        await expect(fx.market.connect(fx.tenant).extendCharter(charterId, 60n))
          .to.be.revertedWithCustomError(fx.market, "MarketDeploymentClosed")
          .withArgs(fx.deploymentId);
      });
    });

    describe("when the caller is not the tenant", function () {
      it("reverts with MarketUnauthorized, for the provider and for a stranger", async function () {
        const fx = await loadFixture(marketFixture);
        const { charterId } = await activeCharter(fx, PRICE);
        for (const caller of [fx.provider1, fx.stranger]) {
          await expect(fx.market.connect(caller).extendCharter(charterId, 60n))
            .to.be.revertedWithCustomError(fx.market, "MarketUnauthorized")
            .withArgs(caller.address);
        }
      });
    });

    describe("when the charter is unknown", function () {
      it("reverts with MarketUnknownCharter", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).extendCharter(6n, 60n))
          .to.be.revertedWithCustomError(fx.market, "MarketUnknownCharter")
          .withArgs(6n);
      });
    });
  });

  describe("when the deployment of an active charter is closed (lazy close)", function () {
    it("stops accrual at the close time; anyone closes the charter (DeploymentClosed, completed)", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgedAt } = await activeCharter(fx, PRICE);
      await nextBlockAt(acknowledgedAt + 100n);
      await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);

      await mineAt(acknowledgedAt + 500n);
      expect(await fx.market.accrued(charterId)).to.equal(PRICE * 100n);
      await expect(fx.market.claim(charterId))
        .to.emit(fx.market, "PaymentClaimed")
        .withArgs(charterId, fx.provider1.address, PRICE * 100n, 0n);

      const tx = fx.market.connect(fx.stranger).closeCharter(charterId);
      await expect(tx)
        .to.emit(fx.market, "CharterClosed")
        .withArgs(charterId, CloseReason.DeploymentClosed, 0n, TOTAL - PRICE * 100n);
      await expect(tx).to.emit(fx.registry, "DeliveryRecorded").withArgs(fx.provider1.address, true, 1, 0);
      expect((await fx.market.charter(charterId)).endsAt).to.equal(acknowledgedAt + 100n);
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - PRICE * 100n, 0n]);
      await expectConservation(fx, fx.accounts);
    });

    it("still reports DeploymentClosed, not Expired, when closed after the charter's original end", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgedAt, endsAt } = await activeCharter(fx, PRICE);
      await nextBlockAt(acknowledgedAt + 100n);
      await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);
      await nextBlockAt(endsAt + 1n);

      await expect(fx.market.connect(fx.stranger).closeCharter(charterId))
        .to.emit(fx.market, "CharterClosed")
        .withArgs(charterId, CloseReason.DeploymentClosed, PRICE * 100n, TOTAL - PRICE * 100n);
    });

    it("reports Expired when the deployment closed only after the charter ran to its end", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, endsAt } = await activeCharter(fx, PRICE);
      await nextBlockAt(endsAt + 10n);
      await fx.market.connect(fx.tenant).closeDeployment(fx.deploymentId);

      await expect(fx.market.connect(fx.stranger).closeCharter(charterId))
        .to.emit(fx.market, "CharterClosed")
        .withArgs(charterId, CloseReason.Expired, TOTAL, 0n);
    });
  });

  describe("charter", function () {
    it("returns an empty record for an unknown id or an order not matched", async function () {
      const fx = await loadFixture(marketFixture);
      const orderId = await createOrder(fx);
      for (const id of [orderId, 50n]) {
        const c = await fx.market.charter(id);
        expect([c.state, c.orderId, c.provider, c.pricePerSecond]).to.deep.equal([
          CharterState.None,
          0n,
          ethers.ZeroAddress,
          0n,
        ]);
      }
    });
  });

  describe("a whole lifecycle", function () {
    it("conserves tokens: the Market holds every available + locked balance, to the last wei", async function () {
      const fx = await fixtureWith(300n, BOND);
      const spec = defaultSpec({ attributes: [] });
      const orderId = await createOrder(fx, spec);
      const bidIds = await placeBids(fx, orderId, [
        { provider: fx.provider1, price: 950n },
        { provider: fx.provider2, price: PRICE },
        { provider: fx.provider3, price: 990n },
      ]);
      await expectConservation(fx, fx.accounts);

      const { charterId, acknowledgedAt } = await matchAndAck(fx, orderId);
      await fx.market.releaseBid(bidIds[0]);
      await fx.market.releaseBid(bidIds[2]);
      await nextBlockAt(acknowledgedAt + 1_000n);
      await fx.market.claim(charterId);
      await fx.market.connect(fx.tenant).extendCharter(charterId, 1_200n);
      await expectConservation(fx, fx.accounts);
      await nextBlockAt(acknowledgedAt + 2_500n);
      await fx.market.connect(fx.tenant).closeCharter(charterId);
      await expectConservation(fx, fx.accounts);

      const gross = PRICE * 2_500n;
      const fee = (PRICE * 1_000n * 300n) / 10_000n + (PRICE * 1_500n * 300n) / 10_000n;
      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - gross, 0n]);
      expect(await balance(fx, fx.provider2)).to.deep.equal([PROVIDER_DEPOSIT + gross - fee, 0n]);

      for (const account of fx.accounts) {
        const [available, locked] = await fx.market.balanceOf(account);
        expect(locked).to.equal(0n);
        if (available !== 0n) await fx.market.connect(account).withdraw(available);
      }
      expect(await fx.token.balanceOf(fx.market)).to.equal(0n);
    });
  });
});
