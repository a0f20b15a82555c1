/**
 * The bid engine (Akash's `bidengine/`): one decision per order, recorded with its reason and queryable.
 *
 * For every OrderCreated the watcher delivers: local checks first (attributes this provider lacks, the
 * maxConcurrentCharters limit, the pricing strategy's price against the order's limit, capacity through an
 * inventory reservation), then the contract's own rule (`market.checkBid`), decoded into the contract's words. A
 * qualifying order gets a bid; nothing is ever bid twice: the state records bids sent, and before sending the engine
 * looks for its own BidPlaced log on that order (a bid sent just before a crash), and checkBid refuses a duplicate.
 *
 * Afterwards it follows the order: a bid that lost (OrderMatched to another bid), a cancelled order, an order that
 * expired (window closed and still unmatched after a grace period), a closed deployment or an ended charter give the
 * reservation back. When a window closes and this provider holds the best bid, it matches the order itself, so
 * matching never waits for the tenant. A won order becomes a committed reservation and a `charterWon` event for the
 * charter manager.
 */
import { EventEmitter } from "node:events";
import { Contract, zeroPadValue, toBeHex } from "ethers";
import type { ContractTransactionReceipt, ContractTransactionResponse, Provider, Signer } from "ethers";
import { marketAbi } from "../chain/abis";
import { decodeContractError, decodeRevertData, isTom3Error } from "../chain/errors";
import type { Tom3ContractError } from "../chain/errors";
import type { Resources } from "../chain/units";
import type { Inventory, ReleaseReason } from "./inventory";
import type { ProviderMetrics } from "./metrics";
import type { PricingStrategy } from "./pricing";
import type { StateStore } from "./state";
import { mapLimit, topicOf, withTimeout } from "./watcher";
import type { ChainHead, ChainWatcher, MarketEvent } from "./watcher";

/** matchOrder refusals that settle the order: never tried again. */
const MATCH_FINAL = new Set(["MarketOrderNotOpen", "MarketDeploymentClosed", "MarketNoBids", "MarketUnknownOrder"]);
const MAX_MATCH_ATTEMPTS = 5;

export type Outcome = "won" | "lost" | "cancelled" | "expired" | "deployment-closed" | "failed";

interface DecisionBase {
  orderId: string;
  deploymentId: string;
  tenant: string;
  /** unix seconds */
  closesAt: string;
  resources: Resources;
  /** wall-clock ms when decided */
  decidedAt: number;
}

export interface BidDecision extends DecisionBase {
  kind: "bid";
  price: string;
  breakdown?: Record<string, string | boolean>;
  offered: Resources;
  txHash?: string;
  bidId?: string;
  outcome?: Outcome;
  /** Why the bid transaction failed (outcome "failed"): the contract's error name and a sentence, as for a decline. */
  failure?: { code: string; reason: string };
}

export interface DeclineDecision extends DecisionBase {
  kind: "decline";
  /** Stable code: the contract's custom error name (`MarketPriceAboveLimit`) or a local `Provider…` code. */
  code: string;
  /** A sentence a person reads. */
  reason: string;
}

export type Decision = BidDecision | DeclineDecision;

/** What the charter manager gets when an order is won. */
export interface WonOrder {
  charterId: bigint;
  orderId: bigint;
  deploymentId: bigint;
  tenant: string;
  resources: Resources;
  pricePerSecond: bigint;
}

