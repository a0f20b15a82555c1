/**
 * The chain watcher: polls `eth_getLogs` for the Market's events up to `head - confirmations`, delivers them in
 * chain order to subscribers, then persists the cursor (at-least-once delivery: subscribers are idempotent).
 *
 * - First start (no cursor): it does not replay history. It loads what can still matter: OrderCreated only in the
 *   window that can still be open (from the block at `now - 30 days`, the longest bidding window, found by binary
 *   search on block timestamps), kept only when `market.order(id)` is still Open; this provider's own bids on them;
 *   and its own charters (CharterCreated filtered by the indexed provider topic), kept unless closed.
 * - Reorgs: the cursor's block hash is checked on every poll; when it is no longer canonical the watcher rewinds to
 *   the newest recorded position that still is (at most `reorgDepth` back) and delivers again.
 * - RPC failures: every call has a timeout; a failed poll backs off exponentially with jitter, is reported through
 *   `status`, and never ends the loop.
 */
import { EventEmitter } from "node:events";
import { Contract, Interface, zeroPadValue } from "ethers";
import type { Log, Provider } from "ethers";
import { marketAbi } from "../chain/abis";
import type { RequirementSpec } from "../manifest/spec";
import type { ProviderMetrics } from "./metrics";
import type { ChainCursor, StateStore } from "./state";

/** The longest bidding window the Market accepts (docs/PROTOCOL.md, "Orders and bids"). */
export const MAX_BIDDING_WINDOW_SECONDS = 30 * 24 * 3600;

export const WATCHED_EVENTS = [
  "OrderCreated",
  "OrderCancelled",
  "BidPlaced",
  "OrderMatched",
  "CharterCreated",
  "CharterAcknowledged",
  "CharterClosed",
  "CharterExtended",
  "DeploymentUpdated",
  "DeploymentClosed",
  "PaymentClaimed",
] as const;

/** An order's requirements as OrderCreated carries them: the Market's `RequirementSpec`. */
export type OrderSpec = RequirementSpec;

interface EventBase {
  blockNumber: number;
  blockHash: string;
  transactionHash: string;
  logIndex: number;
  /** Loaded by the start-up scan rather than seen live. */
  replayed: boolean;
}

export type MarketEvent = EventBase &
  (
    | { type: "OrderCreated"; orderId: bigint; deploymentId: bigint; tenant: string; spec: OrderSpec; closesAt: bigint }
    | { type: "OrderCancelled"; orderId: bigint }
    | { type: "BidPlaced"; orderId: bigint; bidId: bigint; provider: string; pricePerSecond: bigint }
    | { type: "OrderMatched"; orderId: bigint; bidId: bigint; charterId: bigint }
    | {
        type: "CharterCreated";
        charterId: bigint;
        tenant: string;
        provider: string;
        deploymentId: bigint;
        pricePerSecond: bigint;
        duration: bigint;
      }
    | { type: "CharterAcknowledged"; charterId: bigint; endsAt: bigint }
    | { type: "CharterClosed"; charterId: bigint; reason: number; paidToProvider: bigint; refundedToTenant: bigint }
    | { type: "CharterExtended"; charterId: bigint; endsAt: bigint }
    | { type: "DeploymentUpdated"; deploymentId: bigint; version: string }
    | { type: "DeploymentClosed"; deploymentId: bigint }
    | { type: "PaymentClaimed"; charterId: bigint; provider: string; amount: bigint; fee: bigint }
  );

export type MarketEventType = MarketEvent["type"];

export interface ChainHead {
  block: number;
  timestamp: number;
}

export type WatcherState = "stopped" | "starting" | "syncing" | "live" | "degraded";

export interface WatcherStatus {
  state: WatcherState;
  cursor: ChainCursor | null;
  /** Confirmed head (`latest - confirmations`) at the last successful poll. */
  head: number | undefined;
  lag: number | undefined;
  consecutiveFailures: number;
  lastError?: string;
}

export interface WatcherEvents {
  status: [WatcherStatus];
  reorg: [{ from: number; to: number }];
  error: [Error];
}

