/**
 * Reference model of the Market for the property tests.
 *
 * The model is written from docs (PROTOCOL.md and the NatSpec of IMarket), not from Market.sol: for every call
 * it decides, before the chain sees it, whether the call must succeed, and if so what it changes. The driver
 * compares that prediction with what the chain did, then compares the whole model state with the chain state.
 * A success the model refuses names the invariant it breaks (an unauthorised success is invariant 5, a stored
 * bid that does not qualify is invariant 4, ...); a refusal the model accepts is a liveness bug or a model bug,
 * and fails the property too, so the model cannot drift silently.
 *
 * Some inputs come from outside the Market and are refreshed from the chain after every step (`env`): token
 * wallets (the ERC-20 is not under test here), and the registry's reputation and stakes. Two registry calls
 * are part of the random steps because the Market depends on them: a provider changing its attributes, and a
 * provider unstaking (a slash for non-delivery must still reach stake that is unbonding).
 *
 * The state is plain data (`ModelState`), so a fixture can build it once and each run starts from a
 * `structuredClone` of it.
 */

export const MAX_UINT128 = (1n << 128n) - 1n;
export const MAX_UINT64 = (1n << 64n) - 1n;
export const BPS = 10_000n;
export const MAX_FEE_BPS = 1_000n;
export const MIN_START_TIMEOUT = 60n;
export const MAX_START_TIMEOUT = 7n * 86_400n;
export const MAX_DURATION = 10n * 365n * 86_400n;
export const MAX_BIDDING_WINDOW = 30n * 86_400n;
export const MAX_ATTRIBUTES = 32;
export const MAX_REPUTATION = 10_000n;

// Mirrors of the IMarket enums (numeric values are the ABI's).
export enum OrderState {
  None,
  Open,
  Matched,
  Cancelled,
}
export enum CharterState {
  None,
  Pending,
  Active,
  Closed,
}
export enum CloseReason {
  None,
  ClosedByTenant,
  ClosedByProvider,
  Expired,
  Undelivered,
  DeploymentClosed,
}

export interface Resources {
  cpuMillis: bigint;
  memoryMiB: bigint;
  storageMiB: bigint;
  bandwidthMbps: bigint;
}

export const RESOURCE_KEYS = ["cpuMillis", "memoryMiB", "storageMiB", "bandwidthMbps"] as const;

export interface RequirementSpec {
  resources: Resources;
  maxPricePerSecond: bigint;
  duration: bigint;
  biddingWindow: bigint;
  minReputation: bigint;
  attributes: string[];
}

export interface Account {
  available: bigint;
  locked: bigint;
}

export interface DeploymentModel {
  id: bigint;
  owner: string;
  version: string;
  closedAt: bigint; // 0 while open
}

export interface OrderModel {
  id: bigint;
  deploymentId: bigint;
  tenant: string;
  state: OrderState;
  spec: RequirementSpec;
  closesAt: bigint;
  bidBond: bigint; // in force at creation
  bidIds: bigint[]; // every stored bid, in placement order
  matches: number; // OrderMatched events seen (must stay <= 1)
}

export interface BidModel {
  id: bigint;
  orderId: bigint;
  provider: string;
  price: bigint;
  released: boolean; // releaseBid succeeded
  bondReturns: number; // every movement of this bid's bond back (release, acknowledge, unstarted close, seizure)
}

export interface CharterModel {
  id: bigint; // = order id
  tenant: string;
  provider: string;
  deploymentId: bigint;
  bidId: bigint;
  price: bigint;
  duration: bigint; // extensions included
  feeBps: bigint;
  acknowledgeBy: bigint;
  acknowledgedAt: bigint; // 0 until acknowledged
  scheduledEnd: bigint; // acknowledgedAt + duration; never moved back
  closedAt: bigint; // when the charter was closed (0 while not)
  lockedTotal: bigint; // everything the tenant ever locked for this charter
  claimed: bigint; // gross paid to the provider so far (fee included)
  refunded: bigint;
  state: CharterState;
  closeReason: CloseReason;
}

export interface OperatorApprovalModel {
  allowance: bigint;
  expiry: bigint;
  active: boolean;
}

export interface Parameters {
  bidBond: bigint;
  startTimeout: bigint;
  slashBps: bigint;
  protocolFeeBps: bigint;
  treasury: string;
}

/** Values the Market reads from other contracts, refreshed from the chain after every step. */
export interface Environment {
  wallets: Map<string, bigint>;
  reputation: Map<string, bigint>;
  stake: Map<string, bigint>; // active stake
  unbonding: Map<string, bigint>; // requested for withdrawal, still slashable
}