export interface BidEngineEvents {
  decision: [Decision];
  bidSent: [BidDecision];
  charterWon: [bigint, WonOrder];
  released: [string, ReleaseReason];
  matched: [string, string];
  error: [Error];
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export interface BidEngineOptions {
  watcher: ChainWatcher;
  /** Reads (checkBid, bestBid, logs). */
  provider: Provider;
  /** Sends bids and matches: this provider's key. */
  signer: Signer;
  market: string;
  self: string;
  inventory: Inventory;
  state: StateStore;
  strategy: PricingStrategy;
  /** keccak256("key=value") ids this provider holds, with their text for readable declines. */
  attributes: ReadonlyMap<string, string> | readonly string[];
  maxConcurrentCharters?: number;
  /** An unmatched order's reservation is released this long after its window closed (default 300 s). */
  expiryGraceSeconds?: number;
  /** Orders decided in parallel (reads); sends are always one at a time (default 16). */
  concurrency?: number;
  rpcTimeoutMs?: number;
  txTimeoutMs?: number;
  metrics?: ProviderMetrics;
  logger?: Logger;
}

/**
 * The gas limit a bid is sent with (no estimation). placeBid measured at most 106,058 gas with a bid bond and
 * 112,085 with two required attributes (bench/results/gas.json), so about 5,800 per attribute; the first bid a
 * Market ever receives writes a fresh counter slot (about 17,100 more). 150,000 + 10,000 per attribute keeps over
 * 25 % of headroom in every case up to the Market's 32 attributes; gas not used is not paid.
 */
export function placeBidGasLimit(attributes: number): bigint {
  return 150_000n + 10_000n * BigInt(attributes);
}

export class BidEngine extends EventEmitter<BidEngineEvents> {
  private readonly market: Contract;
  private readonly writer: Contract;
  private readonly attributes: ReadonlyMap<string, string>;
  private readonly log: Logger;
  private readonly grace: bigint;
  private readonly selfTopic: string;
  private unsubscribe: (() => void) | undefined;
  private controller: AbortController | undefined;
  private sendChain: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Orders past their window where another provider holds the best bid: asked once per process. */
  private readonly notBest = new Set<string>();
  private readonly notified = new Set<string>();
  /** matchOrder attempts refused for a reason that may pass, and the head they were made at (per process). */
  private readonly matchAttempts = new Map<string, { attempts: number; block: number }>();

  constructor(private readonly o: BidEngineOptions) {
    super();
    this.market = new Contract(o.market, marketAbi, o.provider);
    this.writer = new Contract(o.market, marketAbi, o.signer);
    this.attributes = Array.isArray(o.attributes)
      ? new Map((o.attributes as string[]).map((id) => [id.toLowerCase(), id]))
      : new Map([...(o.attributes as ReadonlyMap<string, string>)].map(([id, text]) => [id.toLowerCase(), text]));
    this.log = o.logger ?? silent;
    this.grace = BigInt(o.expiryGraceSeconds ?? 300);
    this.selfTopic = zeroPadValue(o.self, 32);
    this.updateGauges();
  }

  start(): void {
    if (this.controller) return;
    this.controller = new AbortController();
    this.unsubscribe = this.o.watcher.subscribe((events, head) => this.onBatch(events, head));
  }

  /** Stop taking events; waits for bids and matches already sent to be confirmed (or time out). */
  async stop(): Promise<void> {
    if (!this.controller) return;
    this.unsubscribe?.();
    this.controller.abort();
    await Promise.allSettled([...this.inFlight]);
    this.controller = undefined;
  }

  /** The decision on `orderId`, if one was made. */
  decision(orderId: bigint | string): Decision | undefined {
    return this.o.state.get<Decision>("decisions", String(orderId));
  }

  decisions(): Decision[] {
    return this.o.state.all<Decision>("decisions").map(([, d]) => d);
  }

  /** Resolves when `orderId` has a decision (and, for a bid, its bid id). */
  async waitForDecision(orderId: bigint | string, timeoutMs = 20_000): Promise<Decision> {
    const id = String(orderId);
    const ready = (d: Decision | undefined) => d && (d.kind === "decline" || d.bidId !== undefined || d.outcome);
    const now = this.decision(id);
    if (ready(now)) return now!;
    return withTimeout(
      new Promise<Decision>((resolve) => {
        const listener = (d: Decision) => {
          if (d.orderId === id && ready(d)) {
            this.off("decision", listener);
            resolve(d);
          }
        };
        this.on("decision", listener);
      }),
      timeoutMs,
      `decision on order ${id}`,
    );
  }

  // ------------------------------------------------------------------ events from the watcher

  private async onBatch(events: MarketEvent[], head: ChainHead): Promise<void> {
    let i = 0;
    while (i < events.length) {
      if (events[i].type === "OrderCreated") {
        let j = i;
        while (j < events.length && events[j].type === "OrderCreated") j++;
        await mapLimit(events.slice(i, j), this.o.concurrency ?? 16, (e) =>
          this.onOrderCreated(e as Extract<MarketEvent, { type: "OrderCreated" }>),
        );
        i = j;
      } else {
        await this.onEvent(events[i]);
        i++;
      }
    }
    await this.tick(head);
    this.updateGauges();
  }

