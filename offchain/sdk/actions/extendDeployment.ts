import type { Tom3Client } from "../client";
import { ensureAvailable } from "../escrow";
import { Tom3InputError } from "../errors";
import { chartersOf } from "../records";
import { extendCharter } from "./extendCharter";
import type { ExtendCharterReturnType } from "./extendCharter";

export interface ExtendDeploymentParameters {
  deploymentId: bigint;
  /** Extra seconds of service for each active charter. */
  by: bigint | number;
  permit?: boolean;
}

export interface ExtendDeploymentReturnType {
  deploymentId: bigint;
  charters: ExtendCharterReturnType[];
  /** Wei deposited to cover every extension (one deposit for all). */
  deposited: bigint;
}

/**
 * Extend every active charter of a deployment by `by` seconds, depositing the total shortfall once first.
 *
 * @example
 * import { extendDeployment } from "./offchain/sdk";
 *
 * const { charters } = await extendDeployment(client, { deploymentId: 1n, by: 24 * 3600 });
 */
export async function extendDeployment(
  client: Tom3Client,
  parameters: ExtendDeploymentParameters,
): Promise<ExtendDeploymentReturnType> {
  client.requireSigner("extendDeployment");
  const { deploymentId } = parameters;
  const by = BigInt(parameters.by);
  const active = (await chartersOf(client, deploymentId)).filter((c) => c.state === "Active");
  if (active.length === 0) throw new Tom3InputError(`deployment ${deploymentId} has no active charter to extend`);
  const total = active.reduce((sum, c) => sum + c.pricePerSecond * by, 0n);
  const deposit = by > 0n ? await ensureAvailable(client, total, parameters.permit ?? true) : undefined;
  const charters: ExtendCharterReturnType[] = [];
  for (const { charterId } of active) charters.push(await extendCharter(client, { charterId, by, permit: parameters.permit }));
  return { deploymentId, charters, deposited: deposit?.amount ?? 0n };
}
