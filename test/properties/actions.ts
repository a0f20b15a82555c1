/**
 * Random steps for the Market property tests.
 *
 * A step is generated without knowing the state it will run in: it names a role and abstract choices ("a live
 * order, the n-th", "a price at three quarters of the limit", "offer one MiB less than asked"). `resolve` turns it
 * into a concrete call against the current model state, so the same step means something sensible wherever it
 * lands, and fast-check can still shrink it. About one pick in ten ignores the live objects and names any id,
 * unknown ones included.
 */
import fc from "fast-check";
import { id as keccakId, ZeroAddress, ZeroHash } from "ethers";
import {
  CharterState,
  MAX_BIDDING_WINDOW,
  MAX_DURATION,
  MAX_REPUTATION,
  MAX_UINT128,
  MAX_UINT64,
  OrderState,
  RESOURCE_KEYS,
  type Call,
  type MarketModel,
  type RequirementSpec,
  type Resources,
} from "./model";

export const ROLES = [
  "owner",
  "tenantA",
  "tenantB",
  "providerA",
  "providerB",
  "providerC",
  "operator",
  "stranger",
] as const;
export type Role = (typeof ROLES)[number];

/** Addresses of the roles, plus a treasury account that never acts. */
export interface Actors {
  address: Record<Role, string>;
  treasury: string;
}

/** Attributes providers declare and orders ask for. */
export const ATTRIBUTES = {
  euWest: keccakId("region=eu-west"),
  usEast: keccakId("region=us-east"),
  gpu: keccakId("tier=gpu"),
} as const;

export const TOKEN = 10n ** 18n;

// ------------------------------------------------------------------ generators

/** A value among `choices`, each with its weight (fractions down to 0.1 allowed). */
function weighted<T>(...choices: [T, number][]): fc.Arbitrary<T> {
  return fc.oneof(
    ...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight: Math.round(weight * 10) })),
  );
}

function role(weights: Partial<Record<Role, number>>): fc.Arbitrary<Role> {
  return weighted(...(Object.entries(weights) as [Role, number][]));
}

const anyone = role({
  owner: 1,
  tenantA: 2,
  tenantB: 2,
  providerA: 2,
  providerB: 2,
  providerC: 2,
  operator: 2,
  stranger: 2,
});
const tenantSide = role({ tenantA: 5, tenantB: 4, operator: 4, stranger: 1, providerB: 1, owner: 1 });
const providerSide = role({ providerA: 4, providerB: 4, providerC: 4, tenantA: 1, operator: 1, stranger: 1 });
const governanceSide = role({ owner: 6, stranger: 1, tenantA: 1, operator: 1 });

/** Which object a step acts on: the n-th live one, or (live false) any id, unknown ones included. */
export interface Pick {
  live: boolean;
  n: number;
}
const pick: fc.Arbitrary<Pick> = fc.record({ live: fc.nat(9).map((x) => x !== 0), n: fc.nat(1_000) });

const specArb = fc.record({
  cpuMillis: weighted<bigint>([250n, 3], [500n, 3], [1000n, 3], [4000n, 1], [0n, 0.2]),
  memoryMiB: weighted<bigint>([64n, 3], [512n, 3], [4096n, 2], [0n, 0.2]),
  storageMiB: weighted<bigint>([0n, 2], [1024n, 2], [20_480n, 1]),
  bandwidthMbps: weighted<bigint>([0n, 2], [10n, 2], [1000n, 1]),
  maxPricePerSecond: weighted<bigint>(
    [1n, 1],
    [7n, 2],
    [1000n, 2],
    [10n ** 12n, 2],
    [10n ** 15n, 2],
    [10n ** 16n, 1],
    [0n, 0.2],
  ),
  duration: weighted<bigint>(
    [1n, 1],
    [30n, 2],
    [600n, 3],
    [3600n, 2],
    [86_400n, 1],
    [0n, 0.2],
    [MAX_DURATION + 1n, 0.1],
  ),
  biddingWindow: weighted<bigint>([1n, 1], [30n, 3], [120n, 3], [900n, 1], [0n, 0.2], [MAX_BIDDING_WINDOW + 1n, 0.1]),
  minReputation: weighted<"zero" | "random" | "exact" | "above" | "invalid">(
    ["zero", 8],
    ["random", 1],
    ["exact", 1],
    ["above", 1],
    ["invalid", 0.2],
  ),
  reputationOf: fc.nat(2),
  reputationValue: fc.nat(Number(MAX_REPUTATION)),
  attributes: weighted<string[]>(
    [[], 10],
    [[ATTRIBUTES.euWest], 5],
    [[ATTRIBUTES.euWest, ATTRIBUTES.gpu], 2],
    [[ATTRIBUTES.gpu], 2],
    [[ATTRIBUTES.usEast], 1],
  ),
});
export type SpecChoice = typeof specArb extends fc.Arbitrary<infer T> ? T : never;

