/**
 * Governance of the protocol parameters through the Governor and its timelock:
 * `tom3:gov:propose`, `tom3:gov:vote`, `tom3:gov:queue`, `tom3:gov:execute`, `tom3:gov:state`.
 *
 * A proposal is one call on one TOM3 contract (`--contract market --function setBidBond --args '["100"]'`). Queue
 * and execute need the proposal's exact targets, calldatas and description hash: they take them from the
 * proposal's `ProposalCreated` event (`--proposal <id>`) or rebuild them from the same flags as propose; both paths
 * go through `proposalCall`, so the description hash is always keccak256 of the UTF-8 description.
 */
import { Contract, Interface, id } from "ethers";
import { types } from "hardhat/config";
import type { ConfigurableTaskDefinition } from "hardhat/types";
import { tom3Abis } from "../offchain/chain/abis";
import { PROPOSAL_STATES, VOTE_TYPES, enumName } from "../offchain/chain/enums";
import type { Tom3ContractKey } from "../offchain/chain/errors";
import type { Report, SentTx, Tom3Context } from "./lib";
import { fail, idFlag, time, tom3Task, txFacts } from "./lib";

/** What a proposal executes, and how the Governor identifies it. */
interface ProposalCall {
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
  descriptionHash: string;
}

interface ActionArgs {
  contract?: string;
  function?: string;
  args?: string;
  description?: string;
}

/** The one place the description hash is computed: keccak256 of the description's UTF-8 bytes, as OZ Governor does. */
export function descriptionHash(description: string): string {
  return id(description);
}

/** Build a proposal's call from `--contract --function --args --description`. */
function proposalCall(ctx: Tom3Context, args: ActionArgs): ProposalCall {
  const { contract, function: fn, description } = args;
  if (!contract || !fn || description === undefined) {
    throw fail("give --contract, --function and --description (and --args if the function takes any)");
  }
  if (!(contract in tom3Abis)) {
    throw fail(`--contract: "${contract}" is not a TOM3 contract; use one of ${Object.keys(tom3Abis).join(", ")}`);
  }
  const key = contract as Tom3ContractKey;
  const target = ctx.deployment.contracts[key];
  if (!target) throw fail(`--contract: this deployment has no ${key}`);

  const iface = new Interface(tom3Abis[key]);
  const fragment = iface.getFunction(fn);
  if (!fragment) {
    const setters = iface.fragments.flatMap((f) =>
      f.type === "function" && "name" in f && /^set[A-Z]/.test(String(f.name)) ? [String(f.name)] : [],
    );
    throw fail(`--function: ${key} has no function "${fn}" (its setters: ${[...new Set(setters)].join(", ")})`);
  }
  let values: unknown;
  try {
    values = JSON.parse(args.args ?? "[]");
  } catch (error) {
    throw fail(`--args: not JSON (${(error as Error).message}); write e.g. '["100"]'`);
  }
  if (!Array.isArray(values)) throw fail(`--args: must be a JSON array, e.g. '["100"]'`);
  if (values.some((v) => typeof v === "number" && !Number.isSafeInteger(v))) {
    throw fail(`--args: write large or fractional numbers as strings ("1000000000000000000000")`);
  }
  let calldata: string;
  try {
    calldata = iface.encodeFunctionData(fragment, values);
  } catch (error) {
    throw fail(`--args: do not fit ${fragment.format("sighash")}: ${(error as Error).message}`);
  }
  return {
    targets: [target],
    values: [0n],
    calldatas: [calldata],
    description,
    descriptionHash: descriptionHash(description),
  };
}

/** Recover a proposal's call from its `ProposalCreated` event. */
async function proposalCallById(ctx: Tom3Context, proposalId: bigint): Promise<ProposalCall> {
  const governor = ctx.governor();
  const events = await ctx.scan((from, to) => governor.queryFilter(governor.filters.ProposalCreated(), from, to));
  const created = events.find((event) => event.args.proposalId === proposalId);
  if (!created) throw fail(`--proposal: no ProposalCreated event for proposal ${proposalId} since the deployment`);
  // Positional: on an ethers Result, `.values` is Array.prototype.values, not the event's `values`.
  const [, , targets, values, , calldatas, , , description] = created.args;
  return {
    targets: [...targets],
    values: [...values],
    calldatas: [...calldatas],
    description,
    descriptionHash: descriptionHash(description),
  };
}

/** The call of `--proposal` or of the propose flags; with both, they must name the same proposal. */
async function resolveProposal(
  ctx: Tom3Context,
  args: ActionArgs & { proposal?: string },
): Promise<{ proposalId: bigint; call: ProposalCall }> {
  const governor = ctx.governor();
  const fromFlags = args.contract !== undefined || args.function !== undefined || args.description !== undefined;
  const call = fromFlags
    ? proposalCall(ctx, args)
    : args.proposal !== undefined
      ? await proposalCallById(ctx, idFlag("proposal", args.proposal))
      : undefined;
  if (!call)
    throw fail("give --proposal, or the --contract, --function, --args and --description it was proposed with");
  const proposalId = await ctx.read("governor", "getProposalId", () =>
    governor.getProposalId(call.targets, call.values, call.calldatas, call.descriptionHash),
  );
  if (args.proposal !== undefined && proposalId !== idFlag("proposal", args.proposal)) {
    throw fail(`the flags describe proposal ${proposalId}, not --proposal ${args.proposal}`);
  }
  return { proposalId, call };
}

