/**
 * Property-based tests of the Market's invariants (PROTOCOL.md, "Invariants").
 *
 * fast-check generates sequences of random steps (every Market action, by any actor, with valid and invalid
 * arguments, plus time jumps and governance changes); each step runs on the in-process Hardhat network and
 * through a reference model (./model.ts). After every step the chain state is read in one call and checked:
 *   1. conservation: the Market holds exactly the sum of all balances, the ledger matches the model, token
 *      movements in and out of the Market are exactly the deposits, withdrawals and slashes;
 *   2. no charter pays more than price x seconds actually run, nor more than was locked for it;
 *   3. every match picks the lowest price, the earliest bid among equals (and the best bid of open orders is
 *      always that bid);
 *   4. refused bids are never stored, an order is matched at most once, a bond is returned at most once;
 *   5. only the owner or an approved operator (within allowance and expiry) changes a deployment or spends its
 *      funds, and allowances are used up exactly by the operators' locks.
 * Reverts are expected; a revert the model did not predict (or a success it did not) fails the property too.
 *
 * TOM3_FUZZ_RUNS sets the number of runs (default 100; `npm run test:fuzz` runs 2000). A failure prints the
 * seed and path; replay it with TOM3_FUZZ_SEED and TOM3_FUZZ_PATH.
 */
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { describe as describeStep, resolve, stepArb, type Step } from "./actions";
import { CharterState, InvariantViolation, MarketModel, OrderState } from "./model";
import { Chain, environment, marketWorld, type ChainState, type World } from "./world";

const RUNS = Number(process.env.TOM3_FUZZ_RUNS ?? 100);
const STEPS = 40;
/** TOM3_FUZZ_STATS=1 prints how often each call succeeded and why the others reverted (coverage check). */
const STATS = process.env.TOM3_FUZZ_STATS === "1" ? new Map<string, number>() : undefined;

function count(key: string): void {
  STATS?.set(key, (STATS.get(key) ?? 0) + 1);
}

/** Who acted in a step, and for which owners it was an operator just before it. */
interface StepContext {
  actor?: string;
  operatorFor: Set<string>;
}

const fmt = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x instanceof Map ? Object.fromEntries(x) : x));

/** Collects disagreements; the first broken invariant is thrown with all of them listed. */
class Findings {
  private readonly found: { invariant: number; message: string }[] = [];

  check(condition: boolean, invariant: number, message: () => string): void {
    if (!condition) this.found.push({ invariant, message: message() });
  }

  equal(actual: unknown, expected: unknown, invariant: number, what: string): void {
    if (actual !== expected)
      this.found.push({ invariant, message: `${what}: chain ${fmt(actual)}, model ${fmt(expected)}` });
  }

  throwIfAny(): void {
    if (this.found.length === 0) return;
    const first = this.found.find((f) => f.invariant > 0) ?? this.found[0];
    const all = this.found.map((f) => `  [${f.invariant || "model"}] ${f.message}`).join("\n");
    throw new InvariantViolation(first.invariant, `${first.message}\nall findings:\n${all}`);
  }
}