const amountMode = weighted<"part" | "all" | "excess" | "zero">(["part", 6], ["all", 1], ["excess", 1], ["zero", 0.3]);

export type Step =
  | { kind: "wait"; seconds: number }
  | { kind: "deposit" | "withdraw"; actor: Role; mode: "part" | "all" | "excess" | "zero"; permille: number }
  | { kind: "createDeployment"; actor: Role; version: number }
  | { kind: "updateDeployment"; actor: Role; deployment: Pick; version: number }
  | { kind: "closeDeployment"; actor: Role; deployment: Pick }
  | { kind: "createOrder"; actor: Role; deployment: Pick; spec: SpecChoice }
  | { kind: "cancelOrder"; actor: Role; order: Pick }
  | { kind: "matchOrder"; actor: Role; party: boolean; order: Pick }
  | {
      kind: "placeBid";
      actor: Role;
      order: Pick;
      price: "tier" | "random" | "max" | "above" | "zero";
      tier: number;
      permille: number;
      offer: "exact" | "more" | "less";
      resource: number;
      extra: number;
    }
  | { kind: "releaseBid"; actor: Role; bid: Pick }
  | {
      kind: "acknowledge" | "claim" | "closeCharter" | "cancelUndelivered";
      actor: Role;
      party: boolean; // act as the charter's natural party (its provider or tenant) instead of `actor`
      charter: Pick;
    }
  | { kind: "extendCharter"; actor: Role; party: boolean; charter: Pick; extra: bigint }
  | {
      kind: "approveOperator";
      actor: Role;
      operator: Role | "zero";
      allowance: bigint;
      expiry: "past" | "now" | "max" | number;
    }
  | { kind: "setBidBond"; actor: Role; bond: bigint }
  | { kind: "setStartTimeout"; actor: Role; timeout: bigint }
  | { kind: "setSlashBps"; actor: Role; bps: bigint }
  | { kind: "setProtocolFee"; actor: Role; bps: bigint; treasury: Role | "treasury" | "zero" }
  | { kind: "requestUnstake"; actor: Role; mode: "part" | "all" | "excess" | "zero"; permille: number }
  | { kind: "updateProvider"; actor: Role; attributes: string[] };

const party = fc.nat(4).map((x) => x !== 0);