  private async onOrderCreated(e: Extract<MarketEvent, { type: "OrderCreated" }>): Promise<void> {
    const id = String(e.orderId);
    if (this.decision(id)) return; // delivered again (restart, reorg, retry): already decided
    this.o.metrics?.ordersSeen.inc();
    const base: DecisionBase = {
      orderId: id,
      deploymentId: String(e.deploymentId),
      tenant: e.tenant,
      closesAt: String(e.closesAt),
      resources: e.spec.resources,
      decidedAt: Date.now(),
    };

    const missing = e.spec.attributes.find((a) => !this.attributes.has(a));
    if (missing) {
      return this.decline(base, "ProviderMissingAttribute", `this provider does not hold the attribute ${missing} that the order requires`);
    }
    const held = this.o.inventory.get(id);
    if (!held && this.o.maxConcurrentCharters !== undefined) {
      const { reserved, committed } = this.o.inventory.counts();
      if (reserved + committed >= this.o.maxConcurrentCharters) {
        return this.decline(
          base,
          "ProviderCharterLimit",
          `this provider already holds ${reserved + committed} charters and open bids, its limit (maxConcurrentCharters ${this.o.maxConcurrentCharters})`,
        );
      }
    }
    const priced = this.o.strategy.price({
      orderId: e.orderId,
      resources: e.spec.resources,
      maxPricePerSecond: e.spec.maxPricePerSecond,
      duration: e.spec.duration,
      attributes: e.spec.attributes,
    });
    if (priced.kind === "decline") return this.decline(base, priced.code, priced.reason);

    const reserved = this.o.inventory.reserve(id, e.deploymentId, e.spec.resources);
    if (!reserved.ok) {
      return this.decline(
        base,
        "ProviderInsufficientCapacity",
        `the order asks for ${reserved.requested} ${unitOf(reserved.resource)} but only ${reserved.free} of ` +
          `${reserved.capacity} are free`,
      );
    }
    const offered = e.spec.resources;
    const bid: BidDecision = {
      ...base,
      kind: "bid",
      price: String(priced.price),
      breakdown: Object.fromEntries(
        Object.entries(priced.breakdown).map(([k, v]) => [k, typeof v === "bigint" ? String(v) : v]),
      ),
      offered,
    };

    // A bid sent before a crash that the state never recorded: adopt it rather than bid again.
    const mine = await this.rpc(() =>
      this.o.provider.getLogs({
        address: this.o.market,
        fromBlock: e.blockNumber,
        toBlock: "latest",
        topics: [topicOf("BidPlaced"), toBeHex(e.orderId, 32), null, this.selfTopic],
      }),
    );
    if (mine.length > 0) return this.adoptBid(bid, BigInt(mine[0].topics[2]), mine[0].transactionHash);

    const refused = await this.refusalOf(e.orderId, priced.price, offered);
    if (refused) return this.refuse(base, bid, refused);

    let tx: ContractTransactionResponse;
    try {
      // No gas estimation: checkBid just validated this very bid, and a fixed limit saves a round trip and an
      // execution per bid. Should the bid fail on chain anyway, confirmBid records why and releases the reservation.
      const gasLimit = placeBidGasLimit(e.spec.attributes.length);
      tx = await this.send(() => this.writer.placeBid(e.orderId, priced.price, offered, { gasLimit }) as Promise<ContractTransactionResponse>);
    } catch (error) {
      let refusal = decodeContractError(error, { contract: "market" });
      if (!refusal) throw error; // no revert: the RPC failed; the watcher retries the batch
      if (refusal.contract === undefined) {
        // Not one of the Market's own refusals (a revert without data: e.g. the node mined the bid and it ran out of
        // the gas estimated against an older state, as a rival bid landed in between). Ask the contract again: if the
        // bid still qualifies the failure was transient and the watcher retries the batch; otherwise the contract
        // names the reason.
        this.log.warn({ orderId: id, err: String(error).slice(0, 500) }, "placeBid failed without a Market reason; checking again");
        refusal = await this.refusalOf(e.orderId, priced.price, offered);
        if (!refusal) throw error;
      }
      return this.refuse(base, bid, refusal);
    }
    const sent: BidDecision = { ...bid, txHash: tx.hash };
    this.record(sent);
    this.o.metrics?.bidsSent.inc();
    this.emit("bidSent", sent);
    this.track(this.confirmBid(sent, tx));
  }

