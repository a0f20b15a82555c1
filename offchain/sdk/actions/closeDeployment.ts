import type { Tom3Client } from "../client";
import { CLOSE_REASONS, enumName } from "../../chain/enums";
import { Tom3InputError } from "../errors";
import { orderIdsOf, readCharter, readDeploymentRecord, readOrder } from "../records";

export interface CloseDeploymentParameters {
  deploymentId: bigint;
}

export interface ClosedCharter {
  charterId: bigint;
  reason: string;
  paidToProvider: bigint;
  refundedToTenant: bigint;
}

export interface CloseDeploymentReturnType {
  deploymentId: bigint;
  charters: ClosedCharter[];
  cancelledOrders: bigint[];
  /** Sum of what went back to the tenant's available balance: charter refunds and cancelled orders' escrow. */
  refunded: bigint;
  transactions: string[];
}

/**
 * Wind a deployment down: close each of its open charters (settling what accrued to the provider and refunding
 * the rest), cancel its open orders (unlocking their escrow), then close the deployment itself. Owner only.
 *
 * @example
 * import { closeDeployment } from "./offchain/sdk";
 *
 * const { refunded, charters } = await closeDeployment(client, { deploymentId: 1n });
 */
export async function closeDeployment(
  client: Tom3Client,
  parameters: CloseDeploymentParameters,
): Promise<CloseDeploymentReturnType> {
  const me = await client.account("closeDeployment");
  const { deploymentId } = parameters;
  const deployment = await readDeploymentRecord(client, deploymentId);
  if (deployment.createdAt === 0n) throw new Tom3InputError(`deployment ${deploymentId} does not exist`);
  if (deployment.owner !== me) {
    throw new Tom3InputError(`deployment ${deploymentId} belongs to ${deployment.owner}, not ${me}: only its owner closes it`);
  }
  const charters: ClosedCharter[] = [];
  const cancelledOrders: bigint[] = [];
  const transactions: string[] = [];
  let refunded = 0n;
  for (const orderId of await orderIdsOf(client, deploymentId)) {
    const charter = await readCharter(client, orderId);
    if (charter.state === "Pending" || charter.state === "Active") {
      const sent = await client.send("market", "closeCharter", [orderId]);
      transactions.push(sent.hash);
      const closed = sent.events.find((e) => e.name === "CharterClosed")!.args;
      const result: ClosedCharter = {
        charterId: orderId,
        reason: enumName(CLOSE_REASONS, closed.reason as bigint),
        paidToProvider: closed.paidToProvider as bigint,
        refundedToTenant: closed.refundedToTenant as bigint,
      };
      refunded += result.refundedToTenant;
      charters.push(result);
      client.progress({ type: "charterClosed", ...result });
      continue;
    }
    const order = await readOrder(client, orderId);
    if (order.state === "Open") {
      const sent = await client.send("market", "cancelOrder", [orderId]);
      transactions.push(sent.hash);
      cancelledOrders.push(orderId);
      refunded += order.maxPricePerSecond * order.duration;
      client.progress({ type: "orderCancelled", orderId });
    }
  }
  if (deployment.closedAt === 0n) {
    const sent = await client.send("market", "closeDeployment", [deploymentId]);
    transactions.push(sent.hash);
    client.progress({ type: "deploymentClosed", deploymentId });
  }
  return { deploymentId, charters, cancelledOrders, refunded, transactions };
}