/** One random step; weights favour the paths that build charters, so runs reach deep states. */
export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      seconds: fc.oneof(
        fc.constantFrom(1, 10, 30, 60, 120, 599, 600, 601, 900, 3600, 86_400),
        fc.integer({ min: 1, max: 2000 }),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom("deposit" as const, "withdraw" as const),
      actor: anyone,
      mode: amountMode,
      permille: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("createDeployment" as const), actor: tenantSide, version: fc.nat(4) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("updateDeployment" as const),
      actor: tenantSide,
      deployment: pick,
      version: fc.nat(4),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("closeDeployment" as const), actor: tenantSide, deployment: pick }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("createOrder" as const),
      actor: tenantSide,
      deployment: pick,
      spec: specArb,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancelOrder" as const), actor: tenantSide, order: pick }) },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("placeBid" as const),
      actor: providerSide,
      order: pick,
      price: weighted<"tier" | "random" | "max" | "above" | "zero">(
        ["tier", 6],
        ["random", 3],
        ["max", 1],
        ["above", 1],
        ["zero", 0.3],
      ),
      tier: fc.integer({ min: 1, max: 4 }),
      permille: fc.integer({ min: 1, max: 1000 }),
      offer: weighted<"exact" | "more" | "less">(["exact", 4], ["more", 3], ["less", 2]),
      resource: fc.nat(3),
      extra: fc.nat(5000),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("matchOrder" as const), actor: anyone, party: fc.boolean(), order: pick }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("releaseBid" as const), actor: anyone, bid: pick }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("acknowledge" as const), actor: providerSide, party, charter: pick }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("claim" as const), actor: anyone, party, charter: pick }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("closeCharter" as const), actor: anyone, party, charter: pick }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("cancelUndelivered" as const), actor: tenantSide, party, charter: pick }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("extendCharter" as const),
      actor: tenantSide,
      party,
      charter: pick,
      extra: weighted<bigint>([1n, 2], [60n, 2], [3600n, 2], [0n, 0.3], [MAX_DURATION, 0.3]),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("approveOperator" as const),
      actor: role({ tenantA: 4, tenantB: 4, stranger: 1, providerA: 1 }),
      operator: weighted<Role | "zero">(
        ["operator", 6],
        ["stranger", 1],
        ["providerA", 1],
        ["tenantA", 1],
        ["zero", 0.3],
      ),
      allowance: weighted<bigint>(
        [0n, 1],
        [10n ** 15n, 1],
        [10n * TOKEN, 2],
        [1000n * TOKEN, 2],
        [MAX_UINT128, 0.5],
        [MAX_UINT128 + 1n, 0.2],
      ),
      expiry: weighted<"past" | "now" | "max" | number>(
        ["past", 1],
        ["now", 1],
        [1, 1],
        [120, 2],
        [3600, 2],
        [86_400, 2],
        ["max", 1],
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("setBidBond" as const),
      actor: governanceSide,
      bond: weighted<bigint>(
        [0n, 2],
        [TOKEN / 10n, 2],
        [TOKEN, 2],
        [5n * TOKEN, 1],
        [50n * TOKEN, 1],
        [MAX_UINT128 + 1n, 0.2],
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("setStartTimeout" as const),
      actor: governanceSide,
      timeout: weighted<bigint>(
        [59n, 0.3],
        [60n, 2],
        [120n, 1],
        [600n, 1],
        [3600n, 1],
        [7n * 86_400n, 1],
        [7n * 86_400n + 1n, 0.3],
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("setSlashBps" as const),
      actor: governanceSide,
      bps: weighted<bigint>([0n, 1], [1n, 1], [500n, 2], [5000n, 1], [10_000n, 1], [10_001n, 0.3]),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("setProtocolFee" as const),
      actor: governanceSide,
      bps: weighted<bigint>([0n, 1], [1n, 1], [250n, 2], [1000n, 1], [1001n, 0.3]),
      treasury: weighted<Role | "treasury" | "zero">(
        ["treasury", 4],
        ["owner", 1],
        ["stranger", 1],
        ["providerA", 1],
        ["zero", 0.3],
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("requestUnstake" as const),
      actor: providerSide,
      mode: amountMode,
      permille: fc.integer({ min: 1, max: 1000 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("updateProvider" as const),
      actor: providerSide,
      attributes: weighted<string[]>(
        [[], 2],
        [[ATTRIBUTES.euWest], 2],
        [[ATTRIBUTES.euWest, ATTRIBUTES.gpu], 2],
        [[ATTRIBUTES.usEast], 1],
        [[ATTRIBUTES.gpu, ATTRIBUTES.gpu], 0.3],
      ),
    }),
  },
);

// ------------------------------------------------------------------ resolution

export type Resolved = { wait: bigint } | { call: Call };

/** The n-th live id; with none live, the n-th existing one; in "any" mode, any id from 0 to count + 1. */
function choose(p: Pick, live: bigint[], existing: bigint[], count: number): bigint {
  if (p.live && live.length > 0) return live[p.n % live.length];
  if (p.live && existing.length > 0) return existing[p.n % existing.length];
  return BigInt(p.n % (count + 2)); // 0 .. count+1: both ends are unknown ids
}

function portion(mode: "part" | "all" | "excess" | "zero", permille: number, of: bigint): bigint {
  switch (mode) {
    case "part":
      return (of * BigInt(permille)) / 1000n;
    case "all":
      return of;
    case "excess":
      return of + 1n;
    case "zero":
      return 0n;
  }
}

function version(n: number): string {
  return n === 0 ? ZeroHash : keccakId(`manifest-v${n}`);
}

const PROVIDERS: Role[] = ["providerA", "providerB", "providerC"];

function resolveSpec(c: SpecChoice, m: MarketModel, actors: Actors): RequirementSpec {
  const reputation = m.s.env.reputation.get(actors.address[PROVIDERS[c.reputationOf]]) ?? 0n;
  const minReputation = {
    zero: 0n,
    random: BigInt(c.reputationValue),
    exact: reputation,
    above: reputation + 1n,
    invalid: MAX_REPUTATION + 1n,
  }[c.minReputation];
  return {
    resources: {
      cpuMillis: c.cpuMillis,
      memoryMiB: c.memoryMiB,
      storageMiB: c.storageMiB,
      bandwidthMbps: c.bandwidthMbps,
    },
    maxPricePerSecond: c.maxPricePerSecond,
    duration: c.duration,
    biddingWindow: c.biddingWindow,
    minReputation,
    attributes: [...c.attributes],
  };
}

const U32_MAX = (1n << 32n) - 1n;

function resolveOffer(step: Extract<Step, { kind: "placeBid" }>, asked: Resources | undefined): Resources {
  const base: Resources = asked ?? { cpuMillis: 1000n, memoryMiB: 1024n, storageMiB: 1024n, bandwidthMbps: 100n };
  const offered = { ...base };
  if (step.offer === "more") {
    for (const k of RESOURCE_KEYS)
      offered[k] = base[k] + BigInt(step.extra) > U32_MAX ? U32_MAX : base[k] + BigInt(step.extra);
  } else if (step.offer === "less") {
    const k = RESOURCE_KEYS[step.resource];
    if (offered[k] > 0n) offered[k] -= 1n;
  }
  return offered;
}

function resolvePrice(step: Extract<Step, { kind: "placeBid" }>, limit: bigint | undefined): bigint {
  const max = limit ?? 1000n;
  switch (step.price) {
    case "tier": {
      const p = (max * BigInt(step.tier) + 3n) / 4n; // ceil(max * tier / 4): equal prices are common
      return p === 0n ? 1n : p;
    }
    case "random": {
      const p = (max * BigInt(step.permille)) / 1000n;
      return p === 0n ? 1n : p;
    }
    case "max":
      return max;
    case "above":
      return max + 1n + BigInt(step.permille % 3);
    case "zero":
      return 0n;
  }
}

/** Turn a generated step into a concrete call (or a time jump) against the current model state. */
export function resolve(step: Step, m: MarketModel, actors: Actors): Resolved {
  if (step.kind === "wait") return { wait: BigInt(step.seconds) };
  const s = m.s;
  let actor = actors.address[step.actor];
  const openDeployments = s.deployments.filter((d) => d.closedAt === 0n);
  const allDeployments = s.deployments.map((d) => d.id);
  const orders = s.orders;
  const allOrders = orders.map((o) => o.id);
  const charters = [...s.charters.values()];

  switch (step.kind) {
    case "deposit":
    case "withdraw": {
      const of = step.kind === "deposit" ? (s.env.wallets.get(actor) ?? 0n) : m.account(actor).available;
      return { call: { fn: step.kind, actor, amount: portion(step.mode, step.permille, of) } };
    }
    case "createDeployment":
      return { call: { fn: "createDeployment", actor, version: version(step.version) } };
    case "updateDeployment":
    case "createOrder": {
      const mine = openDeployments.filter((d) => m.actingFor(d.owner, actor) !== undefined);
      const live = (mine.length > 0 ? mine : openDeployments).map((d) => d.id);
      const deploymentId = choose(step.deployment, live, allDeployments, s.deployments.length);
      if (step.kind === "updateDeployment") {
        return { call: { fn: "updateDeployment", actor, deploymentId, version: version(step.version) } };
      }
      return { call: { fn: "createOrder", actor, deploymentId, spec: resolveSpec(step.spec, m, actors) } };
    }
    case "closeDeployment": {
      const mine = openDeployments.filter((d) => d.owner === actor);
      const live = (mine.length > 0 ? mine : openDeployments).map((d) => d.id);
      const deploymentId = choose(step.deployment, live, allDeployments, s.deployments.length);
      return { call: { fn: "closeDeployment", actor, deploymentId } };
    }
    case "cancelOrder": {
      const live = orders.filter((o) => o.state === OrderState.Open).map((o) => o.id);
      return { call: { fn: "cancelOrder", actor, orderId: choose(step.order, live, allOrders, orders.length) } };
    }
    case "matchOrder": {
      const live = orders
        .filter((o) => o.state === OrderState.Open && o.bidIds.length > 0 && !m.deploymentClosed(o.deploymentId))
        .map((o) => o.id);
      const orderId = choose(step.order, live, allOrders, orders.length);
      const o = m.order(orderId);
      if (step.party && o !== undefined) actor = o.tenant;
      return { call: { fn: "matchOrder", actor, orderId } };
    }
    case "placeBid": {
      const live = orders
        .filter((o) => o.state === OrderState.Open && s.now < o.closesAt && !m.deploymentClosed(o.deploymentId))
        .map((o) => o.id);
      const orderId = choose(step.order, live, allOrders, orders.length);
      const o = m.order(orderId);
      const price = resolvePrice(step, o?.spec.maxPricePerSecond);
      return { call: { fn: "placeBid", actor, orderId, price, offered: resolveOffer(step, o?.spec.resources) } };
    }
    case "releaseBid": {
      const unreleased = s.bids.filter((b) => !b.released);
      const releasable = unreleased.filter((b) => m.order(b.orderId)!.state !== OrderState.Open);
      const live = (releasable.length > 0 ? releasable : unreleased).map((b) => b.id);
      const allBids = s.bids.map((b) => b.id);
      return { call: { fn: "releaseBid", actor, bidId: choose(step.bid, live, allBids, s.bids.length) } };
    }
    case "acknowledge":
    case "claim":
    case "closeCharter":
    case "cancelUndelivered":
    case "extendCharter": {
      const wanted = {
        acknowledge: [CharterState.Pending],
        claim: [CharterState.Active],
        closeCharter: [CharterState.Pending, CharterState.Active],
        cancelUndelivered: [CharterState.Pending],
        extendCharter: [CharterState.Active],
      }[step.kind];
      const live = charters.filter((c) => wanted.includes(c.state)).map((c) => c.id);
      const charterId = choose(step.charter, live, [...s.charters.keys()], orders.length);
      const c = m.charter(charterId);
      if (step.party && c !== undefined) {
        actor =
          step.kind === "acknowledge" || (step.kind === "closeCharter" && step.charter.n % 2 === 0)
            ? c.provider
            : c.tenant;
      }
      if (step.kind === "extendCharter")
        return { call: { fn: "extendCharter", actor, charterId, extraSeconds: step.extra } };
      return { call: { fn: step.kind, actor, charterId } };
    }
    case "approveOperator": {
      const operator = step.operator === "zero" ? ZeroAddress : actors.address[step.operator];
      const expiry =
        step.expiry === "past"
          ? s.now - 1n
          : step.expiry === "now"
            ? s.now
            : step.expiry === "max"
              ? MAX_UINT64
              : s.now + BigInt(step.expiry);
      return { call: { fn: "approveOperator", actor, operator, allowance: step.allowance, expiry } };
    }
    case "setBidBond":
      return { call: { fn: "setBidBond", actor, bond: step.bond } };
    case "setStartTimeout":
      return { call: { fn: "setStartTimeout", actor, timeout: step.timeout } };
    case "setSlashBps":
      return { call: { fn: "setSlashBps", actor, bps: step.bps } };
    case "requestUnstake": {
      const amount = portion(step.mode, step.permille, s.env.stake.get(actor) ?? 0n);
      return { call: { fn: "requestUnstake", actor, amount } };
    }
    case "updateProvider":
      return {
        call: { fn: "update", actor, endpoint: `/dns4/${step.actor}.test/tcp/4001`, attributes: step.attributes },
      };
    case "setProtocolFee": {
      const treasury =
        step.treasury === "zero"
          ? ZeroAddress
          : step.treasury === "treasury"
            ? actors.treasury
            : actors.address[step.treasury];
      return { call: { fn: "setProtocolFee", actor, bps: step.bps, treasury } };
    }
  }
}

/** A short human description of a resolved step, for failure traces. */
export function describe(r: Resolved, actors: Actors): string {
  if ("wait" in r) return `wait ${r.wait}s`;
  const names = new Map<string, string>(Object.entries(actors.address).map(([k, v]) => [v, k]));
  names.set(actors.treasury, "treasury");
  const { fn, actor, ...args } = r.call;
  const text = JSON.stringify(args, (_k, v) => {
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "string" && names.has(v)) return names.get(v);
    return v;
  });
  return `${names.get(actor) ?? actor}.${fn}(${text})`;
}