function checkInvariants(world: World, model: MarketModel, before: ChainState, after: ChainState, ctx: StepContext) {
  const s = model.s;
  const f = new Findings();

  // ---------------------------------------------------------------- 1. conservation
  let held = 0n;
  for (const a of world.accounts) {
    const chain = after.accounts.get(a)!;
    const expected = model.account(a);
    held += chain.available + chain.locked;
    f.equal(chain.available, expected.available, 1, `available of ${a}`);
    f.equal(chain.locked, expected.locked, 1, `locked of ${a}`);
  }
  f.check(after.marketTokens === held, 1, () => `Market holds ${after.marketTokens} tokens, balances sum to ${held}`);
  let circulating = after.marketTokens + after.registryTokens;
  for (const a of world.accounts) {
    circulating += after.wallets.get(a)!;
    const delta = after.wallets.get(a)! - before.wallets.get(a)!;
    f.equal(delta, s.walletDeltas.get(a) ?? 0n, 1, `token movement of ${a}`);
  }
  f.check(circulating === world.supply, 1, () => `tokens in circulation ${circulating}, supply ${world.supply}`);
  f.equal(after.marketTokens - before.marketTokens, s.walletDeltas.get(s.market) ?? 0n, 1, "tokens into the Market");
  f.equal(
    after.registryTokens - before.registryTokens,
    s.walletDeltas.get(s.registry) ?? 0n,
    1,
    "tokens into the registry",
  );

  // ---------------------------------------------------------------- 2. charter payments
  for (const c of s.charters.values()) {
    const chain = after.charters.get(c.id)!;
    const bound = model.earned(c);
    f.check(chain.claimed <= bound, 2, () => `charter ${c.id} paid ${chain.claimed} > price x seconds run ${bound}`);
    f.check(chain.claimed <= c.lockedTotal, 2, () => `charter ${c.id} paid ${chain.claimed} > locked ${c.lockedTotal}`);
    f.equal(chain.claimed, c.claimed, 2, `claimed of charter ${c.id}`);
    f.equal(chain.pricePerSecond, c.price, 3, `price of charter ${c.id}`);
    f.equal(chain.bidId, c.bidId, 3, `winning bid of charter ${c.id}`);
    f.equal(chain.provider, c.provider, 3, `provider of charter ${c.id}`);
    f.equal(chain.tenant, c.tenant, 0, `tenant of charter ${c.id}`);
    f.equal(chain.duration, c.duration, 2, `duration of charter ${c.id}`);
    f.equal(chain.state, BigInt(c.state), 0, `state of charter ${c.id}`);
    f.equal(chain.closeReason, BigInt(c.closeReason), 0, `close reason of charter ${c.id}`);
    f.equal(chain.acknowledgedAt, c.acknowledgedAt, 2, `acknowledgedAt of charter ${c.id}`);
    f.equal(chain.acknowledgeBy, c.acknowledgeBy, 0, `acknowledgeBy of charter ${c.id}`);
    f.equal(chain.endsAt, model.reportedEndsAt(c), 2, `endsAt of charter ${c.id}`);
    f.equal(chain.feeBps, c.feeBps, 0, `fee of charter ${c.id}`);
    if (c.state === CharterState.Closed) {
      f.check(c.claimed + c.refunded === c.lockedTotal, 2, () => `charter ${c.id}: paid + refunded != locked`);
    }
  }

  // ---------------------------------------------------------------- 3. and 4. orders and bids
  f.equal(after.counts.bids, BigInt(s.bids.length), 4, "bid count (a refused bid is never stored)");
  f.equal(after.counts.orders, BigInt(s.orders.length), 0, "order count");
  f.equal(after.counts.deployments, BigInt(s.deployments.length), 0, "deployment count");
  for (const [i, o] of s.orders.entries()) {
    const chain = after.orders[i];
    const winner = model.winner(o)?.id ?? 0n;
    f.equal(chain.state, BigInt(o.state), 4, `state of order ${o.id}`);
    f.check(o.matches <= 1, 4, () => `order ${o.id} matched ${o.matches} times`);
    if (o.state === OrderState.Open) f.equal(chain.bestBidId, winner, 3, `best bid of open order ${o.id}`);
    if (o.state === OrderState.Matched) f.equal(s.charters.get(o.id)!.bidId, winner, 3, `winner of order ${o.id}`);
    f.equal(chain.closesAt, o.closesAt, 0, `closesAt of order ${o.id}`);
    f.equal(chain.bidBond, o.bidBond, 4, `bid bond of order ${o.id}`);
  }
  for (const [i, b] of s.bids.entries()) {
    const chain = after.bids[i];
    f.equal(chain.provider, b.provider, 4, `provider of bid ${b.id}`);
    f.equal(chain.orderId, b.orderId, 4, `order of bid ${b.id}`);
    f.equal(chain.pricePerSecond, b.price, 4, `price of bid ${b.id}`);
    f.equal(chain.released, b.released, 4, `released flag of bid ${b.id}`);
    f.check(b.bondReturns <= 1, 4, () => `bond of bid ${b.id} returned ${b.bondReturns} times`);
  }

  // ---------------------------------------------------------------- 5. authority over deployments and funds
  for (const a of world.accounts) {
    const spent = before.accounts.get(a)!.available - after.accounts.get(a)!.available;
    if (spent <= 0n || ctx.actor === a) continue;
    const key = `${a}/${ctx.actor}`;
    const used = (before.approvals.get(key)?.allowance ?? 0n) - (after.approvals.get(key)?.allowance ?? 0n);
    f.check(
      ctx.actor !== undefined && ctx.operatorFor.has(a),
      5,
      () => `${ctx.actor ?? "no one"} spent ${spent} of ${a}`,
    );
    f.check(used === spent, 5, () => `operator ${ctx.actor} locked ${spent} of ${a} but used ${used} of its allowance`);
  }
  for (const [key, approval] of after.approvals) {
    const [owner, operator] = key.split("/");
    const previous = before.approvals.get(key);
    const expected = s.approvals.get(key)!;
    f.equal(approval.allowance, expected.allowance, 5, `allowance of ${key}`);
    f.equal(approval.expiry, expected.expiry, 5, `expiry of ${key}`);
    f.equal(approval.active, expected.active, 5, `active flag of ${key}`);
    if (previous === undefined || ctx.actor === owner) continue; // the owner may replace its approvals
    const changed =
      approval.allowance !== previous.allowance ||
      approval.expiry !== previous.expiry ||
      approval.active !== previous.active;
    // Anyone else can only use an allowance up, and only the operator itself (checked with its locks above).
    const consumed =
      ctx.actor === operator && approval.allowance < previous.allowance && approval.expiry === previous.expiry;
    f.check(
      !changed || consumed,
      5,
      () => `${ctx.actor} changed the approval ${key}: ${fmt(previous)} -> ${fmt(approval)}`,
    );
  }
  for (const [i, d] of s.deployments.entries()) {
    const chain = after.deployments[i];
    f.equal(chain.owner, d.owner, 5, `owner of deployment ${d.id}`);
    f.equal(chain.version, d.version, 5, `version of deployment ${d.id}`);
    f.equal(chain.closedAt, d.closedAt, 5, `closedAt of deployment ${d.id}`);
    const previous = before.deployments[i];
    if (previous === undefined) continue;
    if (chain.version !== previous.version) {
      f.check(
        ctx.actor === d.owner || ctx.operatorFor.has(d.owner),
        5,
        () => `${ctx.actor} updated deployment ${d.id}`,
      );
    }
    if (chain.closedAt !== previous.closedAt) {
      f.check(ctx.actor === d.owner, 5, () => `${ctx.actor} closed deployment ${d.id}`);
    }
  }
  for (const k of ["bidBond", "startTimeout", "slashBps", "protocolFeeBps", "treasury"] as const) {
    f.equal(after.params[k], s.params[k], 5, `parameter ${k}`);
  }

  f.throwIfAny();
}

