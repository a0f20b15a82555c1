import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { id, ZeroAddress } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { TOM3Governor__factory } from "../../typechain-types";
import { deployGovernanceFixture, GOVERNANCE, UNBONDING_PERIOD } from "../fixtures/registry";

const E18 = 10n ** 18n;
const THREE_DAYS = 3n * 24n * 3600n;

/** Governor.ProposalState */
const State = {
  Pending: 0n,
  Active: 1n,
  Canceled: 2n,
  Defeated: 3n,
  Succeeded: 4n,
  Queued: 5n,
  Expired: 6n,
  Executed: 7n,
};
/** GovernorCountingSimple.VoteType */
const Vote = { Against: 0, For: 1, Abstain: 2 };

/** Stakes alice 100k, bob 200k, carol 300k TOM3 and dave 1,000 TOM3 (exactly the proposal threshold). */
async function stakedFixture() {
  const base = await deployGovernanceFixture();
  const stakes: [HardhatEthersSigner, bigint][] = [
    [base.alice, 100_000n * E18],
    [base.bob, 200_000n * E18],
    [base.carol, 300_000n * E18],
    [base.dave, GOVERNANCE.proposalThreshold],
  ];
  for (const [provider, amount] of stakes) {
    await base.registry.connect(provider).register(`/dns4/${provider.address}.example/tcp/4001`, []);
    await base.registry.connect(provider).stake(amount);
  }
  await mine(); // stake checkpoints must be in a past block to count
  const targets = [await base.registry.getAddress()];
  const values = [0n];
  const calldatas = [base.registry.interface.encodeFunctionData("setUnbondingPeriod", [THREE_DAYS])];
  const description = "Shorten the unbonding period to 3 days";
  const proposal = { targets, values, calldatas, description, descriptionHash: id(description) };
  const proposalId = await base.governor.hashProposal(targets, values, calldatas, proposal.descriptionHash);
  return { ...base, proposal, proposalId };
}

