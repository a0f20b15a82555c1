/**
 * Market parameters: defaults, every owner-only setter (effect, event, bounds, access control), the two-step
 * ownership transfer, and the rule that a parameter change never applies retroactively.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  CloseReason,
  DEFAULT_SLASH_BPS,
  DEFAULT_START_TIMEOUT,
  ONE,
  PROVIDER_DEPOSIT,
  STAKES,
  activeCharter,
  balance,
  createOrder,
  marketFixture,
  nextBlockAt,
  pendingCharter,
  placeBids,
} from "./fixtures";

const SEVEN_DAYS = 7n * 24n * 3600n;

/** Each setter with a value it accepts, the bound it refuses, and how the change reads back. */
const setters = [
  {
    name: "setBidBond",
    event: "BidBondChanged",
    getter: "bidBond",
    accepted: [ONE, 2n ** 128n - 1n],
    refused: [[2n ** 128n, "bidBond"]],
  },
  {
    name: "setStartTimeout",
    event: "StartTimeoutChanged",
    getter: "startTimeout",
    accepted: [60n, SEVEN_DAYS],
    refused: [
      [59n, "startTimeout"],
      [SEVEN_DAYS + 1n, "startTimeout"],
    ],
  },
  {
    name: "setSlashBps",
    event: "SlashBpsChanged",
    getter: "slashBps",
    accepted: [0n, 10_000n],
    refused: [[10_001n, "slashBps"]],
  },
] as const;