function actionParams(t: ConfigurableTaskDefinition): ConfigurableTaskDefinition {
  return t
    .addOptionalParam(
      "contract",
      "Target contract: market, registry, token, certificates, usage, timelock",
      undefined,
      types.string,
    )
    .addOptionalParam("function", 'Function to call, by name or signature ("setBidBond")', undefined, types.string)
    .addOptionalParam("args", `Its arguments as a JSON array ('["100"]')`, undefined, types.string)
    .addOptionalParam(
      "description",
      "The proposal's description (its hash is part of the proposal id)",
      undefined,
      types.string,
    );
}

tom3Task<ActionArgs>(
  "tom3:gov:propose",
  "Propose a parameter change: one call on a TOM3 contract, executed by the timelock if the vote passes",
  actionParams,
  async (args, ctx) => {
    const call = proposalCall(ctx, args);
    const governor = ctx.governor();
    const sent = await ctx.send("governor", "propose", () =>
      governor.propose(call.targets, call.values, call.calldatas, call.description),
    );
    const created = sent.event("governor", "ProposalCreated");
    return {
      proposalId: created.proposalId,
      target: `${args.contract} (${call.targets[0]})`,
      calldata: call.calldatas[0],
      descriptionHash: call.descriptionHash,
      voteStart: created.voteStart,
      voteEnd: created.voteEnd,
      clock: await governor.CLOCK_MODE(),
      ...txFacts(sent),
    };
  },
);

tom3Task<{ proposal: string; support: string; reason?: string }>(
  "tom3:gov:vote",
  "Vote on a proposal with your stake's voting power",
  (t) =>
    t
      .addParam("proposal", "Proposal id")
      .addParam("support", "for, against or abstain")
      .addOptionalParam("reason", "A reason recorded with the vote", undefined, types.string),
  async (args, ctx) => {
    const proposalId = idFlag("proposal", args.proposal);
    const support = VOTE_TYPES.indexOf(args.support.trim().toLowerCase() as (typeof VOTE_TYPES)[number]);
    if (support < 0) throw fail(`--support: "${args.support}" is not one of for, against, abstain`);
    const governor = ctx.governor();
    const sent = await ctx.send("governor", args.reason ? "castVoteWithReason" : "castVote", () =>
      args.reason
        ? governor.castVoteWithReason(proposalId, support, args.reason)
        : governor.castVote(proposalId, support),
    );
    const cast = sent.event("governor", "VoteCast");
    return { proposalId, voter: cast.voter, support: VOTE_TYPES[support], weight: cast.weight, ...txFacts(sent) };
  },
);

tom3Task<ActionArgs & { proposal?: string }>(
  "tom3:gov:queue",
  "Queue a succeeded proposal in the timelock",
  (t) => actionParams(t).addOptionalParam("proposal", "Proposal id", undefined, types.string),
  async (args, ctx) => {
    const { proposalId, call } = await resolveProposal(ctx, args);
    const governor = ctx.governor();
    const sent = await ctx.send("governor", "queue", () =>
      governor.queue(call.targets, call.values, call.calldatas, call.descriptionHash),
    );
    return { proposalId, eta: time(sent.event("governor", "ProposalQueued").etaSeconds), ...txFacts(sent) };
  },
);

tom3Task<ActionArgs & { proposal?: string }>(
  "tom3:gov:execute",
  "Execute a queued proposal once its timelock delay has passed",
  (t) => actionParams(t).addOptionalParam("proposal", "Proposal id", undefined, types.string),
  async (args, ctx) => {
    const { proposalId, call } = await resolveProposal(ctx, args);
    const governor = ctx.governor();
    const sent: SentTx = await ctx.send("governor", "execute", () =>
      governor.execute(call.targets, call.values, call.calldatas, call.descriptionHash),
    );
    sent.event("governor", "ProposalExecuted");
    return { proposalId, executed: true, ...txFacts(sent) };
  },
);

tom3Task<{ proposal: string }>(
  "tom3:gov:state",
  "Show a proposal's state, schedule and votes",
  (t) => t.addParam("proposal", "Proposal id"),
  async (args, ctx) => {
    const proposalId = idFlag("proposal", args.proposal);
    const governor = ctx.governor();
    const state = await ctx.read("governor", "state", () => governor.state(proposalId));
    const [snapshot, deadline, eta, clock, clockMode] = await Promise.all([
      governor.proposalSnapshot(proposalId),
      governor.proposalDeadline(proposalId),
      governor.proposalEta(proposalId),
      governor.clock(),
      governor.CLOCK_MODE(),
    ]);
    const counting = new Contract(await governor.getAddress(), tom3Abis.governor, ctx.signer);
    const [againstVotes, forVotes, abstainVotes] = (await counting.getFunction("proposalVotes")(
      proposalId,
    )) as bigint[];
    const report: Report = {
      proposalId,
      state: enumName(PROPOSAL_STATES, state),
      snapshot,
      deadline,
      clock,
      clockMode,
      for: forVotes,
      against: againstVotes,
      abstain: abstainVotes,
      // Quorum is only defined at a past timepoint.
      quorum: snapshot < clock ? await governor.quorum(snapshot) : undefined,
      eta: eta === 0n ? undefined : time(eta),
    };
    return report;
  },
);