  /** The contract's reason to refuse this bid (`checkBid`, at `blockTag` or the head), or undefined if it qualifies. */
  private async refusalOf(orderId: bigint, price: bigint, offered: Resources, blockTag?: number): Promise<Tom3ContractError | undefined> {
    const [qualifies, reason] = (await this.rpc(() =>
      this.market.checkBid(orderId, this.o.self, price, offered, blockTag === undefined ? {} : { blockTag }),
    )) as [boolean, string];
    return qualifies ? undefined : decodeRevertData(reason, { contract: "market" });
  }

  /** A refused bid: adopted when the refusal is this provider's earlier bid, else declined and its reservation freed. */
  private refuse(base: DecisionBase, bid: BidDecision, refusal: Tom3ContractError): Promise<void> | void {
    if (isTom3Error(refusal, "MarketDuplicateBid")) return this.adoptBid(bid, refusal.args.bidId);
    this.release(base.orderId, "declined");
    return this.decline(base, refusal.code, refusal.message);
  }

  /**
   * The chain already holds this provider's bid on the order: one sent just before a crash, which the state never
   * recorded. Found by its BidPlaced log, or (when the log lookup missed it: a lagging RPC node, a log range the node
   * pruned) named by the contract's MarketDuplicateBid refusal. It is adopted as this provider's bid, at its on-chain
   * price, and the reservation is kept: bidding again is impossible, and declining would free capacity the bid may
   * still win.
   */
  private async adoptBid(bid: BidDecision, bidId: bigint, txHash?: string): Promise<void> {
    const onChain = await this.rpc(() => this.market.bid(bidId));
    this.log.info({ orderId: bid.orderId, bidId: String(bidId) }, "adopted this provider's bid already on chain");
    this.record({ ...bid, price: String(onChain.pricePerSecond), bidId: String(bidId), ...(txHash ? { txHash } : {}) });
  }

  /** Wait for the bid's receipt to learn its id (the BidPlaced log may also bring it first), or why it failed. */
  private async confirmBid(sent: BidDecision, tx: ContractTransactionResponse): Promise<void> {
    let receipt: ContractTransactionReceipt | null;
    try {
      receipt = await withTimeout(tx.wait(), this.o.txTimeoutMs ?? 120_000, `bid on order ${sent.orderId}`);
    } catch (error) {
      const current = this.decision(sent.orderId);
      if (current?.kind !== "bid" || current.bidId !== undefined) return;
      const failed = (error as { receipt?: ContractTransactionReceipt | null }).receipt;
      const failure = failed
        ? await this.whyBidFailed(sent, failed, tx.gasLimit).catch((cause: unknown) => ({
            code: "ProviderBidFailed",
            reason: `the bid transaction ${tx.hash} failed on chain; its reason could not be read (${String(cause)})`,
          }))
        : { code: "ProviderBidNotConfirmed", reason: `the bid transaction ${tx.hash} was not confirmed: ${String(error)}` };
      const duplicateOf = (failure as { duplicateOf?: bigint }).duplicateOf;
      if (duplicateOf !== undefined) {
        // The chain holds an earlier bid of this provider (sent before a crash, seen by neither the state nor the
        // log lookup): this one failed for that reason alone, and the earlier one stands.
        await this.adoptBid(current, duplicateOf).catch((cause: unknown) =>
          this.log.error({ orderId: sent.orderId, err: String(cause) }, "could not adopt the earlier bid"),
        );
        return;
      }
      this.log.warn({ orderId: sent.orderId, txHash: tx.hash, ...failure }, "bid transaction failed");
      this.release(sent.orderId, "failed");
      this.record({ ...current, outcome: "failed", failure: { code: failure.code, reason: failure.reason } });
      return;
    }
    const log = receipt?.logs.find((l) => l.topics[0] === topicOf("BidPlaced"));
    const current = this.decision(sent.orderId);
    if (log && current?.kind === "bid" && current.bidId === undefined) {
      this.record({ ...current, bidId: String(BigInt(log.topics[2])) });
    }
  }

