import type { Tom3Client } from "../client";
import { isTom3Error } from "../../chain/errors";
import { Tom3TimeoutError } from "../errors";
import { readCharter, readDeploymentRecord, readOrder } from "../records";
import type { OrderRecord } from "../records";

export interface WaitForMatchesParameters {
  /** The orders to see matched (e.g. `deployManifest(...).orders.map((o) => o.orderId)`). */
  orderIds: readonly bigint[];
  /**
   * Once an order's bidding window has closed with bids and nobody matched it, match it as its tenant (default
   * true). With false, only watch: someone else (anyone may, after the window) has to match.
   */
  matchWhenWindowCloses?: boolean;
  /** Cancel an order whose window closed without a bid, unlocking its escrow (default false: leave it open). */
  cancelUnmatched?: boolean;
  /** How long to wait after the last window closes (default `client.timeouts.matchMs`). */
  timeoutMs?: number;
  /**
   * The block to report bids from (default: the latest block at the call). Pass `deployManifest`'s `blockNumber`
   * so bids placed before the wait began are reported (and counted in the `biddingWindow` events) too.
   */
  fromBlock?: number;
  /** How often a `biddingWindow` progress event reports the time left while a window is open, ms (default 5000). */
  windowReportMs?: number;
}

/** A matched order: its charter (same id) and the winning provider. */
export interface MatchedOrder {
  orderId: bigint;
  charterId: bigint;
  deploymentId: bigint;
  provider: string;
  pricePerSecond: bigint;
  bidId: bigint;
  /** Whether this call sent the `matchOrder`. */
  matchedByUs: boolean;
}

/** An order that will not be matched. */
export interface UnmatchedOrder {
  orderId: bigint;
  reason: "noBids" | "cancelled" | "deploymentClosed";
  /** Whether this call cancelled it (`cancelUnmatched`). */
  cancelledByUs: boolean;
}

export interface WaitForMatchesReturnType {
  matched: MatchedOrder[];
  unmatched: UnmatchedOrder[];
}

/**
 * Wait until every order is matched or cannot be. Watches the orders (and reports each `BidPlaced` as progress);
 * when an order's bidding window has closed by the chain's clock and no one matched it, the tenant matches it
 * (`matchOrder`: the lowest bid wins, the earliest among equals). An order whose window closed with no bid is
 * reported unmatched (and cancelled with `cancelUnmatched`). While a window is open, a `biddingWindow` progress
 * event every `windowReportMs` gives the seconds left, the bids so far and the best price. Throws
 * `Tom3TimeoutError` when orders are still open `timeoutMs` after the last window closed.
 *
 * @example
 * import { Tom3Client, deployManifest, waitForMatches } from "./offchain/sdk";
 *
 * const { orders } = await deployManifest(client, { manifest });
 * const { matched, unmatched } = await waitForMatches(client, { orderIds: orders.map((o) => o.orderId) });
 * for (const m of matched) console.log(`charter ${m.charterId}: ${m.provider} at ${m.pricePerSecond} wei/s`);
 */