export interface ModelState {
  now: bigint;
  market: string; // the Market's address (its token wallet)
  registry: string; // the registry's address (where stake is held)
  governance: string; // the Market's owner
  params: Parameters;
  accounts: Map<string, Account>;
  deployments: DeploymentModel[]; // index = id - 1
  orders: OrderModel[]; // index = id - 1
  bids: BidModel[]; // index = id - 1
  charters: Map<bigint, CharterModel>;
  approvals: Map<string, OperatorApprovalModel>; // key: `${owner}/${operator}`
  providers: Map<string, Set<string>>; // registered provider -> attributes it holds
  env: Environment;
  /** Token movements the Market caused this step, per wallet (deposit, withdraw, slashes). */
  walletDeltas: Map<string, bigint>;
}

/** One Market transaction, as the driver sends it. */
export type Call =
  | { fn: "deposit" | "withdraw"; actor: string; amount: bigint }
  | { fn: "createDeployment"; actor: string; version: string }
  | { fn: "updateDeployment"; actor: string; deploymentId: bigint; version: string }
  | { fn: "closeDeployment"; actor: string; deploymentId: bigint }
  | { fn: "createOrder"; actor: string; deploymentId: bigint; spec: RequirementSpec }
  | { fn: "cancelOrder" | "matchOrder"; actor: string; orderId: bigint }
  | { fn: "placeBid"; actor: string; orderId: bigint; price: bigint; offered: Resources }
  | { fn: "releaseBid"; actor: string; bidId: bigint }
  | { fn: "acknowledge" | "claim" | "closeCharter" | "cancelUndelivered"; actor: string; charterId: bigint }
  | { fn: "extendCharter"; actor: string; charterId: bigint; extraSeconds: bigint }
  | { fn: "approveOperator"; actor: string; operator: string; allowance: bigint; expiry: bigint }
  | { fn: "setBidBond"; actor: string; bond: bigint }
  | { fn: "setStartTimeout"; actor: string; timeout: bigint }
  | { fn: "setSlashBps"; actor: string; bps: bigint }
  | { fn: "setProtocolFee"; actor: string; bps: bigint; treasury: string }
  // ProviderRegistry calls
  | { fn: "requestUnstake"; actor: string; amount: bigint }
  | { fn: "update"; actor: string; endpoint: string; attributes: string[] };

/** Calls that go to the ProviderRegistry rather than the Market. */
export const REGISTRY_CALLS: ReadonlySet<Call["fn"]> = new Set(["requestUnstake", "update"]);

/** The ABI arguments of a call, in order. */
export function callArgs(call: Call): unknown[] {
  switch (call.fn) {
    case "deposit":
    case "withdraw":
      return [call.amount];
    case "createDeployment":
      return [call.version];
    case "updateDeployment":
      return [call.deploymentId, call.version];
    case "closeDeployment":
      return [call.deploymentId];
    case "createOrder":
      return [call.deploymentId, call.spec];
    case "cancelOrder":
    case "matchOrder":
      return [call.orderId];
    case "placeBid":
      return [call.orderId, call.price, call.offered];
    case "releaseBid":
      return [call.bidId];
    case "acknowledge":
    case "claim":
    case "closeCharter":
    case "cancelUndelivered":
      return [call.charterId];
    case "extendCharter":
      return [call.charterId, call.extraSeconds];
    case "approveOperator":
      return [call.operator, call.allowance, call.expiry];
    case "setBidBond":
      return [call.bond];
    case "setStartTimeout":
      return [call.timeout];
    case "setSlashBps":
      return [call.bps];
    case "setProtocolFee":
      return [call.bps, call.treasury];
    case "requestUnstake":
      return [call.amount];
    case "update":
      return [call.endpoint, call.attributes];
  }
}

/** A decoded log of the transaction (Market and registry events). */
export interface TxEvent {
  name: string;
  args: Record<string, unknown> & readonly unknown[];
}

/**
 * What the model expects of a call. A refusal carries the invariant a success would break (0 when the refusal
 * is about something no invariant names, e.g. a malformed spec).
 */
export type Prediction =
  { ok: false; invariant: number; why: string } | { ok: true; commit: (events: TxEvent[]) => void };

/** A broken invariant (or a model/chain disagreement); the message says which and why. */
export class InvariantViolation extends Error {
  override name = "InvariantViolation";
  constructor(
    readonly invariant: number,
    message: string,
  ) {
    super(invariant > 0 ? `invariant ${invariant}: ${message}` : message);
  }
}

function refuse(invariant: number, why: string): Prediction {
  return { ok: false, invariant, why };
}