  /**
   * A bid mined but reverted: the contract's own reason, read with checkBid on the state the bid met (the end of its
   * block: what refused it, a cancel or a match earlier in the block or the window's close, is still there), or
   * out of gas when it used its whole limit.
   */
  private async whyBidFailed(
    sent: BidDecision,
    receipt: ContractTransactionReceipt,
    gasLimit: bigint,
  ): Promise<{ code: string; reason: string; duplicateOf?: bigint }> {
    if (receipt.gasUsed >= gasLimit) {
      return { code: "ProviderBidOutOfGas", reason: `the bid transaction ${receipt.hash} ran out of gas (limit ${gasLimit})` };
    }
    const error = await this.refusalOf(BigInt(sent.orderId), BigInt(sent.price), sent.offered, receipt.blockNumber);
    if (error) {
      if (isTom3Error(error, "MarketDuplicateBid")) return { code: error.code, reason: error.message, duplicateOf: error.args.bidId };
      return { code: error.code, reason: error.message };
    }
    return { code: "ProviderBidFailed", reason: `the bid transaction ${receipt.hash} reverted in block ${receipt.blockNumber} for a reason checkBid no longer sees` };
  }

  private async onEvent(e: MarketEvent): Promise<void> {
    switch (e.type) {
      case "BidPlaced": {
        if (e.provider.toLowerCase() !== this.o.self.toLowerCase()) return;
        const d = this.decision(e.orderId);
        if (d?.kind === "bid" && d.bidId === undefined) this.record({ ...d, bidId: String(e.bidId), txHash: d.txHash ?? e.transactionHash });
        return;
      }
      case "OrderMatched": {
        const id = String(e.orderId);
        const d = this.decision(id);
        if (d?.kind !== "bid" || d.outcome === "won") return;
        const ours =
          d.bidId !== undefined
            ? d.bidId === String(e.bidId)
            : String((await this.rpc(() => this.market.bid(e.bidId))).provider).toLowerCase() === this.o.self.toLowerCase();
        if (ours) this.won(d, e.charterId, d.price);
        else {
          this.release(id, "lost");
          this.record({ ...d, outcome: "lost" });
        }
        return;
      }
      case "CharterCreated": {
        if (e.provider.toLowerCase() !== this.o.self.toLowerCase()) return;
        const d = this.decision(e.charterId);
        if (d?.kind === "bid") {
          if (d.outcome !== "won") this.won(d, e.charterId, String(e.pricePerSecond));
          return;
        }
        // A charter the state does not know (a new data dir): adopt it so capacity accounts for it.
        const order = await this.rpc(() => this.market.order(e.charterId));
        const resources: Resources = {
          cpuMillis: Number(order.resources.cpuMillis),
          memoryMiB: Number(order.resources.memoryMiB),
          storageMiB: Number(order.resources.storageMiB),
          bandwidthMbps: Number(order.resources.bandwidthMbps),
        };
        const adopted: BidDecision = {
          orderId: String(e.charterId),
          deploymentId: String(e.deploymentId),
          tenant: e.tenant,
          closesAt: String(order.closesAt),
          resources,
          decidedAt: Date.now(),
          kind: "bid",
          price: String(e.pricePerSecond),
          offered: resources,
        };
        this.won(adopted, e.charterId, String(e.pricePerSecond));
        return;
      }
      case "OrderCancelled": {
        const d = this.decision(e.orderId);
        this.release(String(e.orderId), "cancelled");
        if (d?.kind === "bid" && d.outcome === undefined) this.record({ ...d, outcome: "cancelled" });
        return;
      }
      case "DeploymentClosed": {
        for (const r of this.o.inventory.releaseDeployment(e.deploymentId)) {
          this.emit("released", r.orderId, "deployment-closed");
          const d = this.decision(r.orderId);
          if (d?.kind === "bid" && d.outcome === undefined) this.record({ ...d, outcome: "deployment-closed" });
        }
        return;
      }
      case "CharterClosed":
        this.release(String(e.charterId), "charter-closed");
        return;
      default:
        return;
    }
  }

  private won(d: BidDecision, charterId: bigint, price: string): void {
    const won: BidDecision = { ...d, outcome: "won" };
    this.o.inventory.commit(d.orderId, charterId, { deploymentId: d.deploymentId, resources: d.resources });
    this.record(won);
    if (this.notified.has(d.orderId)) return;
    this.notified.add(d.orderId);
    this.emit("charterWon", charterId, {
      charterId,
      orderId: BigInt(d.orderId),
      deploymentId: BigInt(d.deploymentId),
      tenant: d.tenant,
      resources: d.resources,
      pricePerSecond: BigInt(price),
    });
  }

