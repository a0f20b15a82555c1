/**
 * Printing results: with --json one JSON document on stdout (bigints as decimal strings), otherwise short
 * "label: value" lines; progress goes to stderr, one line per event.
 */
import { formatTime, formatTokens } from "../chain/units";
import type { Tom3ProgressEvent } from "../sdk";

/** JSON with bigints as decimal strings and Uint8Arrays as 0x hex. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) =>
      typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? `0x${Buffer.from(v).toString("hex")}` : v,
    2,
  );
}

export const tokens = (wei: bigint): string => formatTokens(wei);
export const price = (wei: bigint): string => `${wei} wei/s`;
export const when = (seconds: bigint): string => (seconds === 0n ? "-" : formatTime(seconds));

/** A progress event as one line, or undefined for events too fine to show. */
export function progressLine(event: Tom3ProgressEvent): string | undefined {
  switch (event.type) {
    case "manifestParsed":
      return `manifest ${event.version} (${event.groups.length} placement group${event.groups.length === 1 ? "" : "s"})`;
    case "transactionSent":
      return `  ${event.contract}.${event.method} sent ${event.hash}`;
    case "transactionConfirmed":
      return undefined;
    case "escrowDeposited":
      return `deposited ${tokens(event.amount)} into escrow${event.permit ? " (permit)" : ""}`;
    case "deploymentCreated":
      return `deployment ${event.deploymentId} created`;
    case "orderCreated":
      return `order ${event.orderId} (group ${event.group}) open for bids until ${when(event.closesAt)}`;
    case "bidPlaced":
      return `  bid ${event.bidId} on order ${event.orderId}: ${price(event.pricePerSecond)} from ${event.provider}`;
    case "waitingForMatches":
      return `waiting for bids on order${event.orderIds.length === 1 ? "" : "s"} ${event.orderIds.join(", ")} (window closes ${when(event.closesAt)})`;
    case "biddingWindow":
      return (
        `bidding window open: ${event.secondsLeft} s left, ${event.bids} bid${event.bids === 1 ? "" : "s"}` +
        (event.bestPricePerSecond === undefined ? "" : ` (best ${price(event.bestPricePerSecond)})`)
      );
    case "orderMatched":
      return `order ${event.orderId} matched: charter ${event.charterId} with ${event.provider} at ${price(event.pricePerSecond)}`;
    case "orderUnmatched":
      return `order ${event.orderId} not matched (${event.reason === "noBids" ? "no bids" : event.reason})`;
    case "deliveryStarted":
      return `  delivering to ${event.endpoint} (charter ${event.charterId})`;
    case "deliveryFailed":
      return `  ${event.endpoint}: ${event.error}`;
    case "deliveryRetrying":
      return `  ${event.provider} refused for now (${event.code}): trying again in ${event.delayMs} ms (attempt ${event.attempt + 1})`;
    case "delivered":
      return `delivered to ${event.provider} via ${event.endpoint}`;
    case "charterProblem":
      return `  charter ${event.charterId}: its provider reports ${event.code}: ${event.reason}`;
    case "charterAcknowledged":
      return `charter ${event.charterId} acknowledged, runs until ${when(event.endsAt)}`;
    case "deploymentUpdated":
      return `deployment ${event.deploymentId} now at version ${event.version}`;
    case "charterExtended":
      return `charter ${event.charterId} extended to ${when(event.endsAt)}`;
    case "orderCancelled":
      return `order ${event.orderId} cancelled`;
    case "charterClosed":
      return `charter ${event.charterId} closed: ${tokens(event.paidToProvider)} to the provider, ${tokens(event.refundedToTenant)} refunded`;
    case "deploymentClosed":
      return `deployment ${event.deploymentId} closed`;
  }
}
