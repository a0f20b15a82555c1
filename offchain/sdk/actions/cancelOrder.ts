import type { Tom3Client } from "../client";
import { Tom3InputError } from "../errors";
import { readOrder } from "../records";
import { getBalance } from "./getBalance";

export interface CancelOrderParameters {
  /** An open order of the signer's (one that got no bid, or whose window is still open). */
  orderId: bigint;
}

export interface CancelOrderReturnType {
  orderId: bigint;
  /** What the order held locked (maxPricePerSecond x duration), now back in the available balance. */
  unlocked: bigint;
  /** The signer's escrow after the cancel. */
  available: bigint;
  locked: bigint;
  transaction: string;
}

/**
 * Cancel an open order as its tenant (or the tenant's operator): its locked escrow (maxPricePerSecond x duration) goes back to the available
 * balance. An order that is matched or already cancelled is refused before anything is sent.
 *
 * @example
 * import { cancelOrder } from "./offchain/sdk";
 *
 * const { unlocked, available } = await cancelOrder(client, { orderId: 3n });
 */
export async function cancelOrder(client: Tom3Client, parameters: CancelOrderParameters): Promise<CancelOrderReturnType> {
  client.requireSigner("cancelOrder");
  const order = await readOrder(client, parameters.orderId);
  if (order.createdAt === 0n) throw new Tom3InputError(`order ${parameters.orderId} does not exist`);
  if (order.state !== "Open") throw new Tom3InputError(`order ${parameters.orderId} is ${order.state.toLowerCase()}, not open: nothing to cancel`);
  const sent = await client.send("market", "cancelOrder", [parameters.orderId]);
  client.progress({ type: "orderCancelled", orderId: parameters.orderId });
  const { available, locked } = await getBalance(client);
  return { orderId: parameters.orderId, unlocked: order.maxPricePerSecond * order.duration, available, locked, transaction: sent.hash };
}