export async function waitForMatches(
  client: Tom3Client,
  parameters: WaitForMatchesParameters,
): Promise<WaitForMatchesReturnType> {
  const { orderIds } = parameters;
  const matchAsTenant = parameters.matchWhenWindowCloses ?? true;
  const me = client.signer ? await client.signer.getAddress() : undefined;
  const pending = new Map<bigint, OrderRecord>();
  for (const orderId of orderIds) pending.set(orderId, await readOrder(client, orderId));

  // The chain's clock: the latest block's time, or, on a node that mines only on demand, the time of the block we
  // saw plus the wall-clock time since (whichever is later).
  const start = await client.provider.getBlock("latest");
  const startChainTime = BigInt(start?.timestamp ?? Math.floor(Date.now() / 1000));
  const startWall = Date.now();
  const chainNow = async (): Promise<bigint> => {
    const latest = await client.now();
    const estimated = startChainTime + BigInt(Math.floor((Date.now() - startWall) / 1000));
    return latest > estimated ? latest : estimated;
  };
  const lastClose = [...pending.values()].reduce((max, o) => (o.closesAt > max ? o.closesAt : max), 0n);
  const timeoutMs = parameters.timeoutMs ?? client.timeouts.matchMs;
  const deadline = startWall + Math.max(0, Number(lastClose - startChainTime)) * 1000 + timeoutMs;
  client.progress({ type: "waitingForMatches", orderIds: [...orderIds], closesAt: lastClose });

  const matched: MatchedOrder[] = [];
  const unmatched: UnmatchedOrder[] = [];
  let bidsFromBlock = parameters.fromBlock ?? start?.number ?? client.deployment.deployedAtBlock;
  const closedDeployments = new Map<bigint, boolean>();
  const bids = { count: 0, best: undefined as bigint | undefined };
  const windowReportMs = parameters.windowReportMs ?? 5_000;
  let lastWindowReport = 0;

  for (;;) {
    bidsFromBlock = await reportBids(client, [...pending.keys()], bidsFromBlock, bids);
    const now = await chainNow();
    const open = [...pending.values()].reduce((max, o) => (o.closesAt > max ? o.closesAt : max), 0n);
    if (now < open && Date.now() - lastWindowReport >= windowReportMs) {
      lastWindowReport = Date.now();
      client.progress({ type: "biddingWindow", secondsLeft: Number(open - now), bids: bids.count, bestPricePerSecond: bids.best });
    }
    for (const [orderId, known] of [...pending]) {
      const order = await readOrder(client, orderId);
      if (order.state === "Matched") {
        matched.push(await matchedOrder(client, orderId, order.deploymentId, false));
      } else if (order.state === "Cancelled") {
        unmatched.push({ orderId, reason: "cancelled", cancelledByUs: false });
      } else if (await deploymentClosed(client, closedDeployments, known.deploymentId)) {
        unmatched.push({ orderId, reason: "deploymentClosed", cancelledByUs: false });
      } else if (now >= order.closesAt && order.bestBidId !== 0n && matchAsTenant && me === order.tenant) {
        try {
          await client.send("market", "matchOrder", [orderId]);
        } catch (error) {
          // The best bidder (or anyone, after the window) may have matched it first: the next poll reads the
          // order's new state and reports the match as someone else's.
          if (isTom3Error(error, "MarketOrderNotOpen")) continue;
          throw error;
        }
        matched.push(await matchedOrder(client, orderId, order.deploymentId, true));
      } else if (now >= order.closesAt && order.bestBidId === 0n) {
        const cancel = parameters.cancelUnmatched === true && me === order.tenant;
        if (cancel) {
          await client.send("market", "cancelOrder", [orderId]);
          client.progress({ type: "orderCancelled", orderId });
        }
        unmatched.push({ orderId, reason: "noBids", cancelledByUs: cancel });
      } else {
        continue;
      }
      pending.delete(orderId);
      const last = matched.at(-1);
      if (last?.orderId === orderId) {
        client.progress({
          type: "orderMatched",
          orderId,
          charterId: orderId,
          provider: last.provider,
          pricePerSecond: last.pricePerSecond,
          byUs: last.matchedByUs,
        });
      } else {
        client.progress({ type: "orderUnmatched", orderId, reason: unmatched.at(-1)!.reason });
      }
    }
    if (pending.size === 0) return { matched, unmatched };
    if (Date.now() >= deadline) {
      throw new Tom3TimeoutError(`order${pending.size > 1 ? "s" : ""} ${[...pending.keys()].join(", ")} to be matched`, timeoutMs, {
        pending: [...pending.keys()],
        matched,
        unmatched,
      });
    }
    await client.sleep();
  }
}

async function deploymentClosed(client: Tom3Client, cache: Map<bigint, boolean>, deploymentId: bigint): Promise<boolean> {
  if (cache.get(deploymentId)) return true;
  const closed = (await readDeploymentRecord(client, deploymentId)).closedAt !== 0n;
  cache.set(deploymentId, closed);
  return closed;
}

/** Report the orders' new bids as progress (and count them in `seen`); returns the next block to scan from. */
async function reportBids(
  client: Tom3Client,
  orderIds: bigint[],
  fromBlock: number,
  seen: { count: number; best: bigint | undefined },
): Promise<number> {
  if (orderIds.length === 0) return fromBlock;
  const latest = await client.provider.getBlockNumber();
  if (latest < fromBlock) return fromBlock;
  const events = await client.events("market", "BidPlaced", [orderIds], fromBlock, latest);
  for (const { args } of events) {
    const price = args.pricePerSecond as bigint;
    seen.count++;
    if (seen.best === undefined || price < seen.best) seen.best = price;
    client.progress({
      type: "bidPlaced",
      orderId: args.orderId as bigint,
      bidId: args.bidId as bigint,
      provider: String(args.provider),
      pricePerSecond: args.pricePerSecond as bigint,
    });
  }
  return latest + 1;
}

/** A matched order as reported to the caller, read from its charter. */
async function matchedOrder(
  client: Tom3Client,
  orderId: bigint,
  deploymentId: bigint,
  matchedByUs: boolean,
): Promise<MatchedOrder> {
  const charter = await readCharter(client, orderId);
  return {
    orderId,
    charterId: orderId,
    deploymentId,
    provider: charter.provider,
    pricePerSecond: charter.pricePerSecond,
    bidId: charter.bidId,
    matchedByUs,
  };
}