describe("Market: parameters", function () {
  describe("defaults of the local deployment", function () {
    it("are bid bond 0, start timeout 600 s, slash 500 bps, fee 0 to the deployer's treasury", async function () {
      const fx = await loadFixture(marketFixture);
      expect(await fx.market.bidBond()).to.equal(0n);
      expect(await fx.market.startTimeout()).to.equal(DEFAULT_START_TIMEOUT);
      expect(await fx.market.slashBps()).to.equal(DEFAULT_SLASH_BPS);
      expect(await fx.market.protocolFeeBps()).to.equal(0n);
      expect(await fx.market.treasury()).to.equal(fx.owner.address);
      expect(await fx.market.owner()).to.equal(fx.owner.address);
      expect(await fx.market.token()).to.equal(await fx.token.getAddress());
      expect(await fx.market.registry()).to.equal(await fx.registry.getAddress());
    });
  });

  describe("constructor", function () {
    describe("when the treasury is the zero address", function () {
      it("reverts with MarketInvalidParameter", async function () {
        const fx = await loadFixture(marketFixture);
        const factory = await ethers.getContractFactory("Market");
        await expect(factory.deploy(fx.token, fx.registry, fx.owner, ethers.ZeroAddress))
          .to.be.revertedWithCustomError(fx.market, "MarketInvalidParameter")
          .withArgs("treasury", 0n);
      });
    });
  });

  for (const setter of setters) {
    describe(setter.name, function () {
      for (const value of setter.accepted) {
        it(`sets ${value} and emits ${setter.event}`, async function () {
          const fx = await loadFixture(marketFixture);
          await expect(fx.market.connect(fx.owner)[setter.name](value))
            .to.emit(fx.market, setter.event)
            .withArgs(value);
          expect(await fx.market[setter.getter]()).to.equal(value);
        });
      }

      for (const [value, parameter] of setter.refused) {
        describe(`when the value is ${value}`, function () {
          it("reverts with MarketInvalidParameter", async function () {
            const fx = await loadFixture(marketFixture);
            await expect(fx.market.connect(fx.owner)[setter.name](value))
              .to.be.revertedWithCustomError(fx.market, "MarketInvalidParameter")
              .withArgs(parameter, value);
          });
        });
      }

      describe("when the caller is not the owner", function () {
        it("reverts with OwnableUnauthorizedAccount", async function () {
          const fx = await loadFixture(marketFixture);
          await expect(fx.market.connect(fx.stranger)[setter.name](setter.accepted[0]))
            .to.be.revertedWithCustomError(fx.market, "OwnableUnauthorizedAccount")
            .withArgs(fx.stranger.address);
        });
      });
    });
  }

  describe("setProtocolFee", function () {
    it("sets the fee and the treasury and emits ProtocolFeeChanged", async function () {
      const fx = await loadFixture(marketFixture);
      await expect(fx.market.connect(fx.owner).setProtocolFee(1_000, fx.stranger))
        .to.emit(fx.market, "ProtocolFeeChanged")
        .withArgs(1_000, fx.stranger.address);
      expect(await fx.market.protocolFeeBps()).to.equal(1_000n);
      expect(await fx.market.treasury()).to.equal(fx.stranger.address);
    });

    it("sends fees, and the registry's slashes, to the new treasury", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.owner).setProtocolFee(500, fx.stranger);
      const { charterId, acknowledgedAt } = await activeCharter(fx, 1_000n);
      await nextBlockAt(acknowledgedAt + 10n);
      await fx.market.claim(charterId);
      expect(await balance(fx, fx.stranger)).to.deep.equal([500n, 0n]);

      const pending = await pendingCharter(fx, 1_000n);
      await nextBlockAt(pending.acknowledgeBy + 1n);
      await expect(fx.market.connect(fx.tenant).cancelUndelivered(pending.charterId))
        .to.emit(fx.registry, "Slashed")
        .withArgs(fx.provider1.address, (STAKES[0] * DEFAULT_SLASH_BPS) / 10_000n, fx.stranger.address);
    });

    describe("when the fee is above 1000 bps", function () {
      it("reverts with MarketInvalidParameter", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.owner).setProtocolFee(1_001, fx.owner))
          .to.be.revertedWithCustomError(fx.market, "MarketInvalidParameter")
          .withArgs("protocolFeeBps", 1_001);
      });
    });

    describe("when the treasury is the zero address", function () {
      it("reverts with MarketInvalidParameter", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.owner).setProtocolFee(100, ethers.ZeroAddress))
          .to.be.revertedWithCustomError(fx.market, "MarketInvalidParameter")
          .withArgs("treasury", 0);
      });
    });

    describe("when the caller is not the owner", function () {
      it("reverts with OwnableUnauthorizedAccount", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.stranger).setProtocolFee(100, fx.stranger))
          .to.be.revertedWithCustomError(fx.market, "OwnableUnauthorizedAccount")
          .withArgs(fx.stranger.address);
      });
    });
  });

  describe("ownership (Ownable2Step)", function () {
    it("passes the parameters to a new owner only once it accepts", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.owner).transferOwnership(fx.operator);
      // Still the old owner until accepted.
      await expect(fx.market.connect(fx.operator).setSlashBps(1))
        .to.be.revertedWithCustomError(fx.market, "OwnableUnauthorizedAccount")
        .withArgs(fx.operator.address);
      await fx.market.connect(fx.operator).acceptOwnership();
      await expect(fx.market.connect(fx.operator).setSlashBps(1)).to.emit(fx.market, "SlashBpsChanged").withArgs(1);
      await expect(fx.market.connect(fx.owner).setSlashBps(2))
        .to.be.revertedWithCustomError(fx.market, "OwnableUnauthorizedAccount")
        .withArgs(fx.owner.address);
    });
  });

  describe("changes are not retroactive", function () {
    it("an order keeps the bid bond in force when it was created", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.owner).setBidBond(ONE);
      const orderId = await createOrder(fx);
      await fx.market.connect(fx.owner).setBidBond(5n * ONE);

      const [loser] = await placeBids(fx, orderId, [
        { provider: fx.provider2, price: 900n },
        { provider: fx.provider1, price: 800n },
      ]);
      expect((await fx.market.order(orderId)).bidBond).to.equal(ONE);
      expect(await balance(fx, fx.provider2)).to.deep.equal([PROVIDER_DEPOSIT - ONE, ONE]);

      await fx.market.connect(fx.owner).setBidBond(0);
      await fx.market.connect(fx.tenant).matchOrder(orderId);
      await expect(fx.market.releaseBid(loser))
        .to.emit(fx.market, "BidReleased")
        .withArgs(loser, fx.provider2.address, ONE);
      expect(await balance(fx, fx.provider2)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
      await fx.market.connect(fx.provider1).acknowledge(orderId);
      expect(await balance(fx, fx.provider1)).to.deep.equal([PROVIDER_DEPOSIT, 0n]);
    });

    it("a charter keeps the start timeout in force at the match", async function () {
      const fx = await loadFixture(marketFixture);
      const { charterId, acknowledgeBy } = await pendingCharter(fx);
      await fx.market.connect(fx.owner).setStartTimeout(60);
      expect((await fx.market.charter(charterId)).acknowledgeBy).to.equal(acknowledgeBy);

      await nextBlockAt(acknowledgeBy);
      await expect(fx.market.connect(fx.provider1).acknowledge(charterId)).to.emit(fx.market, "CharterAcknowledged");
    });

    it("a charter keeps the protocol fee in force at the match", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.owner).setProtocolFee(100, fx.owner);
      const { charterId, acknowledgedAt } = await activeCharter(fx, 1_000n);
      await fx.market.connect(fx.owner).setProtocolFee(1_000, fx.owner);
      expect((await fx.market.charter(charterId)).feeBps).to.equal(100n);

      await nextBlockAt(acknowledgedAt + 100n);
      await expect(fx.market.claim(charterId))
        .to.emit(fx.market, "PaymentClaimed")
        .withArgs(charterId, fx.provider1.address, 99_000n, 1_000n);
      await nextBlockAt(acknowledgedAt + 200n);
      await expect(fx.market.connect(fx.tenant).closeCharter(charterId))
        .to.emit(fx.market, "CharterClosed")
        .withArgs(charterId, CloseReason.ClosedByTenant, 99_000n, 1_000n * 3_600n - 200_000n);
    });
  });
});
