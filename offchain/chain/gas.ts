/**
 * Gas limits with headroom. A node's `eth_estimateGas` finds the least gas the call needs against the state of the
 * block it estimates on; by the time the transaction is mined another one may have changed that state (a rival bid
 * landed first, the provider claimed just before the tenant's close) and the exact estimate runs out of gas: the
 * transaction is mined, reverts without data and the sender pays for nothing. Every TOM3 sender adds headroom;
 * unused gas is refunded, so headroom costs nothing but a higher ceiling.
 */

/** Percent added to an estimate. */
export const GAS_HEADROOM_PERCENT = 25n;

/** `estimate` plus GAS_HEADROOM_PERCENT, rounded up. */
export function withGasHeadroom(estimate: bigint): bigint {
  return estimate + (estimate * GAS_HEADROOM_PERCENT + 99n) / 100n;
}
