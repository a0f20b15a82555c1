import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { Signature, ZeroAddress, ZeroHash } from "ethers";
import fc from "fast-check";
import { ProviderRegistry__factory } from "../typechain-types";
import {
  attribute,
  deployReentrantRegistryFixture,
  deployRegistryFixture,
  deployRegistryWithMarketFixture,
  MAX_UNBONDING_PERIOD,
  PROVIDER_FUNDS,
  UNBONDING_PERIOD,
} from "./fixtures/registry";

const ENDPOINT = "/ip4/10.0.0.1/tcp/4001/p2p/16Uiu2HAm https://alice.example:8443";
const OTHER_ENDPOINT = "/dns4/bob.example/tcp/4001 https://bob.example";
const REGION_EU = attribute("region=eu-west");
const REGION_US = attribute("region=us-east");
const TIER_GPU = attribute("tier=gpu");
const TIER_CPU = attribute("tier=cpu");
const MAX_ENDPOINT = 512;
const MAX_ATTRIBUTES = 32;
const UINT96_MAX = 2n ** 96n - 1n;
const UINT256_MAX = 2n ** 256n - 1n;
const E18 = 10n ** 18n;
const FUZZ_RUNS = Number(process.env.TOM3_FUZZ_RUNS ?? 100);

/** The documented reputation formula (docs/reputation.md), as the reference the contract is checked against. */
function reputationModel(stake: bigint, total: bigint, completed: bigint, failed: bigint): bigint {
  const history = ((completed + 5n) * 10_000n) / (completed + 3n * failed + 10n);
  return (7n * history + 3n * stakeScoreModel(stake, total)) / 10n;
}

function stakeScoreModel(stake: bigint, total: bigint): bigint {
  const held = stake < total ? stake : total;
  const shareBps = total === 0n ? 0n : (held * 10_000n) / total;
  return (shareBps * 11_000n) / (shareBps + 1_000n);
}

const attributesOf = (n: number): string[] => Array.from({ length: n }, (_, i) => attribute(`key${i}=value`));

/** alice registered with [eu, gpu], bob with [eu]; nobody staked. */
async function registeredFixture() {
  const base = await deployRegistryFixture();
  await base.registry.connect(base.alice).register(ENDPOINT, [REGION_EU, TIER_GPU]);
  await base.registry.connect(base.bob).register(OTHER_ENDPOINT, [REGION_EU]);
  return base;
}

/** registeredFixture with alice staking 300 TOM3 and bob 100 TOM3. */
async function stakedFixture() {
  const base = await registeredFixture();
  await base.registry.connect(base.alice).stake(300n * E18);
  await base.registry.connect(base.bob).stake(100n * E18);
  return base;
}

/** A MarketStub as Market (treasury = `treasury`); alice registered and staking 300 TOM3, bob registered. */
async function marketFixture() {
  const base = await deployRegistryWithMarketFixture();
  await base.registry.connect(base.alice).register(ENDPOINT, [REGION_EU]);
  await base.registry.connect(base.bob).register(OTHER_ENDPOINT, []);
  await base.registry.connect(base.alice).stake(300n * E18);
  return base;
}