/** Run one sequence of steps from the fixture, checking every invariant after every step. */
async function runSequence(steps: Step[]): Promise<void> {
  const world = await loadFixture(marketWorld);
  const chain = new Chain(world);
  const model = new MarketModel(structuredClone(world.initialState));
  let before = world.initialChain;
  const trace: string[] = [];

  for (const step of steps) {
    const resolved = resolve(step, model, world.actors);
    trace.push(describeStep(resolved, world.actors));
    const ctx: StepContext = { operatorFor: new Set() };
    try {
      if ("wait" in resolved) {
        await time.increase(resolved.wait);
        model.s.now += resolved.wait;
      } else {
        const { call } = resolved;
        ctx.actor = call.actor;
        for (const key of model.s.approvals.keys()) {
          const [owner, operator] = key.split("/");
          if (operator === call.actor && model.isOperator(owner, operator)) ctx.operatorFor.add(owner);
        }
        const prediction = model.predict(call);
        const outcome = await chain.send(call, model.s.now);
        if (outcome.ok && !prediction.ok) {
          throw new InvariantViolation(prediction.invariant, `the call succeeded although ${prediction.why}`);
        }
        if (!outcome.ok && prediction.ok) {
          throw new InvariantViolation(0, `the call reverted with ${outcome.error}; the model expects it to succeed`);
        }
        if (!outcome.ok) trace[trace.length - 1] += ` -> ${outcome.error}`;
        count(`${call.fn} ${outcome.ok ? "ok" : "reverted " + outcome.error.replace(/\(.*$/, "")}`);
        if (prediction.ok && outcome.ok) prediction.commit(outcome.events);
      }
      const after = await chain.read(model.s, world.accounts, world.actors);
      checkInvariants(world, model, before, after, ctx);
      model.s.env = environment(after);
      model.s.walletDeltas.clear();
      before = after;
    } catch (e) {
      if (e instanceof Error) {
        const names = Object.entries(world.actors.address).map(([r, a]) => `${r}=${a}`);
        e.message += `\nat step ${trace.length} of:\n${trace.map((t, i) => `  ${i + 1}. ${t}`).join("\n")}`;
        e.message += `\nactors: ${names.join(" ")} treasury=${world.actors.treasury}`;
      }
      throw e;
    }
  }
}

describe("Market invariants (property-based)", function () {
  // A long fuzz run (npm run test:fuzz) takes far longer than the default mocha timeout.
  this.timeout(0);

  it(`hold over ${RUNS} random sequences of ${STEPS} actions`, async function () {
    await fc.assert(fc.asyncProperty(fc.array(stepArb, { minLength: STEPS, maxLength: STEPS }), runSequence), {
      numRuns: RUNS,
      seed: process.env.TOM3_FUZZ_SEED === undefined ? undefined : Number(process.env.TOM3_FUZZ_SEED),
      path: process.env.TOM3_FUZZ_PATH,
    });
    if (STATS) {
      for (const [key, n] of [...STATS].sort()) console.log(`      ${String(n).padStart(6)}  ${key}`);
    }
  });
});