export type BatchHandler = (events: MarketEvent[], head: ChainHead) => Promise<void> | void;

export interface WatcherOptions {
  provider: Provider;
  market: string;
  /** This provider's address: filters its own bids and charters at start-up. */
  self: string;
  /** Where scans start the first time (the deployment record's `deployedAtBlock`). */
  deployedAtBlock: number;
  state: StateStore;
  confirmations?: number;
  reorgDepth?: number;
  pollIntervalMs?: number;
  /** Most blocks per eth_getLogs (default 2,000). */
  maxBlockRange?: number;
  rpcTimeoutMs?: number;
  backoff?: { initialMs?: number; maxMs?: number };
  metrics?: ProviderMetrics;
}

const marketInterface = new Interface(marketAbi);
const TOPICS = new Map<string, MarketEventType>(
  WATCHED_EVENTS.map((name) => [marketInterface.getEvent(name)!.topicHash, name]),
);

export function topicOf(name: MarketEventType): string {
  return marketInterface.getEvent(name)!.topicHash;
}

export class ChainWatcher extends EventEmitter<WatcherEvents> {
  private readonly o: Required<Omit<WatcherOptions, "metrics" | "backoff">> & Pick<WatcherOptions, "metrics">;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly handlers: BatchHandler[] = [];
  private readonly market: Contract;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private current: WatcherStatus = { state: "stopped", cursor: null, head: undefined, lag: undefined, consecutiveFailures: 0 };

  constructor(options: WatcherOptions) {
    super();
    this.o = {
      confirmations: 0,
      reorgDepth: 64,
      pollIntervalMs: 2_000,
      maxBlockRange: 2_000,
      rpcTimeoutMs: 10_000,
      ...options,
    };
    this.backoff = { initialMs: 250, maxMs: 30_000, ...options.backoff };
    this.market = new Contract(options.market, marketAbi, options.provider);
    this.current.cursor = options.state.cursor;
  }