describe("ProviderRegistry", function () {
  describe("deployment", function () {
    it("sets token, owner, unbonding period and the deployed Market", async function () {
      const { registry, token, owner, deployedMarket } = await loadFixture(deployRegistryFixture);
      expect(await registry.token()).to.equal(await token.getAddress());
      expect(await registry.owner()).to.equal(owner.address);
      expect(await registry.unbondingPeriod()).to.equal(UNBONDING_PERIOD);
      expect(await registry.market()).to.equal(await deployedMarket.getAddress());
      expect(await registry.totalStaked()).to.equal(0n);
    });

    it("emits UnbondingPeriodChanged with the initial period", async function () {
      const { token, owner } = await loadFixture(deployRegistryFixture);
      const fresh = await new ProviderRegistry__factory(owner).deploy(await token.getAddress(), owner.address, 3600n);
      await expect(fresh.deploymentTransaction()).to.emit(fresh, "UnbondingPeriodChanged").withArgs(3600n);
    });

    it("uses the EIP-712 domain TOM3 ProviderRegistry v1 and a block-number clock", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      const domain = await registry.eip712Domain();
      expect(domain.name).to.equal("TOM3 ProviderRegistry");
      expect(domain.version).to.equal("1");
      expect(await registry.CLOCK_MODE()).to.equal("mode=blocknumber&from=default");
      expect(await registry.clock()).to.equal(BigInt(await ethers.provider.getBlockNumber()));
    });

    describe("when the unbonding period is above 365 days", function () {
      it("reverts with ProviderRegistryInvalidParameter", async function () {
        const { token, owner } = await loadFixture(deployRegistryFixture);
        const factory = new ProviderRegistry__factory(owner);
        await expect(factory.deploy(await token.getAddress(), owner.address, MAX_UNBONDING_PERIOD + 1n))
          .to.be.revertedWithCustomError(factory, "ProviderRegistryInvalidParameter")
          .withArgs(MAX_UNBONDING_PERIOD + 1n);
      });
    });

    describe("when the initial owner is the zero address", function () {
      it("reverts with OwnableInvalidOwner", async function () {
        const { token, owner } = await loadFixture(deployRegistryFixture);
        const factory = new ProviderRegistry__factory(owner);
        await expect(factory.deploy(await token.getAddress(), ZeroAddress, UNBONDING_PERIOD))
          .to.be.revertedWithCustomError(factory, "OwnableInvalidOwner")
          .withArgs(ZeroAddress);
      });
    });
  });

  describe("register", function () {
    it("stores endpoint and attributes and emits ProviderRegistered", async function () {
      const { registry, alice } = await loadFixture(deployRegistryFixture);
      expect(await registry.isProvider(alice.address)).to.equal(false);
      await expect(registry.connect(alice).register(ENDPOINT, [REGION_EU, TIER_GPU]))
        .to.emit(registry, "ProviderRegistered")
        .withArgs(alice.address, ENDPOINT, [REGION_EU, TIER_GPU]);
      expect(await registry.isProvider(alice.address)).to.equal(true);
      expect(await registry.endpointOf(alice.address)).to.equal(ENDPOINT);
      expect(await registry.attributesOf(alice.address)).to.deep.equal([REGION_EU, TIER_GPU]);
      expect(await registry.hasAttributes(alice.address, [TIER_GPU, REGION_EU])).to.equal(true);
      expect(await registry.stakeOf(alice.address)).to.equal(0n);
    });

    it("accepts no attributes", async function () {
      const { registry, alice } = await loadFixture(deployRegistryFixture);
      await expect(registry.connect(alice).register(ENDPOINT, []))
        .to.emit(registry, "ProviderRegistered")
        .withArgs(alice.address, ENDPOINT, []);
      expect(await registry.attributesOf(alice.address)).to.deep.equal([]);
    });

    it("accepts a 512-byte endpoint and 32 attributes", async function () {
      const { registry, alice } = await loadFixture(deployRegistryFixture);
      const endpoint = "x".repeat(MAX_ENDPOINT);
      const attributes = attributesOf(MAX_ATTRIBUTES);
      await registry.connect(alice).register(endpoint, attributes);
      expect(await registry.endpointOf(alice.address)).to.equal(endpoint);
      expect(await registry.attributesOf(alice.address)).to.deep.equal(attributes);
      expect(await registry.hasAttributes(alice.address, attributes)).to.equal(true);
    });

    it("leaves other accounts unregistered", async function () {
      const { registry, bob, stranger } = await loadFixture(registeredFixture);
      expect(await registry.isProvider(bob.address)).to.equal(true);
      expect(await registry.isProvider(stranger.address)).to.equal(false);
      expect(await registry.endpointOf(stranger.address)).to.equal("");
      expect(await registry.attributesOf(stranger.address)).to.deep.equal([]);
    });

    describe("when the caller is already registered", function () {
      it("reverts with ProviderRegistryAlreadyRegistered", async function () {
        const { registry, alice } = await loadFixture(registeredFixture);
        await expect(registry.connect(alice).register(ENDPOINT, []))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryAlreadyRegistered")
          .withArgs(alice.address);
      });
    });

    describe("when the endpoint is empty", function () {
      it("reverts with ProviderRegistryEmptyEndpoint", async function () {
        const { registry, alice } = await loadFixture(deployRegistryFixture);
        await expect(registry.connect(alice).register("", [])).to.be.revertedWithCustomError(
          registry,
          "ProviderRegistryEmptyEndpoint",
        );
      });
    });

    describe("when the endpoint is longer than 512 bytes", function () {
      it("reverts with ProviderRegistryEndpointTooLong", async function () {
        const { registry, alice } = await loadFixture(deployRegistryFixture);
        // Length is counted in bytes: 171 three-byte characters are 513 bytes.
        await expect(registry.connect(alice).register("€".repeat(171), []))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryEndpointTooLong")
          .withArgs(513, MAX_ENDPOINT);
      });
    });

    describe("when there are more than 32 attributes", function () {
      it("reverts with ProviderRegistryTooManyAttributes", async function () {
        const { registry, alice } = await loadFixture(deployRegistryFixture);
        await expect(registry.connect(alice).register(ENDPOINT, attributesOf(MAX_ATTRIBUTES + 1)))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryTooManyAttributes")
          .withArgs(MAX_ATTRIBUTES + 1, MAX_ATTRIBUTES);
      });
    });

    describe("when an attribute is repeated", function () {
      it("reverts with ProviderRegistryDuplicateAttribute", async function () {
        const { registry, alice } = await loadFixture(deployRegistryFixture);
        await expect(registry.connect(alice).register(ENDPOINT, [REGION_EU, TIER_GPU, REGION_EU]))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryDuplicateAttribute")
          .withArgs(REGION_EU);
      });
    });
  });

  describe("update", function () {
    it("replaces endpoint and attributes and emits ProviderUpdated", async function () {
      const { registry, alice } = await loadFixture(registeredFixture);
      await expect(registry.connect(alice).update(OTHER_ENDPOINT, [TIER_GPU, REGION_US]))
        .to.emit(registry, "ProviderUpdated")
        .withArgs(alice.address, OTHER_ENDPOINT, [TIER_GPU, REGION_US]);
      expect(await registry.endpointOf(alice.address)).to.equal(OTHER_ENDPOINT);
      expect(await registry.attributesOf(alice.address)).to.deep.equal([TIER_GPU, REGION_US]);
      expect(await registry.hasAttributes(alice.address, [TIER_GPU, REGION_US])).to.equal(true);
      // Dropped attributes are no longer held, even though their old entries were never deleted.
      expect(await registry.hasAttributes(alice.address, [REGION_EU])).to.equal(false);
    });

    it("can shrink the attribute list to nothing and declare a dropped attribute again", async function () {
      const { registry, alice } = await loadFixture(registeredFixture);
      await registry.connect(alice).update(ENDPOINT, []);
      expect(await registry.attributesOf(alice.address)).to.deep.equal([]);
      expect(await registry.hasAttributes(alice.address, [REGION_EU])).to.equal(false);
      await registry.connect(alice).update(ENDPOINT, [REGION_EU]);
      expect(await registry.attributesOf(alice.address)).to.deep.equal([REGION_EU]);
      expect(await registry.hasAttributes(alice.address, [REGION_EU])).to.equal(true);
      expect(await registry.hasAttributes(alice.address, [TIER_GPU])).to.equal(false);
    });

    it("keeps stake and delivery history", async function () {
      const { registry, alice } = await loadFixture(stakedFixture);
      await registry.connect(alice).update(OTHER_ENDPOINT, []);
      expect(await registry.stakeOf(alice.address)).to.equal(300n * E18);
      expect(await registry.isProvider(alice.address)).to.equal(true);
    });

    describe("when the caller is not registered", function () {
      it("reverts with ProviderRegistryNotRegistered", async function () {
        const { registry, stranger } = await loadFixture(registeredFixture);
        await expect(registry.connect(stranger).update(ENDPOINT, []))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
          .withArgs(stranger.address);
      });
    });

    describe("when the endpoint is empty", function () {
      it("reverts with ProviderRegistryEmptyEndpoint", async function () {
        const { registry, alice } = await loadFixture(registeredFixture);
        await expect(registry.connect(alice).update("", [])).to.be.revertedWithCustomError(
          registry,
          "ProviderRegistryEmptyEndpoint",
        );
      });
    });

    describe("when the endpoint is longer than 512 bytes", function () {
      it("reverts with ProviderRegistryEndpointTooLong", async function () {
        const { registry, alice } = await loadFixture(registeredFixture);
        await expect(registry.connect(alice).update("x".repeat(MAX_ENDPOINT + 1), []))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryEndpointTooLong")
          .withArgs(MAX_ENDPOINT + 1, MAX_ENDPOINT);
      });
    });

    describe("when there are more than 32 attributes", function () {
      it("reverts with ProviderRegistryTooManyAttributes", async function () {
        const { registry, alice } = await loadFixture(registeredFixture);
        await expect(registry.connect(alice).update(ENDPOINT, attributesOf(40)))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryTooManyAttributes")
          .withArgs(40, MAX_ATTRIBUTES);
      });
    });

    describe("when an attribute is repeated", function () {
      it("reverts with ProviderRegistryDuplicateAttribute", async function () {
        const { registry, alice } = await loadFixture(registeredFixture);
        await expect(registry.connect(alice).update(ENDPOINT, [TIER_CPU, TIER_CPU]))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryDuplicateAttribute")
          .withArgs(TIER_CPU);
      });
    });
  });

  describe("hasAttributes and bidderStatus", function () {
    it("say whether every requested attribute is held", async function () {
      const { registry, alice } = await loadFixture(registeredFixture);
      expect(await registry.hasAttributes(alice.address, [])).to.equal(true);
      expect(await registry.hasAttributes(alice.address, [TIER_GPU])).to.equal(true);
      expect(await registry.hasAttributes(alice.address, [TIER_GPU, REGION_US])).to.equal(false);
    });

    it("return registration, reputation and the first missing attribute in one call", async function () {
      const { registry, alice } = await loadFixture(stakedFixture);
      const reputation = await registry.reputationOf(alice.address);
      expect(await registry.bidderStatus(alice.address, [REGION_EU, TIER_GPU])).to.deep.equal([
        true,
        reputation,
        true,
        ZeroHash,
      ]);
      expect(await registry.bidderStatus(alice.address, [REGION_EU, REGION_US, TIER_CPU])).to.deep.equal([
        true,
        reputation,
        false,
        REGION_US,
      ]);
      expect(await registry.bidderStatus(alice.address, [])).to.deep.equal([true, reputation, true, ZeroHash]);
    });

    describe("when the provider never registered", function () {
      it("holds no attribute, although its empty entries read like epoch 0", async function () {
        const { registry, stranger } = await loadFixture(registeredFixture);
        expect(await registry.hasAttributes(stranger.address, [REGION_EU])).to.equal(false);
        expect(await registry.hasAttributes(stranger.address, [])).to.equal(true);
        expect(await registry.bidderStatus(stranger.address, [TIER_CPU, REGION_EU])).to.deep.equal([
          false,
          3500n,
          false,
          TIER_CPU,
        ]);
      });
    });
  });

  describe("stake", function () {
    it("pulls the tokens, adds to stake and total and emits Staked", async function () {
      const { registry, token, alice } = await loadFixture(registeredFixture);
      const amount = 250n * E18;
      const tx = registry.connect(alice).stake(amount);
      await expect(tx).to.emit(registry, "Staked").withArgs(alice.address, amount, amount);
      await expect(tx)
        .to.emit(token, "Transfer")
        .withArgs(alice.address, await registry.getAddress(), amount);
      await expect(tx).to.changeTokenBalances(token, [alice, registry], [-amount, amount]);
      expect(await registry.stakeOf(alice.address)).to.equal(amount);
      expect(await registry.totalStaked()).to.equal(amount);
      expect(await registry.slashableStakeOf(alice.address)).to.equal(amount);
    });

    it("adds to an existing stake, and Staked carries the new stake", async function () {
      const { registry, alice, bob } = await loadFixture(stakedFixture);
      await expect(registry.connect(alice).stake(5n * E18))
        .to.emit(registry, "Staked")
        .withArgs(alice.address, 5n * E18, 305n * E18);
      expect(await registry.totalStaked()).to.equal(405n * E18);
      expect(await registry.stakeOf(bob.address)).to.equal(100n * E18);
    });

    it("makes a provider without delegate vote for itself on its first stake", async function () {
      const { registry, alice } = await loadFixture(registeredFixture);
      const tx = registry.connect(alice).stake(10n);
      await expect(tx).to.emit(registry, "DelegateChanged").withArgs(alice.address, ZeroAddress, alice.address);
      await expect(tx).to.emit(registry, "DelegateVotesChanged").withArgs(alice.address, 0n, 10n);
      expect(await registry.delegates(alice.address)).to.equal(alice.address);
      expect(await registry.getVotes(alice.address)).to.equal(10n);
      // Later stakes do not delegate again.
      await expect(registry.connect(alice).stake(5n)).not.to.emit(registry, "DelegateChanged");
      expect(await registry.getVotes(alice.address)).to.equal(15n);
    });

    it("keeps a delegate chosen before the first stake", async function () {
      const { registry, alice, carol } = await loadFixture(registeredFixture);
      await registry.connect(alice).delegate(carol.address);
      await expect(registry.connect(alice).stake(10n)).not.to.emit(registry, "DelegateChanged");
      expect(await registry.delegates(alice.address)).to.equal(carol.address);
      expect(await registry.getVotes(carol.address)).to.equal(10n);
      expect(await registry.getVotes(alice.address)).to.equal(0n);
    });

    it("does not undo a later choice to delegate to nobody", async function () {
      const { registry, alice } = await loadFixture(stakedFixture);
      await registry.connect(alice).delegate(ZeroAddress);
      expect(await registry.getVotes(alice.address)).to.equal(0n);
      await registry.connect(alice).stake(1n);
      expect(await registry.delegates(alice.address)).to.equal(ZeroAddress);
      expect(await registry.getVotes(alice.address)).to.equal(0n);
    });

    it("accepts a stake up to 2^96 - 1 wei", async function () {
      const { registry, alice } = await loadFixture(deployReentrantRegistryFixture);
      await registry.connect(alice).stake(UINT96_MAX);
      expect(await registry.stakeOf(alice.address)).to.equal(UINT96_MAX);
      expect(await registry.getVotes(alice.address)).to.equal(UINT96_MAX);
    });

    describe("when the amount is zero", function () {
      it("reverts with ProviderRegistryZeroAmount", async function () {
        const { registry, alice } = await loadFixture(registeredFixture);
        await expect(registry.connect(alice).stake(0n)).to.be.revertedWithCustomError(
          registry,
          "ProviderRegistryZeroAmount",
        );
      });
    });

    describe("when the caller is not registered", function () {
      it("reverts with ProviderRegistryNotRegistered", async function () {
        const { registry, carol } = await loadFixture(registeredFixture);
        await expect(registry.connect(carol).stake(1n))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryNotRegistered")
          .withArgs(carol.address);
      });
    });

    describe("when the stake would pass 2^96 - 1 wei", function () {
      it("reverts with ProviderRegistryStakeOverflow and the stake it would reach", async function () {
        const { registry, alice } = await loadFixture(deployReentrantRegistryFixture);
        await registry.connect(alice).stake(UINT96_MAX);
        await expect(registry.connect(alice).stake(1n))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryStakeOverflow")
          .withArgs(UINT96_MAX + 1n);
      });

      it("reports a saturated stake when the sum does not fit 256 bits", async function () {
        const { registry, alice } = await loadFixture(stakedFixture);
        await expect(registry.connect(alice).stake(UINT256_MAX))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryStakeOverflow")
          .withArgs(UINT256_MAX);
      });
    });

    describe("when the registry may not pull the tokens", function () {
      it("reverts with the token's ERC20InsufficientAllowance", async function () {
        const { registry, token, alice } = await loadFixture(registeredFixture);
        await token.connect(alice).approve(await registry.getAddress(), 1n);
        await expect(registry.connect(alice).stake(2n))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
          .withArgs(await registry.getAddress(), 1n, 2n);
      });
    });
  });

  describe("requestUnstake", function () {
    it("moves active stake to unbonding until now + unbondingPeriod and emits UnstakeRequested", async function () {
      const { registry, token, alice } = await loadFixture(stakedFixture);
      const now = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(now);
      const tx = registry.connect(alice).requestUnstake(100n * E18);
      await expect(tx)
        .to.emit(registry, "UnstakeRequested")
        .withArgs(alice.address, 100n * E18, 100n * E18, now + UNBONDING_PERIOD);
      await expect(tx).to.changeTokenBalances(token, [alice, registry], [0n, 0n]);
      expect(await registry.stakeOf(alice.address)).to.equal(200n * E18);
      expect(await registry.unbondingOf(alice.address)).to.deep.equal([100n * E18, now + UNBONDING_PERIOD]);
      expect(await registry.slashableStakeOf(alice.address)).to.equal(300n * E18);
      expect(await registry.totalStaked()).to.equal(300n * E18);
    });

    it("adds to what is unbonding and restarts the wait for all of it", async function () {
      const { registry, alice } = await loadFixture(stakedFixture);
      await registry.connect(alice).requestUnstake(100n * E18);
      const later = BigInt(await time.latest()) + 86_400n;
      await time.setNextBlockTimestamp(later);
      await expect(registry.connect(alice).requestUnstake(50n * E18))
        .to.emit(registry, "UnstakeRequested")
        .withArgs(alice.address, 50n * E18, 150n * E18, later + UNBONDING_PERIOD);
      expect(await registry.unbondingOf(alice.address)).to.deep.equal([150n * E18, later + UNBONDING_PERIOD]);
    });

    it("can unstake everything", async function () {
      const { registry, alice, bob } = await loadFixture(stakedFixture);
      await registry.connect(alice).requestUnstake(300n * E18);
      expect(await registry.stakeOf(alice.address)).to.equal(0n);
      expect(await registry.totalStaked()).to.equal(await registry.stakeOf(bob.address));
    });

    describe("when the amount is zero", function () {
      it("reverts with ProviderRegistryZeroAmount", async function () {
        const { registry, alice } = await loadFixture(stakedFixture);
        await expect(registry.connect(alice).requestUnstake(0n)).to.be.revertedWithCustomError(
          registry,
          "ProviderRegistryZeroAmount",
        );
      });
    });

    describe("when the amount is above the active stake", function () {
      it("reverts with ProviderRegistryInsufficientStake", async function () {
        const { registry, alice } = await loadFixture(stakedFixture);
        await expect(registry.connect(alice).requestUnstake(300n * E18 + 1n))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientStake")
          .withArgs(300n * E18, 300n * E18 + 1n);
      });

      it("counts stake already unbonding as gone", async function () {
        const { registry, alice } = await loadFixture(stakedFixture);
        await registry.connect(alice).requestUnstake(200n * E18);
        await expect(registry.connect(alice).requestUnstake(200n * E18))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientStake")
          .withArgs(100n * E18, 200n * E18);
      });
    });

    describe("when the caller has no stake", function () {
      it("reverts with ProviderRegistryInsufficientStake", async function () {
        const { registry, stranger } = await loadFixture(stakedFixture);
        await expect(registry.connect(stranger).requestUnstake(1n))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryInsufficientStake")
          .withArgs(0n, 1n);
      });
    });
  });

  describe("withdrawUnstaked", function () {
    /** stakedFixture with alice unbonding 100 TOM3; returns the release time. */
    async function unbondingFixture() {
      const base = await stakedFixture();
      await base.registry.connect(base.alice).requestUnstake(100n * E18);
      const [, releaseAt] = await base.registry.unbondingOf(base.alice.address);
      return { ...base, releaseAt };
    }

    it("returns the unbonded stake at the release time and emits UnstakeWithdrawn", async function () {
      const { registry, token, alice, releaseAt } = await loadFixture(unbondingFixture);
      await time.setNextBlockTimestamp(releaseAt);
      const tx = registry.connect(alice).withdrawUnstaked();
      await expect(tx)
        .to.emit(registry, "UnstakeWithdrawn")
        .withArgs(alice.address, 100n * E18);
      await expect(tx)
        .to.emit(token, "Transfer")
        .withArgs(await registry.getAddress(), alice.address, 100n * E18);
      await expect(tx).to.changeTokenBalances(token, [alice, registry], [100n * E18, -100n * E18]);
      expect(await registry.unbondingOf(alice.address)).to.deep.equal([0n, 0n]);
      expect(await registry.stakeOf(alice.address)).to.equal(200n * E18);
      expect(await registry.slashableStakeOf(alice.address)).to.equal(200n * E18);
    });

    it("keeps the release time of earlier requests when governance changes the period", async function () {
      const { registry, owner, alice, releaseAt } = await loadFixture(unbondingFixture);
      await registry.connect(owner).setUnbondingPeriod(MAX_UNBONDING_PERIOD);
      expect((await registry.unbondingOf(alice.address))[1]).to.equal(releaseAt);
      await time.setNextBlockTimestamp(releaseAt);
      await expect(registry.connect(alice).withdrawUnstaked()).to.emit(registry, "UnstakeWithdrawn");
    });

    describe("when nothing is unbonding", function () {
      it("reverts with ProviderRegistryNothingUnbonding", async function () {
        const { registry, bob } = await loadFixture(unbondingFixture);
        await expect(registry.connect(bob).withdrawUnstaked())
          .to.be.revertedWithCustomError(registry, "ProviderRegistryNothingUnbonding")
          .withArgs(bob.address);
      });

      it("reverts once the unbonded stake was withdrawn", async function () {
        const { registry, alice, releaseAt } = await loadFixture(unbondingFixture);
        await time.increaseTo(releaseAt);
        await registry.connect(alice).withdrawUnstaked();
        await expect(registry.connect(alice).withdrawUnstaked())
          .to.be.revertedWithCustomError(registry, "ProviderRegistryNothingUnbonding")
          .withArgs(alice.address);
      });
    });

    describe("when the unbonding period is not over", function () {
      it("reverts with ProviderRegistryUnbondingNotOver", async function () {
        const { registry, alice, releaseAt } = await loadFixture(unbondingFixture);
        await time.setNextBlockTimestamp(releaseAt - 1n);
        await expect(registry.connect(alice).withdrawUnstaked())
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnbondingNotOver")
          .withArgs(releaseAt, releaseAt - 1n);
      });
    });
  });

  describe("slash", function () {
    describe("by the owner, with no Market set", function () {
      it("takes active stake, sends it to the owner and emits Slashed", async function () {
        const { registry, token, owner, alice } = await loadFixture(stakedFixture);
        expect(await registry.connect(owner).slash.staticCall(alice.address, 30n * E18)).to.equal(30n * E18);
        const tx = registry.connect(owner).slash(alice.address, 30n * E18);
        await expect(tx)
          .to.emit(registry, "Slashed")
          .withArgs(alice.address, 30n * E18, owner.address);
        await expect(tx).to.changeTokenBalances(token, [registry, owner], [-30n * E18, 30n * E18]);
        expect(await registry.stakeOf(alice.address)).to.equal(270n * E18);
        expect(await registry.totalStaked()).to.equal(370n * E18);
        expect(await registry.getVotes(alice.address)).to.equal(270n * E18);
      });
    });

    describe("by the Market", function () {
      it("sends the slashed stake to the Market's treasury", async function () {
        const { registry, token, market, alice, treasury } = await loadFixture(marketFixture);
        const tx = market.slash(alice.address, 10n * E18);
        await expect(tx)
          .to.emit(registry, "Slashed")
          .withArgs(alice.address, 10n * E18, treasury.address);
        await expect(tx).to.changeTokenBalances(token, [registry, treasury], [-10n * E18, 10n * E18]);
      });

      it("falls back to the owner when the Market names no treasury", async function () {
        const { registry, token, market, owner, alice } = await loadFixture(marketFixture);
        await market.setTreasury(ZeroAddress);
        const tx = market.slash(alice.address, 10n * E18);
        await expect(tx)
          .to.emit(registry, "Slashed")
          .withArgs(alice.address, 10n * E18, owner.address);
        await expect(tx).to.changeTokenBalances(token, [registry, owner], [-10n * E18, 10n * E18]);
      });

      it("lets the owner slash too, towards the Market's treasury", async function () {
        const { registry, owner, alice, treasury } = await loadFixture(marketFixture);
        await expect(registry.connect(owner).slash(alice.address, 1n))
          .to.emit(registry, "Slashed")
          .withArgs(alice.address, 1n, treasury.address);
      });
    });

    it("takes active stake first, then unbonding stake", async function () {
      const { registry, token, owner, alice } = await loadFixture(stakedFixture);
      await registry.connect(alice).requestUnstake(200n * E18);
      const [, releaseAt] = await registry.unbondingOf(alice.address);
      const tx = registry.connect(owner).slash(alice.address, 150n * E18);
      await expect(tx)
        .to.emit(registry, "Slashed")
        .withArgs(alice.address, 150n * E18, owner.address);
      await expect(tx).to.changeTokenBalances(token, [registry, owner], [-150n * E18, 150n * E18]);
      expect(await registry.stakeOf(alice.address)).to.equal(0n);
      expect(await registry.unbondingOf(alice.address)).to.deep.equal([150n * E18, releaseAt]);
      expect(await registry.totalStaked()).to.equal(100n * E18);
      expect(await registry.getVotes(alice.address)).to.equal(0n);
    });

    it("takes only unbonding stake when nothing is active, even after the release time", async function () {
      const { registry, owner, alice } = await loadFixture(stakedFixture);
      await registry.connect(alice).requestUnstake(300n * E18);
      await time.increase(UNBONDING_PERIOD + 1n);
      await expect(registry.connect(owner).slash(alice.address, 20n * E18))
        .to.emit(registry, "Slashed")
        .withArgs(alice.address, 20n * E18, owner.address);
      expect((await registry.unbondingOf(alice.address))[0]).to.equal(280n * E18);
      expect(await registry.totalStaked()).to.equal(100n * E18);
      await expect(registry.connect(alice).withdrawUnstaked())
        .to.emit(registry, "UnstakeWithdrawn")
        .withArgs(alice.address, 280n * E18);
    });

    it("takes at most what the provider holds and returns it", async function () {
      const { registry, token, owner, alice } = await loadFixture(stakedFixture);
      await registry.connect(alice).requestUnstake(100n * E18);
      expect(await registry.connect(owner).slash.staticCall(alice.address, UINT256_MAX)).to.equal(300n * E18);
      const tx = registry.connect(owner).slash(alice.address, UINT256_MAX);
      await expect(tx)
        .to.emit(registry, "Slashed")
        .withArgs(alice.address, 300n * E18, owner.address);
      await expect(tx).to.changeTokenBalances(token, [registry, owner], [-300n * E18, 300n * E18]);
      expect(await registry.slashableStakeOf(alice.address)).to.equal(0n);
      await expect(registry.connect(alice).withdrawUnstaked())
        .to.be.revertedWithCustomError(registry, "ProviderRegistryNothingUnbonding")
        .withArgs(alice.address);
    });

    describe("when the provider holds nothing", function () {
      it("returns 0 without transfer or event", async function () {
        const { registry, token, owner, carol } = await loadFixture(stakedFixture);
        expect(await registry.connect(owner).slash.staticCall(carol.address, 5n)).to.equal(0n);
        const tx = registry.connect(owner).slash(carol.address, 5n);
        await expect(tx).not.to.emit(registry, "Slashed");
        await expect(tx).not.to.emit(token, "Transfer");
      });
    });

    describe("when the amount is zero", function () {
      it("returns 0 without transfer or event", async function () {
        const { registry, token, owner, alice } = await loadFixture(stakedFixture);
        const tx = registry.connect(owner).slash(alice.address, 0n);
        await expect(tx).not.to.emit(registry, "Slashed");
        await expect(tx).not.to.emit(token, "Transfer");
        expect(await registry.stakeOf(alice.address)).to.equal(300n * E18);
      });
    });

    describe("when the caller is neither the owner nor the Market", function () {
      it("reverts with ProviderRegistryUnauthorized", async function () {
        const { registry, alice, stranger } = await loadFixture(marketFixture);
        await expect(registry.connect(stranger).slash(alice.address, 1n))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorized")
          .withArgs(stranger.address);
        // A provider cannot slash itself either (it would gain nothing, but nobody else's role is its own).
        await expect(registry.connect(alice).slash(alice.address, 1n))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorized")
          .withArgs(alice.address);
      });
    });

    describe("when the caller is a Market that was replaced", function () {
      it("reverts with ProviderRegistryUnauthorized", async function () {
        const { registry, market, owner, alice } = await loadFixture(marketFixture);
        await registry.connect(owner).setMarket(ZeroAddress);
        await expect(market.slash(alice.address, 1n))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorized")
          .withArgs(await market.getAddress());
      });
    });
  });

  describe("recordDelivery", function () {
    it("counts a completed charter and emits DeliveryRecorded", async function () {
      const { registry, market, alice } = await loadFixture(marketFixture);
      await expect(market.recordDelivery(alice.address, true))
        .to.emit(registry, "DeliveryRecorded")
        .withArgs(alice.address, true, 1, 0);
      await expect(market.recordDelivery(alice.address, true))
        .to.emit(registry, "DeliveryRecorded")
        .withArgs(alice.address, true, 2, 0);
      expect(await registry.deliveryOf(alice.address)).to.deep.equal([2n, 0n]);
    });

    it("counts a failed charter and emits DeliveryRecorded", async function () {
      const { registry, market, alice } = await loadFixture(marketFixture);
      await market.recordDelivery(alice.address, true);
      await expect(market.recordDelivery(alice.address, false))
        .to.emit(registry, "DeliveryRecorded")
        .withArgs(alice.address, false, 1, 1);
      expect(await registry.deliveryOf(alice.address)).to.deep.equal([1n, 1n]);
    });

    it("moves reputation: up with completed charters, down with failures", async function () {
      const { registry, market, alice } = await loadFixture(marketFixture);
      const before = await registry.reputationOf(alice.address);
      await market.recordDelivery(alice.address, true);
      const afterCompleted = await registry.reputationOf(alice.address);
      await market.recordDelivery(alice.address, false);
      const afterFailed = await registry.reputationOf(alice.address);
      expect(afterCompleted).to.be.greaterThan(before);
      expect(afterFailed).to.be.lessThan(afterCompleted);
    });

    describe("when the caller is not the Market", function () {
      it("reverts with ProviderRegistryUnauthorized, even for the owner", async function () {
        const { registry, owner, alice, stranger } = await loadFixture(marketFixture);
        await expect(registry.connect(owner).recordDelivery(alice.address, true))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorized")
          .withArgs(owner.address);
        await expect(registry.connect(stranger).recordDelivery(alice.address, false))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorized")
          .withArgs(stranger.address);
      });
    });

    describe("when no Market is set", function () {
      it("reverts with ProviderRegistryUnauthorized", async function () {
        const { registry, owner, alice } = await loadFixture(stakedFixture);
        await expect(registry.connect(owner).recordDelivery(alice.address, true))
          .to.be.revertedWithCustomError(registry, "ProviderRegistryUnauthorized")
          .withArgs(owner.address);
      });
    });
  });

  describe("reputation", function () {
    it("gives a new provider without stake the neutral history score only: 0.7 * 5000", async function () {
      const { registry, alice, stranger } = await loadFixture(registeredFixture);
      expect(await registry.reputationOf(alice.address)).to.equal(3500n);
      expect(await registry.reputationOf(stranger.address)).to.equal(3500n);
    });

    it("gives the sole staker the full stake score: 0.7 * 5000 + 0.3 * 10000", async function () {
      const { registry, alice } = await loadFixture(registeredFixture);
      await registry.connect(alice).stake(1n);
      expect(await registry.reputationOf(alice.address)).to.equal(6500n);
    });

    it("follows the documented formula from stake share and history", async function () {
      const { registry, market, alice, bob } = await loadFixture(marketFixture);
      await registry.connect(bob).stake(2_700n * E18); // alice: 300 of 3000 = 10% share, stake score 5500
      expect(await registry.reputationOf(alice.address)).to.equal((7n * 5000n + 3n * 5500n) / 10n);
      for (const completed of [true, true, true, false, true]) await market.recordDelivery(alice.address, completed);
      // history = (4 + 5) * 10000 / (4 + 3 + 10) = 5294
      expect(await registry.reputationOf(alice.address)).to.equal((7n * 5294n + 3n * 5500n) / 10n);
      expect(await registry.reputationOf(alice.address)).to.equal(
        await registry.reputationFormula(300n * E18, 3_000n * E18, 4, 1),
      );
    });

    it("pins the formula at known points", async function () {
      const { registry } = await loadFixture(deployRegistryFixture);
      const cases: [bigint, bigint, number, number, bigint][] = [
        [0n, 0n, 0, 0, 3500n],
        [1n, 1n, 0, 0, 6500n],
        [1n, 10n, 0, 0, 5150n],
        [0n, 0n, 0, 1, 2692n], // history 50000 / 13 = 3846
        [0n, 0n, 2 ** 32 - 1, 0, 6999n],
        [0n, 0n, 0, 2 ** 32 - 1, 0n],
        [5n, 1n, 0, 0, 6500n], // a stake above the total counts as the total
        [UINT256_MAX, UINT256_MAX, 2 ** 32 - 1, 0, 9999n],
      ];
      for (const [stake, total, completed, failed, expected] of cases) {
        expect(await registry.reputationFormula(stake, total, completed, failed)).to.equal(
          expected,
          `formula(${stake}, ${total}, ${completed}, ${failed})`,
        );
        expect(reputationModel(stake, total, BigInt(completed), BigInt(failed))).to.equal(expected);
      }
    });

    describe("properties (fast-check)", function () {
      const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
      const smallCount = fc.integer({ min: 0, max: 10_000 });
      const stake = fc.bigInt({ min: 0n, max: UINT96_MAX });
      const others = fc.bigInt({ min: 0n, max: 2n ** 200n });

      it("matches the documented model and stays within 0..10000", async function () {
        const { registry } = await loadFixture(deployRegistryFixture);
        await fc.assert(
          fc.asyncProperty(stake, others, uint32, uint32, async (s, rest, completed, failed) => {
            const got = await registry.reputationFormula(s, s + rest, completed, failed);
            expect(got).to.equal(reputationModel(s, s + rest, BigInt(completed), BigInt(failed)));
            expect(got >= 0n && got <= 10_000n).to.equal(true);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });

      it("gives no history a neutral 5000 history score, whatever the stake", async function () {
        const { registry } = await loadFixture(deployRegistryFixture);
        await fc.assert(
          fc.asyncProperty(stake, others, async (s, rest) => {
            expect(await registry.reputationFormula(0n, rest, 0, 0)).to.equal(3500n); // 0.7 * 5000
            expect(await registry.reputationFormula(s, s + rest, 0, 0)).to.equal(
              (7n * 5000n + 3n * stakeScoreModel(s, s + rest)) / 10n,
            );
          }),
          { numRuns: FUZZ_RUNS },
        );
      });

      it("never decreases when the provider stakes more (the total grows with it)", async function () {
        const { registry } = await loadFixture(deployRegistryFixture);
        await fc.assert(
          fc.asyncProperty(stake, stake, others, uint32, uint32, async (a, b, rest, completed, failed) => {
            const [low, high] = a <= b ? [a, b] : [b, a];
            const before = await registry.reputationFormula(low, low + rest, completed, failed);
            const after = await registry.reputationFormula(high, high + rest, completed, failed);
            expect(after).to.be.at.least(before);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });

      it("never decreases with more completed charters", async function () {
        const { registry } = await loadFixture(deployRegistryFixture);
        await fc.assert(
          fc.asyncProperty(stake, others, uint32, uint32, uint32, async (s, rest, c1, c2, failed) => {
            const [low, high] = c1 <= c2 ? [c1, c2] : [c2, c1];
            const before = await registry.reputationFormula(s, s + rest, low, failed);
            const after = await registry.reputationFormula(s, s + rest, high, failed);
            expect(after).to.be.at.least(before);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });

      it("never increases with more failures", async function () {
        const { registry } = await loadFixture(deployRegistryFixture);
        await fc.assert(
          fc.asyncProperty(stake, others, uint32, uint32, uint32, async (s, rest, completed, f1, f2) => {
            const [low, high] = f1 <= f2 ? [f1, f2] : [f2, f1];
            const before = await registry.reputationFormula(s, s + rest, completed, low);
            const after = await registry.reputationFormula(s, s + rest, completed, high);
            expect(after).to.be.at.most(before);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });

      it("strictly decreases with each failure while completed <= 10000 and failed < 50", async function () {
        // Integer rounding: beyond that range one failure can move the history score by less than the
        // 2 points needed to move the rounded reputation (docs/reputation.md, "Properties").
        const { registry } = await loadFixture(deployRegistryFixture);
        await fc.assert(
          fc.asyncProperty(
            stake,
            others,
            smallCount,
            fc.integer({ min: 0, max: 49 }),
            async (s, rest, completed, failed) => {
              const before = await registry.reputationFormula(s, s + rest, completed, failed);
              const after = await registry.reputationFormula(s, s + rest, completed, failed + 1);
              expect(after).to.be.lessThan(before);
            },
          ),
          { numRuns: FUZZ_RUNS },
        );
      });

      it("reputationOf follows stake and recorded deliveries on chain", async function () {
        await fc.assert(
          fc.asyncProperty(
            // Within what each holds (PROVIDER_FUNDS, of which alice's 300 TOM3 are unbonding).
            fc.bigInt({ min: 0n, max: PROVIDER_FUNDS - 300n * E18 }),
            fc.bigInt({ min: 0n, max: PROVIDER_FUNDS }),
            fc.array(fc.boolean(), { maxLength: 8 }),
            async (aliceStake, bobStake, outcomes) => {
              const { registry, market, alice, bob } = await loadFixture(marketFixture);
              await registry.connect(alice).requestUnstake(300n * E18);
              if (aliceStake > 0n) await registry.connect(alice).stake(aliceStake);
              if (bobStake > 0n) await registry.connect(bob).stake(bobStake);
              for (const completed of outcomes) await market.recordDelivery(alice.address, completed);
              const completed = BigInt(outcomes.filter((o) => o).length);
              const failed = BigInt(outcomes.length) - completed;
              expect(await registry.deliveryOf(alice.address)).to.deep.equal([completed, failed]);
              expect(await registry.totalStaked()).to.equal(aliceStake + bobStake);
              expect(await registry.reputationOf(alice.address)).to.equal(
                reputationModel(aliceStake, aliceStake + bobStake, completed, failed),
              );
            },
          ),
          { numRuns: Math.min(FUZZ_RUNS, 25) },
        );
      });
    });
  });

  describe("votes", function () {
    it("gives active stake as voting power after self-delegation and tracks the total", async function () {
      const { registry, alice, bob } = await loadFixture(stakedFixture);
      expect(await registry.getVotes(alice.address)).to.equal(300n * E18);
      expect(await registry.getVotes(bob.address)).to.equal(100n * E18);
      await mine();
      const block = BigInt(await ethers.provider.getBlockNumber()) - 1n;
      expect(await registry.getPastTotalSupply(block)).to.equal(400n * E18);
      expect(await registry.getPastVotes(alice.address, block)).to.equal(300n * E18);
    });

    it("removes voting power as soon as stake is requested for unstaking", async function () {
      const { registry, alice } = await loadFixture(stakedFixture);
      await expect(registry.connect(alice).requestUnstake(120n * E18))
        .to.emit(registry, "DelegateVotesChanged")
        .withArgs(alice.address, 300n * E18, 180n * E18);
      expect(await registry.getVotes(alice.address)).to.equal(180n * E18);
      await mine();
      expect(await registry.getPastTotalSupply((await ethers.provider.getBlockNumber()) - 1)).to.equal(280n * E18);
    });

    it("moves voting power to another address on delegate, and new stake follows it", async function () {
      const { registry, alice, carol } = await loadFixture(stakedFixture);
      await expect(registry.connect(alice).delegate(carol.address))
        .to.emit(registry, "DelegateChanged")
        .withArgs(alice.address, alice.address, carol.address);
      expect(await registry.getVotes(alice.address)).to.equal(0n);
      expect(await registry.getVotes(carol.address)).to.equal(300n * E18);
      await registry.connect(alice).stake(10n * E18);
      expect(await registry.getVotes(carol.address)).to.equal(310n * E18);
      await registry.connect(alice).requestUnstake(60n * E18);
      expect(await registry.getVotes(carol.address)).to.equal(250n * E18);
    });

    it("takes slashed stake out of the delegate's votes", async function () {
      const { registry, owner, alice, carol } = await loadFixture(stakedFixture);
      await registry.connect(alice).delegate(carol.address);
      await registry.connect(owner).slash(alice.address, 50n * E18);
      expect(await registry.getVotes(carol.address)).to.equal(250n * E18);
    });

    it("keeps past checkpoints: stake added after a block does not vote at that block", async function () {
      const { registry, alice } = await loadFixture(stakedFixture);
      const snapshot = await ethers.provider.getBlockNumber();
      await registry.connect(alice).stake(1n);
      await mine();
      expect(await registry.getPastVotes(alice.address, snapshot)).to.equal(300n * E18);
      expect(await registry.getVotes(alice.address)).to.equal(300n * E18 + 1n);
    });

    it("accepts a delegation signed off chain (delegateBySig)", async function () {
      const { registry, alice, carol, stranger } = await loadFixture(stakedFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const expiry = BigInt(await time.latest()) + 3600n;
      const nonce = await registry.nonces(alice.address);
      const signature = Signature.from(
        await alice.signTypedData(
          { name: "TOM3 ProviderRegistry", version: "1", chainId, verifyingContract: await registry.getAddress() },
          {
            Delegation: [
              { name: "delegatee", type: "address" },
              { name: "nonce", type: "uint256" },
              { name: "expiry", type: "uint256" },
            ],
          },
          { delegatee: carol.address, nonce, expiry },
        ),
      );
      await expect(
        registry.connect(stranger).delegateBySig(carol.address, nonce, expiry, signature.v, signature.r, signature.s),
      )
        .to.emit(registry, "DelegateChanged")
        .withArgs(alice.address, alice.address, carol.address);
      expect(await registry.getVotes(carol.address)).to.equal(300n * E18);
    });

    describe("when a past timepoint is not yet past", function () {
      it("reverts with ERC5805FutureLookup", async function () {
        const { registry, alice } = await loadFixture(stakedFixture);
        const now = await ethers.provider.getBlockNumber();
        await expect(registry.getPastVotes(alice.address, now + 1))
          .to.be.revertedWithCustomError(registry, "ERC5805FutureLookup")
          .withArgs(now + 1, anyValue);
      });
    });
  });

  describe("parameters", function () {
    describe("setUnbondingPeriod", function () {
      it("sets the period and emits UnbondingPeriodChanged", async function () {
        const { registry, owner } = await loadFixture(deployRegistryFixture);
        await expect(registry.connect(owner).setUnbondingPeriod(MAX_UNBONDING_PERIOD))
          .to.emit(registry, "UnbondingPeriodChanged")
          .withArgs(MAX_UNBONDING_PERIOD);
        expect(await registry.unbondingPeriod()).to.equal(MAX_UNBONDING_PERIOD);
        await registry.connect(owner).setUnbondingPeriod(0n);
        expect(await registry.unbondingPeriod()).to.equal(0n);
      });

      it("applies to requests made afterwards", async function () {
        const { registry, owner, alice } = await loadFixture(stakedFixture);
        await registry.connect(owner).setUnbondingPeriod(60n);
        const now = BigInt(await time.latest()) + 5n;
        await time.setNextBlockTimestamp(now);
        await registry.connect(alice).requestUnstake(1n);
        expect((await registry.unbondingOf(alice.address))[1]).to.equal(now + 60n);
      });

      describe("when the period is above 365 days", function () {
        it("reverts with ProviderRegistryInvalidParameter", async function () {
          const { registry, owner } = await loadFixture(deployRegistryFixture);
          await expect(registry.connect(owner).setUnbondingPeriod(MAX_UNBONDING_PERIOD + 1n))
            .to.be.revertedWithCustomError(registry, "ProviderRegistryInvalidParameter")
            .withArgs(MAX_UNBONDING_PERIOD + 1n);
        });
      });

      describe("when the caller is not the owner", function () {
        it("reverts with OwnableUnauthorizedAccount", async function () {
          const { registry, stranger } = await loadFixture(deployRegistryFixture);
          await expect(registry.connect(stranger).setUnbondingPeriod(1n))
            .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
            .withArgs(stranger.address);
        });
      });
    });

    describe("setMarket", function () {
      it("sets the Market and emits MarketChanged", async function () {
        const { registry, owner, stranger } = await loadFixture(deployRegistryFixture);
        await expect(registry.connect(owner).setMarket(stranger.address))
          .to.emit(registry, "MarketChanged")
          .withArgs(stranger.address);
        expect(await registry.market()).to.equal(stranger.address);
        await expect(registry.connect(owner).setMarket(ZeroAddress))
          .to.emit(registry, "MarketChanged")
          .withArgs(ZeroAddress);
        expect(await registry.market()).to.equal(ZeroAddress);
      });

      describe("when the caller is not the owner", function () {
        it("reverts with OwnableUnauthorizedAccount", async function () {
          const { registry, stranger } = await loadFixture(deployRegistryFixture);
          await expect(registry.connect(stranger).setMarket(stranger.address))
            .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
            .withArgs(stranger.address);
        });
      });
    });

    describe("ownership (two-step)", function () {
      it("hands over only when the new owner accepts", async function () {
        const { registry, owner, stranger } = await loadFixture(deployRegistryFixture);
        await expect(registry.connect(owner).transferOwnership(stranger.address))
          .to.emit(registry, "OwnershipTransferStarted")
          .withArgs(owner.address, stranger.address);
        expect(await registry.owner()).to.equal(owner.address);
        expect(await registry.pendingOwner()).to.equal(stranger.address);
        await expect(registry.connect(stranger).acceptOwnership())
          .to.emit(registry, "OwnershipTransferred")
          .withArgs(owner.address, stranger.address);
        await expect(registry.connect(owner).setMarket(owner.address))
          .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
          .withArgs(owner.address);
      });

      describe("when someone other than the pending owner accepts", function () {
        it("reverts with OwnableUnauthorizedAccount", async function () {
          const { registry, owner, alice, stranger } = await loadFixture(deployRegistryFixture);
          await registry.connect(owner).transferOwnership(stranger.address);
          await expect(registry.connect(alice).acceptOwnership())
            .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
            .withArgs(alice.address);
        });
      });

      describe("when the caller of transferOwnership is not the owner", function () {
        it("reverts with OwnableUnauthorizedAccount", async function () {
          const { registry, stranger } = await loadFixture(deployRegistryFixture);
          await expect(registry.connect(stranger).transferOwnership(stranger.address))
            .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
            .withArgs(stranger.address);
        });
      });
    });
  });

  describe("reentrancy", function () {
    it("lets the test token call back when the callback is harmless (control)", async function () {
      const { registry, token, alice } = await loadFixture(deployReentrantRegistryFixture);
      await token.arm(await registry.getAddress(), registry.interface.encodeFunctionData("totalStaked"));
      await expect(registry.connect(alice).stake(10n)).to.emit(registry, "Staked").withArgs(alice.address, 10n, 10n);
    });

    describe("when the token reenters stake from transferFrom", function () {
      it("reverts with ReentrancyGuardReentrantCall", async function () {
        const { registry, token, alice } = await loadFixture(deployReentrantRegistryFixture);
        await token.arm(await registry.getAddress(), registry.interface.encodeFunctionData("stake", [1n]));
        await expect(registry.connect(alice).stake(10n)).to.be.revertedWithCustomError(
          registry,
          "ReentrancyGuardReentrantCall",
        );
        expect(await registry.stakeOf(alice.address)).to.equal(0n);
      });
    });

    describe("when the token reenters withdrawUnstaked from transfer", function () {
      it("reverts with ReentrancyGuardReentrantCall", async function () {
        const { registry, token, alice } = await loadFixture(deployReentrantRegistryFixture);
        await registry.connect(alice).stake(10n);
        await registry.connect(alice).requestUnstake(10n);
        await time.increase(UNBONDING_PERIOD);
        await token.arm(await registry.getAddress(), registry.interface.encodeFunctionData("withdrawUnstaked"));
        await expect(registry.connect(alice).withdrawUnstaked()).to.be.revertedWithCustomError(
          registry,
          "ReentrancyGuardReentrantCall",
        );
        expect((await registry.unbondingOf(alice.address))[0]).to.equal(10n);
      });
    });

    describe("when the token reenters slash from transfer", function () {
      it("reverts with ReentrancyGuardReentrantCall", async function () {
        const { registry, token, owner, alice } = await loadFixture(deployReentrantRegistryFixture);
        await registry.connect(alice).stake(10n);
        await token.arm(
          await registry.getAddress(),
          registry.interface.encodeFunctionData("slash", [alice.address, 1n]),
        );
        await expect(registry.connect(owner).slash(alice.address, 5n)).to.be.revertedWithCustomError(
          registry,
          "ReentrancyGuardReentrantCall",
        );
        expect(await registry.stakeOf(alice.address)).to.equal(10n);
      });
    });
  });
});
