/**
 * Progress events: what a long action is doing, for a CLI's progress lines or a web app's stepper. Every action
 * reports through the client's optional `onProgress(event)`; an exception thrown by the callback is ignored, so a
 * broken display never breaks a deployment. Amounts are wei, times unix seconds.
 */
export type Tom3ProgressEvent =
  | { type: "manifestParsed"; version: string; groups: string[] }
  | { type: "transactionSent"; contract: string; method: string; hash: string }
  | { type: "transactionConfirmed"; contract: string; method: string; hash: string; blockNumber: number }
  | { type: "escrowDeposited"; amount: bigint; permit: boolean }
  | { type: "deploymentCreated"; deploymentId: bigint; version: string }
  | { type: "orderCreated"; orderId: bigint; group: string; closesAt: bigint }
  | { type: "bidPlaced"; orderId: bigint; bidId: bigint; provider: string; pricePerSecond: bigint }
  | { type: "waitingForMatches"; orderIds: bigint[]; closesAt: bigint }
  /** While a bidding window is open, every few seconds: the time left by the chain's clock, bids so far, the best. */
  | { type: "biddingWindow"; secondsLeft: number; bids: number; bestPricePerSecond?: bigint }
  | { type: "orderMatched"; orderId: bigint; charterId: bigint; provider: string; pricePerSecond: bigint; byUs: boolean }
  | { type: "orderUnmatched"; orderId: bigint; reason: "noBids" | "cancelled" | "deploymentClosed" }
  | { type: "deliveryStarted"; charterId: bigint; provider: string; endpoint: string }
  | { type: "deliveryFailed"; charterId: bigint; provider: string; endpoint: string; error: string }
  | { type: "deliveryRetrying"; charterId: bigint; provider: string; code: string; attempt: number; delayMs: number }
  | { type: "delivered"; charterId: bigint; provider: string; endpoint: string }
  | { type: "charterAcknowledged"; charterId: bigint; endsAt: bigint }
  /** While waiting for an acknowledgement: the provider's API reports why the workload does not run yet. */
  | { type: "charterProblem"; charterId: bigint; provider: string; code: string; reason: string }
  | { type: "deploymentUpdated"; deploymentId: bigint; version: string }
  | { type: "charterExtended"; charterId: bigint; endsAt: bigint }
  | { type: "orderCancelled"; orderId: bigint }
  | { type: "charterClosed"; charterId: bigint; reason: string; paidToProvider: bigint; refundedToTenant: bigint }
  | { type: "deploymentClosed"; deploymentId: bigint };

export type Tom3ProgressType = Tom3ProgressEvent["type"];

/** The optional callback of `Tom3ClientOptions.onProgress`. */
export type OnProgress = (event: Tom3ProgressEvent) => void;