  /** Receive every batch of events in chain order (and, with an empty batch, every new head). */
  subscribe(handler: BatchHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  get status(): WatcherStatus {
    return { ...this.current };
  }

  start(): void {
    if (this.controller) return;
    this.controller = new AbortController();
    this.setStatus({ state: "starting" });
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    if (!this.controller) return;
    this.controller.abort();
    await this.loop;
    this.controller = undefined;
    this.setStatus({ state: "stopped" });
  }

  /** Resolves once the cursor reached `block` (rejects after `timeoutMs`). */
  async waitForBlock(block: number, timeoutMs = 20_000): Promise<void> {
    if ((this.current.cursor?.block ?? -1) >= block) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("status", listener);
        reject(new Error(`watcher did not reach block ${block} within ${timeoutMs} ms (at ${this.current.cursor?.block})`));
      }, timeoutMs);
      const listener = (status: WatcherStatus) => {
        if ((status.cursor?.block ?? -1) >= block) {
          clearTimeout(timer);
          this.off("status", listener);
          resolve();
        }
      };
      this.on("status", listener);
    });
  }

  // ------------------------------------------------------------------ loop

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let delay = this.o.pollIntervalMs;
      try {
        const more = await this.poll(signal);
        failures = 0;
        if (more) delay = 0;
      } catch (error) {
        if (signal.aborted) break;
        failures++;
        this.o.metrics?.rpcErrors.inc();
        const message = error instanceof Error ? error.message : String(error);
        this.setStatus({ state: "degraded", consecutiveFailures: failures, lastError: message.slice(0, 300) });
        if (this.listenerCount("error") > 0) this.emit("error", error instanceof Error ? error : new Error(message));
        const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(failures - 1, 20));
        delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: peers that failed together retry apart
      }
      await sleep(delay, signal);
    }
  }

  /** One poll: returns true when more blocks are waiting (poll again at once). */
  private async poll(signal: AbortSignal): Promise<boolean> {
    const latest = await this.rpc(() => this.o.provider.getBlockNumber());
    const target = latest - this.o.confirmations;
    if (target < this.o.deployedAtBlock) return false;

    let cursor = this.o.state.cursor;
    if (!cursor) {
      this.setStatus({ state: "syncing" });
      await this.initialSync(target, signal);
      return true;
    }
    const atCursor = await this.rpc(() => this.o.provider.getBlock(cursor!.block));
    if (!atCursor || atCursor.hash !== cursor.hash) {
      cursor = await this.rewind(cursor);
    }
    if (cursor.block >= target) {
      const head = await this.block(cursor.block);
      await this.deliver([], { block: head.number, timestamp: head.timestamp });
      this.setStatus({ state: "live", head: target, lag: latest - cursor.block, consecutiveFailures: 0, lastError: undefined });
      return false;
    }
    const from = cursor.block + 1;
    const to = Math.min(target, cursor.block + this.o.maxBlockRange);
    const before = await this.block(to);
    const logs = await this.rpc(() =>
      this.o.provider.getLogs({ address: this.o.market, fromBlock: from, toBlock: to, topics: [[...TOPICS.keys()]] }),
    );
    const after = await this.block(to);
    // A reorg between the two reads may have mixed blocks of two chains into `logs`: try again.
    if (before.hash !== after.hash) return true;
    if (signal.aborted) return false;
    await this.deliver(this.decodeAll(logs, false), { block: to, timestamp: after.timestamp });
    this.advance({ block: to, hash: after.hash! });
    this.setStatus({
      state: to >= target ? "live" : "syncing",
      head: target,
      lag: latest - to,
      consecutiveFailures: 0,
      lastError: undefined,
    });
    return to < target;
  }

  /** The first start: open orders, own bids and own charters only (see the file header). */
  private async initialSync(target: number, signal: AbortSignal): Promise<void> {
    const head = await this.block(target);
    const start = this.o.deployedAtBlock;
    const orderStart = Math.max(start, await this.firstBlockAtOrAfter(head.timestamp - MAX_BIDDING_WINDOW_SECONDS, start, target));
    const selfTopic = zeroPadValue(this.o.self, 32);

    const created = this.decodeAll(await this.logs([topicOf("OrderCreated")], orderStart, target), true);
    const openFlags = await mapLimit(created, 16, async (event) => {
      const order = await this.rpc(() => this.market.order((event as { orderId: bigint }).orderId));
      return Number(order.state) === 1;
    });
    const open = created.filter((_, i) => openFlags[i]);
    const openIds = new Set(open.map((e) => String((e as { orderId: bigint }).orderId)));
    const ownBids = this.decodeAll(await this.logs([topicOf("BidPlaced"), null, null, selfTopic], orderStart, target), true).filter(
      (e) => openIds.has(String((e as { orderId: bigint }).orderId)),
    );
    const charters = this.decodeAll(await this.logs([topicOf("CharterCreated"), null, null, selfTopic], start, target), true);
    const liveFlags = await mapLimit(charters, 16, async (event) => {
      const charter = await this.rpc(() => this.market.charter((event as { charterId: bigint }).charterId));
      return Number(charter.state) !== 3;
    });
    const ownCharters = charters.filter((_, i) => liveFlags[i]);
    const events = [...open, ...ownBids, ...ownCharters].sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
    if (signal.aborted) return;
    await this.deliver(events, { block: target, timestamp: head.timestamp });
    this.advance({ block: target, hash: head.hash! });
    this.setStatus({ state: "live", head: target, lag: this.o.confirmations, consecutiveFailures: 0, lastError: undefined });
  }

  /** Rewind to the newest recorded position still canonical (or `reorgDepth` back) and say so. */
  private async rewind(cursor: ChainCursor): Promise<ChainCursor> {
    const recent = [...this.o.state.recent];
    let ancestor: ChainCursor | undefined;
    for (let i = recent.length - 1; i >= 0 && !ancestor; i--) {
      if (recent[i].block >= cursor.block && recent[i].hash === cursor.hash) continue;
      const block = await this.rpc(() => this.o.provider.getBlock(recent[i].block));
      if (block && block.hash === recent[i].hash) ancestor = recent[i];
    }
    if (!ancestor) {
      const back = Math.max(this.o.deployedAtBlock, cursor.block - this.o.reorgDepth);
      const block = await this.block(back);
      ancestor = { block: back, hash: block.hash! };
    }
    const kept = recent.filter((r) => r.block <= ancestor!.block);
    this.o.state.setCursor(ancestor, kept);
    this.current.cursor = ancestor;
    this.emit("reorg", { from: cursor.block, to: ancestor.block });
    return ancestor;
  }

  private advance(cursor: ChainCursor): void {
    const recent = [...this.o.state.recent, cursor].filter((r) => r.block >= cursor.block - this.o.reorgDepth).slice(-128);
    this.o.state.setCursor(cursor, recent);
    this.current.cursor = cursor;
    this.o.metrics?.watcherBlock.set(cursor.block);
  }

  private async deliver(events: MarketEvent[], head: ChainHead): Promise<void> {
    for (const handler of [...this.handlers]) await handler(events, head);
  }

  // ------------------------------------------------------------------ chain reads

  private async logs(topics: (string | string[] | null)[], from: number, to: number): Promise<Log[]> {
    const out: Log[] = [];
    for (let start = from; start <= to; start += this.o.maxBlockRange) {
      const end = Math.min(to, start + this.o.maxBlockRange - 1);
      out.push(...(await this.rpc(() => this.o.provider.getLogs({ address: this.o.market, fromBlock: start, toBlock: end, topics }))));
    }
    return out;
  }

  /** The first block at or after unix time `t` (binary search; `lo` when every block is later). */
  private async firstBlockAtOrAfter(t: number, lo: number, hi: number): Promise<number> {
    if ((await this.block(lo)).timestamp >= t) return lo;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if ((await this.block(mid)).timestamp >= t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private async block(n: number): Promise<{ number: number; hash: string | null; timestamp: number }> {
    const block = await this.rpc(() => this.o.provider.getBlock(n));
    if (!block) throw new Error(`block ${n} not found`);
    return block;
  }

  private rpc<T>(call: () => Promise<T>): Promise<T> {
    return withTimeout(call(), this.o.rpcTimeoutMs, "RPC call");
  }

  private decodeAll(logs: readonly Log[], replayed: boolean): MarketEvent[] {
    const out: MarketEvent[] = [];
    for (const log of logs) {
      const event = decodeMarketLog(log, replayed);
      if (event) out.push(event);
    }
    return out;
  }

  private setStatus(change: Partial<WatcherStatus>): void {
    this.current = { ...this.current, ...change, cursor: this.o.state.cursor };
    if (this.current.lag !== undefined) this.o.metrics?.watcherLag.set(this.current.lag);
    this.emit("status", this.status);
  }
}

/** A Market log as a typed event; undefined for another event. */
export function decodeMarketLog(log: Log, replayed = false): MarketEvent | undefined {
  const type = TOPICS.get(log.topics[0]);
  if (!type) return undefined;
  const parsed = marketInterface.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed) return undefined;
  const fields: Record<string, unknown> = {};
  parsed.fragment.inputs.forEach((input, i) => (fields[input.name] = parsed.args[i]));
  if (type === "OrderCreated") {
    const s = parsed.args[3];
    fields.spec = {
      resources: {
        cpuMillis: Number(s[0][0]),
        memoryMiB: Number(s[0][1]),
        storageMiB: Number(s[0][2]),
        bandwidthMbps: Number(s[0][3]),
      },
      maxPricePerSecond: s[1],
      duration: s[2],
      biddingWindow: s[3],
      minReputation: Number(s[4]),
      attributes: [...s[5]].map((a: string) => a.toLowerCase()),
    } satisfies OrderSpec;
  }
  if (type === "CharterClosed") fields.reason = Number(fields.reason);
  return {
    type,
    ...fields,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    transactionHash: log.transactionHash,
    logIndex: log.index,
    replayed,
  } as MarketEvent;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** `fn` over `items` with at most `limit` in flight, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
