import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import hre from "hardhat";
import { deployTom3Governed } from "../fixtures/deploy";
import { ONE, runTask, taskError, useDeploymentsDir, writeRecord } from "./helpers";

const VOTING_PERIOD = 20; // blocks
const MIN_DELAY = 3600; // seconds

/** The governance tasks on the governed variant: stake, propose a setBidBond change, vote, queue, execute. */
describe("tasks: governance", function () {
  const dir = useDeploymentsDir();

  async function governedFixture() {
    const deployedAtBlock = await hre.ethers.provider.getBlockNumber();
    const suite = await deployTom3Governed({
      Tom3Governed: { votingDelay: 1n, votingPeriod: BigInt(VOTING_PERIOD), minDelay: BigInt(MIN_DELAY) },
    });
    const [, provider1, provider2] = await hre.ethers.getSigners();
    for (const provider of [provider1, provider2]) await suite.token.transfer(provider.address, 1_000n * ONE);
    return { ...suite, deployedAtBlock };
  }

  it("changes the bid bond through a proposal: propose, vote, queue, execute", async function () {
    const suite = await loadFixture(governedFixture);
    await writeRecord(dir(), suite, suite.deployedAtBlock);
    const { market, timelock } = suite;
    expect(await market.owner()).to.equal(await timelock.getAddress());
    expect(await market.bidBond()).to.equal(0n);

    // Providers stake: stake is voting power.
    for (const [from, amount] of [
      ["1", "300"],
      ["2", "100"],
    ]) {
      await runTask("tom3:provider:register", { from, endpoint: `https://p${from}.example` });
      await runTask("tom3:provider:stake", { from, amount });
    }
    await mine(); // checkpoints must be in a past block to count

    const action = {
      contract: "market",
      function: "setBidBond",
      args: '["5000"]',
      description: "Set the bid bond to 5000 wei",
    };
    const proposed = await runTask("tom3:gov:propose", action);
    const proposal = proposed.proposalId as string;
    expect(proposed).to.include({
      target: `market (${await market.getAddress()})`,
      calldata: market.interface.encodeFunctionData("setBidBond", [5000n]),
      descriptionHash: hre.ethers.id(action.description),
    });
    expect(BigInt(proposal)).to.equal(
      await suite.governor.hashProposal(
        [await market.getAddress()],
        [0n],
        [proposed.calldata],
        hre.ethers.id(action.description),
      ),
    );
    expect((await runTask("tom3:gov:state", { proposal })).state).to.equal("Pending");

    await mine(2);
    expect((await runTask("tom3:gov:state", { proposal })).state).to.equal("Active");
    const yes = await runTask("tom3:gov:vote", { from: "1", proposal, support: "for" });
    expect(yes).to.include({ proposalId: proposal, support: "for", weight: (300n * ONE).toString() });
    const no = await runTask("tom3:gov:vote", { from: "2", proposal, support: "Against", reason: "too high" });
    expect(no).to.include({ support: "against", weight: (100n * ONE).toString() });
    const voting = await runTask("tom3:gov:state", { proposal });
    expect(voting).to.include({
      state: "Active",
      for: (300n * ONE).toString(),
      against: (100n * ONE).toString(),
      abstain: "0",
      quorum: ((400n * ONE * 4n) / 100n).toString(),
    });
    expect(voting).not.to.have.property("eta");

    const badVote = await taskError("tom3:gov:vote", { proposal, support: "maybe" });
    expect(badVote.error.message).to.equal('--support: "maybe" is not one of for, against, abstain');

    await mine(VOTING_PERIOD);
    expect((await runTask("tom3:gov:state", { proposal })).state).to.equal("Succeeded");

    // Queue by id (the call is recovered from ProposalCreated), execute from the flags it was proposed with.
    const queued = await runTask("tom3:gov:queue", { proposal });
    const eta = (await time.latest()) + MIN_DELAY;
    expect(queued).to.include({ proposalId: proposal, eta });
    expect(await runTask("tom3:gov:state", { proposal })).to.include({ state: "Queued", eta });

    const early = await taskError("tom3:gov:execute", { proposal });
    expect(early.error.message).to.match(/^TOM3Governor\.execute reverted: timelock.* \(\w+\)$/);
    expect(early.error.message).not.to.match(/0x[0-9a-f]{72}/i);

    await time.increase(MIN_DELAY);
    const executed = await runTask("tom3:gov:execute", action);
    expect(executed).to.include({ proposalId: proposal, executed: true });
    expect(await market.bidBond()).to.equal(5000n);
    expect((await runTask("tom3:gov:state", { proposal })).state).to.equal("Executed");
  });
});