describe("TOM3Governor", function () {
  describe("deployment", function () {
    it("is wired to the registry's stake and the timelock", async function () {
      const { governor, registry, timelock } = await loadFixture(deployGovernanceFixture);
      expect(await governor.name()).to.equal("TOM3 Governor");
      expect(await governor.token()).to.equal(await registry.getAddress());
      expect(await governor.timelock()).to.equal(await timelock.getAddress());
      expect(await governor.votingDelay()).to.equal(GOVERNANCE.votingDelay);
      expect(await governor.votingPeriod()).to.equal(GOVERNANCE.votingPeriod);
      expect(await governor.proposalThreshold()).to.equal(GOVERNANCE.proposalThreshold);
      expect(await governor["quorumNumerator()"]()).to.equal(GOVERNANCE.quorumPercent);
      expect(await governor.CLOCK_MODE()).to.equal(await registry.CLOCK_MODE());
      expect(await governor.clock()).to.equal(await registry.clock());
    });

    it("leaves the timelock owning the registry, the governor proposing, anyone executing and no admin", async function () {
      const { governor, registry, timelock, deployer } = await loadFixture(deployGovernanceFixture);
      expect(await registry.owner()).to.equal(await timelock.getAddress());
      expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), await governor.getAddress())).to.equal(true);
      expect(await timelock.hasRole(await timelock.CANCELLER_ROLE(), await governor.getAddress())).to.equal(true);
      expect(await timelock.hasRole(await timelock.EXECUTOR_ROLE(), ZeroAddress)).to.equal(true);
      expect(await timelock.hasRole(await timelock.DEFAULT_ADMIN_ROLE(), deployer.address)).to.equal(false);
      expect(await timelock.getMinDelay()).to.equal(GOVERNANCE.minDelay);
    });

    describe("when the voting period is zero", function () {
      it("reverts with GovernorInvalidVotingPeriod", async function () {
        const { registry, timelock, deployer } = await loadFixture(deployGovernanceFixture);
        const factory = new TOM3Governor__factory(deployer);
        await expect(factory.deploy(await registry.getAddress(), await timelock.getAddress(), 1n, 0n, 0n, 4n))
          .to.be.revertedWithCustomError(factory, "GovernorInvalidVotingPeriod")
          .withArgs(0n);
      });
    });

    describe("when the quorum is above 100%", function () {
      it("reverts with GovernorInvalidQuorumFraction", async function () {
        const { registry, timelock, deployer } = await loadFixture(deployGovernanceFixture);
        const factory = new TOM3Governor__factory(deployer);
        await expect(factory.deploy(await registry.getAddress(), await timelock.getAddress(), 1n, 10n, 0n, 101n))
          .to.be.revertedWithCustomError(factory, "GovernorInvalidQuorumFraction")
          .withArgs(101n, 100n);
      });
    });
  });

  describe("a proposal backed by most of the stake", function () {
    it("passes, is queued in the timelock and executed: the registry parameter changes", async function () {
      const { governor, registry, timelock, alice, bob, carol, stranger, proposal, proposalId } =
        await loadFixture(stakedFixture);
      const { targets, values, calldatas, description, descriptionHash } = proposal;

      await expect(governor.connect(alice).propose(targets, values, calldatas, description)).to.emit(
        governor,
        "ProposalCreated",
      );
      expect(await governor.state(proposalId)).to.equal(State.Pending);
      const snapshot = await governor.proposalSnapshot(proposalId);
      // Quorum is 10% of the total active stake at the snapshot.
      await mine(GOVERNANCE.votingDelay + 1n);
      expect(await governor.state(proposalId)).to.equal(State.Active);
      expect(await governor.quorum(snapshot)).to.equal((601_000n * E18 * GOVERNANCE.quorumPercent) / 100n);

      await expect(governor.connect(alice).castVote(proposalId, Vote.For))
        .to.emit(governor, "VoteCast")
        .withArgs(alice.address, proposalId, Vote.For, 100_000n * E18, "");
      await expect(governor.connect(bob).castVote(proposalId, Vote.Against))
        .to.emit(governor, "VoteCast")
        .withArgs(bob.address, proposalId, Vote.Against, 200_000n * E18, "");
      await expect(governor.connect(carol).castVoteWithReason(proposalId, Vote.For, "fewer idle days"))
        .to.emit(governor, "VoteCast")
        .withArgs(carol.address, proposalId, Vote.For, 300_000n * E18, "fewer idle days");
      expect(await governor.proposalVotes(proposalId)).to.deep.equal([200_000n * E18, 400_000n * E18, 0n]);

      await mine(GOVERNANCE.votingPeriod);
      expect(await governor.state(proposalId)).to.equal(State.Succeeded);
      expect(await governor.proposalNeedsQueuing(proposalId)).to.equal(true);

      const queued = governor.connect(stranger).queue(targets, values, calldatas, descriptionHash);
      await expect(queued).to.emit(governor, "ProposalQueued");
      await expect(queued).to.emit(timelock, "CallScheduled");
      expect(await governor.state(proposalId)).to.equal(State.Queued);

      // The timelock holds it for minDelay.
      await expect(governor.execute(targets, values, calldatas, descriptionHash)).to.be.revertedWithCustomError(
        timelock,
        "TimelockUnexpectedOperationState",
      );
      await time.increase(GOVERNANCE.minDelay);
      const executed = governor.connect(stranger).execute(targets, values, calldatas, descriptionHash);
      await expect(executed).to.emit(governor, "ProposalExecuted").withArgs(proposalId);
      await expect(executed).to.emit(registry, "UnbondingPeriodChanged").withArgs(THREE_DAYS);
      expect(await governor.state(proposalId)).to.equal(State.Executed);
      expect(await registry.unbondingPeriod()).to.equal(THREE_DAYS);
    });

    it("counts each voter's stake at the snapshot, not stake added later", async function () {
      const { governor, registry, dave, proposal, proposalId } = await loadFixture(stakedFixture);
      const { targets, values, calldatas, description } = proposal;
      await governor.connect(dave).propose(targets, values, calldatas, description);
      await mine(GOVERNANCE.votingDelay + 1n);
      await registry.connect(dave).stake(500_000n * E18);
      await expect(governor.connect(dave).castVote(proposalId, Vote.For))
        .to.emit(governor, "VoteCast")
        .withArgs(dave.address, proposalId, Vote.For, GOVERNANCE.proposalThreshold, "");
    });
  });

  describe("a proposal only a small staker votes for", function () {
    it("fails quorum and is Defeated", async function () {
      const { governor, dave, proposal, proposalId } = await loadFixture(stakedFixture);
      const { targets, values, calldatas, description, descriptionHash } = proposal;
      await governor.connect(dave).propose(targets, values, calldatas, description);
      await mine(GOVERNANCE.votingDelay + 1n);
      await governor.connect(dave).castVote(proposalId, Vote.For);
      await mine(GOVERNANCE.votingPeriod);

      const snapshot = await governor.proposalSnapshot(proposalId);
      expect((await governor.proposalVotes(proposalId))[1]).to.be.lessThan(await governor.quorum(snapshot));
      expect(await governor.state(proposalId)).to.equal(State.Defeated);
      await expect(governor.queue(targets, values, calldatas, descriptionHash)).to.be.revertedWithCustomError(
        governor,
        "GovernorUnexpectedProposalState",
      );
    });
  });

  describe("a proposal that most stake votes against", function () {
    it("is Defeated even with quorum reached", async function () {
      const { governor, alice, carol, proposal, proposalId } = await loadFixture(stakedFixture);
      const { targets, values, calldatas, description } = proposal;
      await governor.connect(alice).propose(targets, values, calldatas, description);
      await mine(GOVERNANCE.votingDelay + 1n);
      await governor.connect(alice).castVote(proposalId, Vote.For);
      await governor.connect(carol).castVote(proposalId, Vote.Against);
      await mine(GOVERNANCE.votingPeriod);
      expect(await governor.state(proposalId)).to.equal(State.Defeated);
    });
  });

  describe("governance slashing", function () {
    it("slashes a provider through a passed proposal, the stake going to the timelock", async function () {
      const { governor, registry, token, timelock, alice, bob, carol, dave } = await loadFixture(stakedFixture);
      const targets = [await registry.getAddress()];
      const values = [0n];
      const calldatas = [registry.interface.encodeFunctionData("slash", [dave.address, 400n * E18])];
      const description = "Slash dave for misbehaviour";
      await governor.connect(alice).propose(targets, values, calldatas, description);
      const proposalId = await governor.hashProposal(targets, values, calldatas, id(description));
      await mine(GOVERNANCE.votingDelay + 1n);
      for (const voter of [alice, bob, carol]) await governor.connect(voter).castVote(proposalId, Vote.For);
      await mine(GOVERNANCE.votingPeriod);
      await governor.queue(targets, values, calldatas, id(description));
      await time.increase(GOVERNANCE.minDelay);
      await expect(governor.execute(targets, values, calldatas, id(description)))
        .to.emit(registry, "Slashed")
        .withArgs(dave.address, 400n * E18, await timelock.getAddress());
      expect(await token.balanceOf(await timelock.getAddress())).to.equal(400n * E18);
      expect(await registry.stakeOf(dave.address)).to.equal(600n * E18);
    });
  });

  describe("cancel", function () {
    it("lets the proposer cancel before voting starts", async function () {
      const { governor, dave, proposal, proposalId } = await loadFixture(stakedFixture);
      const { targets, values, calldatas, description, descriptionHash } = proposal;
      await governor.connect(dave).propose(targets, values, calldatas, description);
      await expect(governor.connect(dave).cancel(targets, values, calldatas, descriptionHash))
        .to.emit(governor, "ProposalCanceled")
        .withArgs(proposalId);
      expect(await governor.state(proposalId)).to.equal(State.Canceled);
    });

    describe("when someone else tries to cancel", function () {
      it("reverts with GovernorUnableToCancel", async function () {
        const { governor, alice, dave, proposal, proposalId } = await loadFixture(stakedFixture);
        const { targets, values, calldatas, description, descriptionHash } = proposal;
        await governor.connect(dave).propose(targets, values, calldatas, description);
        await expect(governor.connect(alice).cancel(targets, values, calldatas, descriptionHash))
          .to.be.revertedWithCustomError(governor, "GovernorUnableToCancel")
          .withArgs(proposalId, alice.address);
      });
    });
  });

  describe("when the proposer's stake is below the proposal threshold", function () {
    it("reverts with GovernorInsufficientProposerVotes", async function () {
      const { governor, stranger, proposal } = await loadFixture(stakedFixture);
      const { targets, values, calldatas, description } = proposal;
      await expect(governor.connect(stranger).propose(targets, values, calldatas, description))
        .to.be.revertedWithCustomError(governor, "GovernorInsufficientProposerVotes")
        .withArgs(stranger.address, 0n, GOVERNANCE.proposalThreshold);
    });
  });

  describe("when anyone but the timelock sets a registry parameter", function () {
    it("reverts with OwnableUnauthorizedAccount", async function () {
      const { registry, deployer } = await loadFixture(stakedFixture);
      await expect(registry.connect(deployer).setUnbondingPeriod(THREE_DAYS))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(deployer.address);
      expect(await registry.unbondingPeriod()).to.equal(UNBONDING_PERIOD);
    });
  });

  describe("when anyone but the governor schedules on the timelock", function () {
    it("reverts with AccessControlUnauthorizedAccount", async function () {
      const { registry, timelock, alice } = await loadFixture(stakedFixture);
      const data = registry.interface.encodeFunctionData("setUnbondingPeriod", [THREE_DAYS]);
      await expect(
        timelock
          .connect(alice)
          .schedule(await registry.getAddress(), 0n, data, id("x"), id("salt"), GOVERNANCE.minDelay),
      )
        .to.be.revertedWithCustomError(timelock, "AccessControlUnauthorizedAccount")
        .withArgs(alice.address, await timelock.PROPOSER_ROLE());
    });
  });
});