  /**
   * On every head: orders whose window closed. If this provider holds the best bid it matches the order (once);
   * past the grace period an order still unmatched is expired and its reservation released.
   */
  private async tick(head: ChainHead): Promise<void> {
    const now = BigInt(head.timestamp);
    for (const r of this.o.inventory.list()) {
      if (r.state !== "reserved") continue;
      const d = this.decision(r.orderId);
      if (d?.kind !== "bid" || d.outcome !== undefined) continue;
      const closesAt = BigInt(d.closesAt);
      if (now < closesAt) continue;
      const tried = this.matchAttempts.get(r.orderId);
      if (!this.o.state.get("matches", r.orderId) && !this.notBest.has(r.orderId) && !(tried && head.block <= tried.block)) {
        const best = (await this.rpc(() => this.market.bestBid(r.orderId))) as bigint;
        const bidder = best === 0n ? "" : String((await this.rpc(() => this.market.bid(best))).provider);
        if (bidder.toLowerCase() === this.o.self.toLowerCase()) {
          try {
            const tx = await this.send(() => this.writer.matchOrder(r.orderId) as Promise<ContractTransactionResponse>);
            this.o.state.put("matches", r.orderId, { txHash: tx.hash, at: Date.now() });
            this.emit("matched", r.orderId, tx.hash);
            this.track(withTimeout(tx.wait(), this.o.txTimeoutMs ?? 120_000, "match").catch(() => undefined));
          } catch (error) {
            const decoded = decodeContractError(error, { contract: "market" });
            if (!decoded) throw error;
            const attempts = (tried?.attempts ?? 0) + 1;
            this.matchAttempts.set(r.orderId, { attempts, block: head.block });
            // Final: someone matched or cancelled first (the OrderMatched / OrderCancelled event settles it), or the
            // deployment closed. Anything else (the window still open in the block that mined it, a revert without
            // data such as a stale gas estimate) is tried again on a later head, a few times.
            const final = MATCH_FINAL.has(decoded.code) || attempts >= MAX_MATCH_ATTEMPTS;
            this.log.warn({ orderId: r.orderId, code: decoded.code, attempts, final }, "matchOrder refused");
            if (final) this.o.state.put("matches", r.orderId, { error: decoded.code, at: Date.now() });
          }
        } else {
          this.notBest.add(r.orderId);
        }
      }
      if (now >= closesAt + this.grace) {
        const order = await this.rpc(() => this.market.order(r.orderId));
        const state = Number(order.state);
        if (state === 1) {
          this.release(r.orderId, "expired");
          this.record({ ...d, outcome: "expired" });
        } else if (state === 3) {
          this.release(r.orderId, "cancelled");
          this.record({ ...d, outcome: "cancelled" });
        }
        // Matched: its OrderMatched event decides won or lost.
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  private decline(base: DecisionBase, code: string, reason: string): void {
    this.o.metrics?.declines.inc({ code });
    this.record({ ...base, kind: "decline", code, reason });
  }

  private record(decision: Decision): void {
    this.o.state.put("decisions", decision.orderId, decision);
    this.emit("decision", decision);
  }

  private release(orderId: string, reason: ReleaseReason): void {
    if (this.o.inventory.release(orderId, reason)) this.emit("released", orderId, reason);
  }

  /** Transactions go one at a time, so the node hands out nonces in order. */
  private send<T>(fn: () => Promise<T>): Promise<T> {
    const run = () => withTimeout(fn(), this.o.txTimeoutMs ?? 120_000, "sending a transaction");
    const result = this.sendChain.then(run, run);
    this.sendChain = result.catch(() => undefined);
    return result;
  }

  private track(promise: Promise<unknown>): void {
    this.inFlight.add(promise);
    void promise.finally(() => this.inFlight.delete(promise));
  }

  private rpc<T>(call: () => Promise<T>): Promise<T> {
    return withTimeout(call(), this.o.rpcTimeoutMs ?? 10_000, "RPC call");
  }

  private updateGauges(): void {
    if (!this.o.metrics) return;
    const { reserved, committed } = this.o.inventory.counts();
    this.o.metrics.reservations.set({ state: "reserved" }, reserved);
    this.o.metrics.reservations.set({ state: "committed" }, committed);
  }
}

function unitOf(resource: string): string {
  return { cpuMillis: "millicores of cpu", memoryMiB: "MiB of memory", storageMiB: "MiB of storage", bandwidthMbps: "Mbps of bandwidth" }[
    resource
  ] ?? resource;
}