function accept(commit: (events: TxEvent[]) => void): Prediction {
  return { ok: true, commit };
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const ZERO_HASH = "0x" + "0".repeat(64);
const ZERO_ADDRESS = "0x" + "0".repeat(40);

/** The model proper: rules and effects over a `ModelState`. */
export class MarketModel {
  constructor(readonly s: ModelState) {}

  // ------------------------------------------------------------------ lookups

  account(address: string): Account {
    let a = this.s.accounts.get(address);
    if (a === undefined) {
      a = { available: 0n, locked: 0n };
      this.s.accounts.set(address, a);
    }
    return a;
  }

  deployment(id: bigint): DeploymentModel | undefined {
    return id >= 1n && id <= BigInt(this.s.deployments.length) ? this.s.deployments[Number(id - 1n)] : undefined;
  }

  order(id: bigint): OrderModel | undefined {
    return id >= 1n && id <= BigInt(this.s.orders.length) ? this.s.orders[Number(id - 1n)] : undefined;
  }

  bid(id: bigint): BidModel | undefined {
    return id >= 1n && id <= BigInt(this.s.bids.length) ? this.s.bids[Number(id - 1n)] : undefined;
  }

  charter(id: bigint): CharterModel | undefined {
    return this.s.charters.get(id);
  }

  approval(owner: string, operator: string): OperatorApprovalModel | undefined {
    return this.s.approvals.get(`${owner}/${operator}`);
  }

  /** Whether `operator` may act for `owner` now (PROTOCOL.md, Operators). */
  isOperator(owner: string, operator: string): boolean {
    const a = this.approval(owner, operator);
    return a !== undefined && a.active && this.s.now < a.expiry;
  }

  /** "owner" when the owner acts, "operator" when its operator does, undefined otherwise. */
  actingFor(owner: string, actor: string): "owner" | "operator" | undefined {
    if (actor === owner) return "owner";
    return this.isOperator(owner, actor) ? "operator" : undefined;
  }

  deploymentClosed(id: bigint): boolean {
    const d = this.deployment(id);
    return d !== undefined && d.closedAt !== 0n;
  }

  /** The winner by the matching rule, computed from scratch: lowest price, then earliest bid. */
  winner(o: OrderModel): BidModel | undefined {
    let best: BidModel | undefined;
    for (const id of o.bidIds) {
      const b = this.bid(id)!;
      if (best === undefined || b.price < best.price || (b.price === best.price && b.id < best.id)) best = b;
    }
    return best;
  }

  /** When payment stops accruing for a charter, looking at time `at`. */
  accrualStop(c: CharterModel, at: bigint): bigint {
    let stop = min(at, c.scheduledEnd);
    const closedAt = this.deployment(c.deploymentId)!.closedAt;
    if (closedAt !== 0n) stop = min(stop, closedAt);
    if (c.closedAt !== 0n) stop = min(stop, c.closedAt);
    return stop;
  }

  /** Invariant 2's bound: price x seconds actually run, as of now. */
  earned(c: CharterModel): bigint {
    if (c.acknowledgedAt === 0n) return 0n;
    const stop = this.accrualStop(c, this.s.now);
    return stop > c.acknowledgedAt ? c.price * (stop - c.acknowledgedAt) : 0n;
  }

  /** The charter's `endsAt` as the chain reports it: moved back to where accrual stopped once closed. */
  reportedEndsAt(c: CharterModel): bigint {
    if (c.acknowledgedAt === 0n) return 0n;
    if (c.state !== CharterState.Closed) return c.scheduledEnd;
    return c.acknowledgedAt + this.earned(c) / c.price;
  }

  // ------------------------------------------------------------------ ledger movements

  private lock(address: string, amount: bigint): void {
    const a = this.account(address);
    if (a.available < amount) throw new InvariantViolation(0, `model: lock ${amount} > available of ${address}`);
    a.available -= amount;
    a.locked += amount;
  }

  private unlock(address: string, amount: bigint): void {
    const a = this.account(address);
    if (a.locked < amount) throw new InvariantViolation(0, `model: unlock ${amount} > locked of ${address}`);
    a.locked -= amount;
    a.available += amount;
  }

  /** locked of `from` -> available of `to` */
  private transferLocked(from: string, to: string, amount: bigint): void {
    const f = this.account(from);
    if (f.locked < amount) throw new InvariantViolation(0, `model: move ${amount} > locked of ${from}`);
    f.locked -= amount;
    this.account(to).available += amount;
  }

  private walletDelta(address: string, delta: bigint): void {
    this.s.walletDeltas.set(address, (this.s.walletDeltas.get(address) ?? 0n) + delta);
  }

  private returnBond(bid: BidModel, how: string): void {
    bid.bondReturns += 1;
    if (bid.bondReturns > 1) throw new InvariantViolation(4, `bond of bid ${bid.id} returned twice (${how})`);
  }

  /** Pay `gross` of a charter: the fee (charter's rate) to the current treasury, the rest to the provider. */
  private pay(c: CharterModel, gross: bigint, events: TxEvent[]): void {
    const fee = (gross * c.feeBps) / BPS;
    this.transferLocked(c.tenant, c.provider, gross - fee);
    if (fee !== 0n) this.transferLocked(c.tenant, this.s.params.treasury, fee);
    c.claimed += gross;
    const e = events.find((x) => x.name === "PaymentClaimed" && x.args.charterId === c.id);
    if (e === undefined || e.args.amount !== gross - fee || e.args.fee !== fee) {
      throw new InvariantViolation(2, `charter ${c.id}: expected PaymentClaimed(${gross - fee}, fee ${fee})`);
    }
  }

  // ------------------------------------------------------------------ rules and effects

  predict(call: Call): Prediction {
    switch (call.fn) {
      case "deposit":
        return this.deposit(call.actor, call.amount);
      case "withdraw":
        return this.withdraw(call.actor, call.amount);
      case "createDeployment":
        return this.createDeployment(call.actor, call.version);
      case "updateDeployment":
        return this.updateDeployment(call.actor, call.deploymentId, call.version);
      case "closeDeployment":
        return this.closeDeployment(call.actor, call.deploymentId);
      case "createOrder":
        return this.createOrder(call.actor, call.deploymentId, call.spec);
      case "cancelOrder":
        return this.cancelOrder(call.actor, call.orderId);
      case "placeBid":
        return this.placeBid(call.actor, call.orderId, call.price, call.offered);
      case "matchOrder":
        return this.matchOrder(call.actor, call.orderId);
      case "releaseBid":
        return this.releaseBid(call.bidId);
      case "acknowledge":
        return this.acknowledge(call.actor, call.charterId);
      case "claim":
        return this.claim(call.charterId);
      case "closeCharter":
        return this.closeCharter(call.actor, call.charterId);
      case "cancelUndelivered":
        return this.cancelUndelivered(call.actor, call.charterId);
      case "extendCharter":
        return this.extendCharter(call.actor, call.charterId, call.extraSeconds);
      case "approveOperator":
        return this.approveOperator(call.actor, call.operator, call.allowance, call.expiry);
      case "setBidBond":
        return this.governed(call.actor, call.bond > MAX_UINT128 ? "bond" : undefined, () => {
          this.s.params.bidBond = call.bond;
        });
      case "setStartTimeout":
        return this.governed(
          call.actor,
          call.timeout < MIN_START_TIMEOUT || call.timeout > MAX_START_TIMEOUT ? "timeout" : undefined,
          () => {
            this.s.params.startTimeout = call.timeout;
          },
        );
      case "setSlashBps":
        return this.governed(call.actor, call.bps > BPS ? "bps" : undefined, () => {
          this.s.params.slashBps = call.bps;
        });
      case "requestUnstake":
        return this.requestUnstake(call.actor, call.amount);
      case "update":
        return this.updateProvider(call.actor, call.attributes);
      case "setProtocolFee":
        return this.governed(
          call.actor,
          call.bps > MAX_FEE_BPS ? "bps" : call.treasury === ZERO_ADDRESS ? "treasury" : undefined,
          () => {
            this.s.params.protocolFeeBps = call.bps;
            this.s.params.treasury = call.treasury;
          },
        );
    }
  }

  private governed(actor: string, invalid: string | undefined, apply: () => void): Prediction {
    if (actor !== this.s.governance) return refuse(5, `${actor} is not governance`);
    if (invalid !== undefined) return refuse(0, `invalid ${invalid}`);
    return accept(apply);
  }

  private deposit(actor: string, amount: bigint): Prediction {
    if (amount === 0n) return refuse(0, "zero amount");
    if ((this.s.env.wallets.get(actor) ?? 0n) < amount) return refuse(1, "wallet too small");
    const a = this.account(actor);
    if (a.available + a.locked + amount > MAX_UINT128) return refuse(0, "balance above 2^128");
    return accept(() => {
      a.available += amount;
      this.walletDelta(actor, -amount);
      this.walletDelta(this.s.market, amount);
    });
  }

  private withdraw(actor: string, amount: bigint): Prediction {
    if (amount === 0n) return refuse(0, "zero amount");
    const a = this.account(actor);
    if (a.available < amount) return refuse(1, `withdraw ${amount} > available ${a.available}`);
    return accept(() => {
      a.available -= amount;
      this.walletDelta(actor, amount);
      this.walletDelta(this.s.market, -amount);
    });
  }

  private createDeployment(actor: string, version: string): Prediction {
    if (version === ZERO_HASH) return refuse(0, "zero version");
    return accept((events) => {
      const id = BigInt(this.s.deployments.length + 1);
      expectEvent(events, "DeploymentCreated", { deploymentId: id, owner: actor, version });
      this.s.deployments.push({ id, owner: actor, version, closedAt: 0n });
    });
  }

  private updateDeployment(actor: string, id: bigint, version: string): Prediction {
    const d = this.deployment(id);
    if (d === undefined) return refuse(0, `unknown deployment ${id}`);
    if (d.closedAt !== 0n) return refuse(0, `deployment ${id} closed`);
    if (this.actingFor(d.owner, actor) === undefined) return refuse(5, `${actor} may not update deployment ${id}`);
    if (version === ZERO_HASH) return refuse(0, "zero version");
    if (version === d.version) return refuse(0, "same version");
    return accept(() => {
      d.version = version;
    });
  }

  private closeDeployment(actor: string, id: bigint): Prediction {
    const d = this.deployment(id);
    if (d === undefined) return refuse(0, `unknown deployment ${id}`);
    if (d.closedAt !== 0n) return refuse(0, `deployment ${id} already closed`);
    if (actor !== d.owner) return refuse(5, `${actor} may not close deployment ${id}`);
    return accept(() => {
      d.closedAt = this.s.now;
    });
  }

  private invalidSpec(spec: RequirementSpec): string | undefined {
    if (spec.resources.cpuMillis === 0n) return "cpuMillis";
    if (spec.resources.memoryMiB === 0n) return "memoryMiB";
    if (spec.maxPricePerSecond === 0n) return "maxPricePerSecond";
    if (spec.duration === 0n || spec.duration > MAX_DURATION) return "duration";
    if (spec.biddingWindow === 0n || spec.biddingWindow > MAX_BIDDING_WINDOW) return "biddingWindow";
    if (spec.minReputation > MAX_REPUTATION) return "minReputation";
    if (spec.attributes.length > MAX_ATTRIBUTES) return "attributes";
    return undefined;
  }

  /** A lock from `owner`'s balance by `actor`: the refusal, or undefined when it may happen. */
  private lockRefusal(owner: string, actor: string, amount: bigint): Prediction | undefined {
    if (actor !== owner) {
      const allowance = this.approval(owner, actor)?.allowance ?? 0n;
      if (allowance < amount) return refuse(5, `lock ${amount} above operator allowance ${allowance}`);
    }
    const available = this.account(owner).available;
    if (available < amount) return refuse(1, `lock ${amount} above available ${available}`);
    return undefined;
  }

  private lockFor(owner: string, actor: string, amount: bigint): void {
    if (actor !== owner) this.approval(owner, actor)!.allowance -= amount;
    this.lock(owner, amount);
  }

  private createOrder(actor: string, deploymentId: bigint, spec: RequirementSpec): Prediction {
    const d = this.deployment(deploymentId);
    if (d === undefined) return refuse(0, `unknown deployment ${deploymentId}`);
    if (d.closedAt !== 0n) return refuse(0, `deployment ${deploymentId} closed`);
    if (this.actingFor(d.owner, actor) === undefined) {
      return refuse(5, `${actor} may not order for deployment ${deploymentId}`);
    }
    const invalid = this.invalidSpec(spec);
    if (invalid !== undefined) return refuse(0, `invalid spec: ${invalid}`);
    const escrow = spec.maxPricePerSecond * spec.duration;
    const refusal = this.lockRefusal(d.owner, actor, escrow);
    if (refusal !== undefined) return refusal;
    return accept((events) => {
      const id = BigInt(this.s.orders.length + 1);
      expectEvent(events, "OrderCreated", { orderId: id, deploymentId, tenant: d.owner });
      this.lockFor(d.owner, actor, escrow);
      this.s.orders.push({
        id,
        deploymentId,
        tenant: d.owner,
        state: OrderState.Open,
        spec: structuredClone(spec),
        closesAt: this.s.now + spec.biddingWindow,
        bidBond: this.s.params.bidBond,
        bidIds: [],
        matches: 0,
      });
    });
  }

  private cancelOrder(actor: string, orderId: bigint): Prediction {
    const o = this.order(orderId);
    if (o === undefined) return refuse(0, `unknown order ${orderId}`);
    if (o.state !== OrderState.Open) return refuse(4, `order ${orderId} is not open`);
    if (!this.deploymentClosed(o.deploymentId) && this.actingFor(o.tenant, actor) === undefined) {
      return refuse(5, `${actor} may not cancel order ${orderId}`);
    }
    return accept(() => {
      o.state = OrderState.Cancelled;
      this.unlock(o.tenant, o.spec.maxPricePerSecond * o.spec.duration);
    });
  }

  /** Why a bid does not qualify (PROTOCOL.md, Bids), or undefined when it does. */
  bidRefusal(actor: string, orderId: bigint, price: bigint, offered: Resources): string | undefined {
    const o = this.order(orderId);
    if (o === undefined) return `unknown order ${orderId}`;
    if (o.state !== OrderState.Open) return `order ${orderId} is not open`;
    if (this.deploymentClosed(o.deploymentId)) return `deployment ${o.deploymentId} closed`;
    if (this.s.now >= o.closesAt) return `bidding on order ${orderId} closed at ${o.closesAt}`;
    if (actor === o.tenant) return "the tenant bids";
    if (price === 0n) return "zero price";
    if (price > o.spec.maxPricePerSecond) return `price ${price} above ${o.spec.maxPricePerSecond}`;
    for (const k of RESOURCE_KEYS) {
      if (offered[k] < o.spec.resources[k]) return `${k} ${offered[k]} below ${o.spec.resources[k]}`;
    }
    const attributes = this.s.providers.get(actor);
    if (attributes === undefined) return `${actor} is not a provider`;
    const reputation = this.s.env.reputation.get(actor) ?? 0n;
    if (reputation < o.spec.minReputation) return `reputation ${reputation} below ${o.spec.minReputation}`;
    const missing = o.spec.attributes.find((x) => !attributes.has(x));
    if (missing !== undefined) return `missing attribute ${missing}`;
    if (o.bidIds.some((id) => this.bid(id)!.provider === actor)) return "second bid by the same provider";
    return undefined;
  }

  private placeBid(actor: string, orderId: bigint, price: bigint, offered: Resources): Prediction {
    const why = this.bidRefusal(actor, orderId, price, offered);
    if (why !== undefined) return refuse(4, why);
    const o = this.order(orderId)!;
    if (this.account(actor).available < o.bidBond) return refuse(1, "bond above available balance");
    return accept((events) => {
      const id = BigInt(this.s.bids.length + 1);
      expectEvent(events, "BidPlaced", { orderId, bidId: id, provider: actor, pricePerSecond: price });
      if (o.bidBond !== 0n) this.lock(actor, o.bidBond);
      this.s.bids.push({ id, orderId, provider: actor, price, released: false, bondReturns: 0 });
      o.bidIds.push(id);
    });
  }

  private matchOrder(actor: string, orderId: bigint): Prediction {
    const o = this.order(orderId);
    if (o === undefined) return refuse(0, `unknown order ${orderId}`);
    if (o.state !== OrderState.Open) return refuse(4, `order ${orderId} is not open (matched at most once)`);
    if (this.deploymentClosed(o.deploymentId)) return refuse(0, `deployment ${o.deploymentId} closed`);
    if (this.s.now < o.closesAt && this.actingFor(o.tenant, actor) === undefined) {
      return refuse(5, `${actor} may not match order ${orderId} before its window closes`);
    }
    const w = this.winner(o);
    if (w === undefined) return refuse(0, `order ${orderId} has no bids`);
    return accept((events) => {
      const matched = events.find((e) => e.name === "OrderMatched");
      o.matches += 1;
      if (o.matches > 1) throw new InvariantViolation(4, `order ${orderId} matched twice`);
      if (matched === undefined || matched.args.bidId !== w.id || matched.args.charterId !== orderId) {
        throw new InvariantViolation(
          3,
          `order ${orderId} matched with bid ${matched?.args.bidId}, the rule picks bid ${w.id} ` +
            `(bids: ${o.bidIds.map((id) => `${id}@${this.bid(id)!.price}`).join(", ")})`,
        );
      }
      o.state = OrderState.Matched;
      this.unlock(o.tenant, (o.spec.maxPricePerSecond - w.price) * o.spec.duration);
      this.s.charters.set(orderId, {
        id: orderId,
        tenant: o.tenant,
        provider: w.provider,
        deploymentId: o.deploymentId,
        bidId: w.id,
        price: w.price,
        duration: o.spec.duration,
        feeBps: this.s.params.protocolFeeBps,
        acknowledgeBy: this.s.now + this.s.params.startTimeout,
        acknowledgedAt: 0n,
        scheduledEnd: 0n,
        closedAt: 0n,
        lockedTotal: w.price * o.spec.duration,
        claimed: 0n,
        refunded: 0n,
        state: CharterState.Pending,
        closeReason: CloseReason.None,
      });
    });
  }

  private releaseBid(bidId: bigint): Prediction {
    const b = this.bid(bidId);
    if (b === undefined) return refuse(0, `unknown bid ${bidId}`);
    if (b.released) return refuse(4, `bond of bid ${bidId} already released`);
    const o = this.order(b.orderId)!;
    if (o.state === OrderState.Matched && this.charter(o.id)!.bidId === bidId) {
      return refuse(4, `bid ${bidId} won: its bond belongs to the charter`);
    }
    if (o.state === OrderState.Open && !this.deploymentClosed(o.deploymentId)) {
      return refuse(4, `bid ${bidId} is still binding`);
    }
    return accept((events) => {
      expectEvent(events, "BidReleased", { bidId, provider: b.provider, bond: o.bidBond });
      b.released = true;
      this.returnBond(b, "releaseBid");
      if (o.bidBond !== 0n) this.unlock(b.provider, o.bidBond);
    });
  }

  private existingCharter(id: bigint): CharterModel | string {
    return this.charter(id) ?? `unknown charter ${id}`;
  }

  private acknowledge(actor: string, id: bigint): Prediction {
    const c = this.existingCharter(id);
    if (typeof c === "string") return refuse(0, c);
    if (actor !== c.provider) return refuse(5, `${actor} is not the provider of charter ${id}`);
    if (c.state !== CharterState.Pending) return refuse(0, `charter ${id} is not pending`);
    if (this.s.now > c.acknowledgeBy) return refuse(0, `too late to acknowledge charter ${id}`);
    if (this.deploymentClosed(c.deploymentId)) return refuse(0, `deployment ${c.deploymentId} closed`);
    return accept(() => {
      c.acknowledgedAt = this.s.now;
      c.scheduledEnd = this.s.now + c.duration;
      c.state = CharterState.Active;
      const bond = this.order(id)!.bidBond;
      this.returnBond(this.bid(c.bidId)!, "acknowledge");
      if (bond !== 0n) this.unlock(c.provider, bond);
    });
  }

  private claim(id: bigint): Prediction {
    const c = this.existingCharter(id);
    if (typeof c === "string") return refuse(0, c);
    if (c.state !== CharterState.Active) return refuse(0, `charter ${id} is not active`);
    const due = this.earned(c) - c.claimed;
    if (due === 0n) return refuse(2, `nothing to claim on charter ${id}`);
    return accept((events) => this.pay(c, due, events));
  }

  private closeCharter(actor: string, id: bigint): Prediction {
    const c = this.existingCharter(id);
    if (typeof c === "string") return refuse(0, c);
    if (c.state === CharterState.Closed) return refuse(0, `charter ${id} already closed`);
    const deploymentClosed = this.deploymentClosed(c.deploymentId);
    const byTenant = this.actingFor(c.tenant, actor) !== undefined;
    const byProvider = actor === c.provider;
    if (c.state === CharterState.Pending) {
      if (byProvider && !deploymentClosed) return accept((events) => this.closeUndelivered(c, events));
      if (byTenant || deploymentClosed) {
        const reason = deploymentClosed ? CloseReason.DeploymentClosed : CloseReason.ClosedByTenant;
        return accept((events) => this.closeUnstarted(c, reason, events));
      }
      return refuse(5, `${actor} may not close pending charter ${id}`);
    }
    // A deployment closed before the charter's end stopped it there, even if the end has passed since (IMarket:
    // a lazy close reads like an eager one).
    const deploymentClosedAt = this.deployment(c.deploymentId)!.closedAt;
    let reason: CloseReason;
    if (deploymentClosed && deploymentClosedAt < c.scheduledEnd) reason = CloseReason.DeploymentClosed;
    else if (this.s.now >= c.scheduledEnd) reason = CloseReason.Expired;
    else if (byTenant) reason = CloseReason.ClosedByTenant;
    else if (byProvider) reason = CloseReason.ClosedByProvider;
    else return refuse(5, `${actor} may not close active charter ${id}`);
    return accept((events) => this.closeActive(c, reason, events));
  }

  private closeActive(c: CharterModel, reason: CloseReason, events: TxEvent[]): void {
    const earned = this.earned(c);
    const unpaid = earned - c.claimed;
    if (unpaid !== 0n) this.pay(c, unpaid, events);
    const refund = c.lockedTotal - earned;
    this.unlock(c.tenant, refund);
    c.refunded += refund;
    this.finishClose(c, reason, events, unpaid === 0n ? 0n : unpaid - (unpaid * c.feeBps) / BPS, refund);
  }

  private closeUnstarted(c: CharterModel, reason: CloseReason, events: TxEvent[]): void {
    this.unlock(c.tenant, c.lockedTotal);
    c.refunded += c.lockedTotal;
    const bond = this.order(c.id)!.bidBond;
    this.returnBond(this.bid(c.bidId)!, "unstarted close");
    if (bond !== 0n) this.unlock(c.provider, bond);
    this.finishClose(c, reason, events, 0n, c.lockedTotal);
  }

  private closeUndelivered(c: CharterModel, events: TxEvent[]): void {
    this.unlock(c.tenant, c.lockedTotal);
    c.refunded += c.lockedTotal;
    const bond = this.order(c.id)!.bidBond;
    this.returnBond(this.bid(c.bidId)!, "seizure");
    if (bond !== 0n) this.transferLocked(c.provider, c.tenant, bond);
    this.finishClose(c, CloseReason.Undelivered, events, 0n, c.lockedTotal);

    // Active and unbonding stake alike (PROTOCOL.md: unstaking right after a match does not dodge a slash).
    const env = this.s.env;
    const slashable = (env.stake.get(c.provider) ?? 0n) + (env.unbonding.get(c.provider) ?? 0n);
    const expected = (slashable * this.s.params.slashBps) / BPS;
    const slashed = events.filter((e) => e.name === "Slashed");
    const taken = slashed.reduce((sum, e) => sum + (e.args.amount as bigint), 0n);
    if (taken !== expected) {
      throw new InvariantViolation(0, `charter ${c.id}: slashed ${taken}, expected ${expected}`);
    }
    for (const e of slashed) {
      this.walletDelta(e.args.treasury as string, e.args.amount as bigint);
      this.walletDelta(this.s.registry, -(e.args.amount as bigint));
    }
  }

  private finishClose(c: CharterModel, reason: CloseReason, events: TxEvent[], paid: bigint, refund: bigint): void {
    c.state = CharterState.Closed;
    c.closeReason = reason;
    c.closedAt = this.s.now;
    expectEvent(events, "CharterClosed", {
      charterId: c.id,
      reason: BigInt(reason),
      paidToProvider: paid,
      refundedToTenant: refund,
    });
  }

  private cancelUndelivered(actor: string, id: bigint): Prediction {
    const c = this.existingCharter(id);
    if (typeof c === "string") return refuse(0, c);
    if (this.actingFor(c.tenant, actor) === undefined) return refuse(5, `${actor} may not cancel charter ${id}`);
    if (c.state !== CharterState.Pending) return refuse(0, `charter ${id} is not pending`);
    if (this.s.now <= c.acknowledgeBy) return refuse(0, `start timeout of charter ${id} not over`);
    // A closed deployment cannot be acknowledged, so the provider is not at fault (closeCharter unwinds it).
    if (this.deploymentClosed(c.deploymentId)) return refuse(0, `deployment ${c.deploymentId} closed`);
    return accept((events) => this.closeUndelivered(c, events));
  }

  private extendCharter(actor: string, id: bigint, extra: bigint): Prediction {
    const c = this.existingCharter(id);
    if (typeof c === "string") return refuse(0, c);
    if (this.actingFor(c.tenant, actor) === undefined) return refuse(5, `${actor} may not extend charter ${id}`);
    if (c.state !== CharterState.Active) return refuse(0, `charter ${id} is not active`);
    if (this.s.now >= c.scheduledEnd) return refuse(0, `charter ${id} ended`);
    if (this.deploymentClosed(c.deploymentId)) return refuse(0, `deployment ${c.deploymentId} closed`);
    if (extra === 0n) return refuse(0, "zero extension");
    const end = c.scheduledEnd + extra;
    if (end > MAX_UINT64 || end - c.acknowledgedAt > MAX_DURATION) return refuse(0, "extension too long");
    const amount = c.price * extra;
    const refusal = this.lockRefusal(c.tenant, actor, amount);
    if (refusal !== undefined) return refusal;
    return accept(() => {
      this.lockFor(c.tenant, actor, amount);
      c.scheduledEnd = end;
      c.duration += extra;
      c.lockedTotal += amount;
    });
  }

  private requestUnstake(actor: string, amount: bigint): Prediction {
    const stake = this.s.env.stake.get(actor) ?? 0n;
    if (amount === 0n || amount > stake) return refuse(0, `unstake ${amount} of ${stake}`);
    return accept(() => {}); // the registry's business; stakes and reputation come back through env
  }

  private updateProvider(actor: string, attributes: string[]): Prediction {
    if (!this.s.providers.has(actor)) return refuse(0, `${actor} is not a provider`);
    if (new Set(attributes).size !== attributes.length) return refuse(0, "duplicate attribute");
    return accept(() => {
      this.s.providers.set(actor, new Set(attributes));
    });
  }

  private approveOperator(actor: string, operator: string, allowance: bigint, expiry: bigint): Prediction {
    if (operator === ZERO_ADDRESS || operator === actor) return refuse(0, `invalid operator ${operator}`);
    if (allowance > MAX_UINT128) return refuse(0, "allowance above 2^128");
    return accept(() => {
      this.s.approvals.set(`${actor}/${operator}`, {
        allowance,
        expiry,
        active: allowance !== 0n && expiry > this.s.now,
      });
    });
  }
}

/** Check that `events` holds `name` with (at least) the given argument values. */
export function expectEvent(events: TxEvent[], name: string, args: Record<string, unknown>): void {
  const found = events.filter((e) => e.name === name);
  const ok = found.some((e) => Object.entries(args).every(([k, v]) => e.args[k] === v));
  if (!ok) {
    const seen = found.map((e) => JSON.stringify(e.args, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    throw new InvariantViolation(0, `expected event ${name}(${JSON.stringify(args, bigintJson)}), saw [${seen}]`);
  }
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** A fresh model state. */
export function emptyState(
  now: bigint,
  contracts: { market: string; registry: string },
  governance: string,
  treasury: string,
  env: Environment,
): ModelState {
  return {
    now,
    ...contracts,
    governance,
    params: { bidBond: 0n, startTimeout: 600n, slashBps: 500n, protocolFeeBps: 0n, treasury },
    accounts: new Map(),
    deployments: [],
    orders: [],
    bids: [],
    charters: new Map(),
    approvals: new Map(),
    providers: new Map(),
    env,
    walletDeltas: new Map(),
  };
}
