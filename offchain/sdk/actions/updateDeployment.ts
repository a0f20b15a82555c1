import type { Tom3Client } from "../client";
import { Tom3InputError } from "../errors";
import { readDeploymentRecord } from "../records";
import type { DeliverWorkloadParameters, DeliverWorkloadReturnType } from "./deliverWorkload";
import { deliverWorkload } from "./deliverWorkload";
import { resolveManifest } from "./manifest-input";
import type { ManifestInput } from "./manifest-input";

export interface UpdateDeploymentParameters {
  deploymentId: bigint;
  /** The new manifest: YAML text (delivered as written), or `parseManifest`'s result (its canonical form is sent). */
  manifest: ManifestInput;
  source?: string;
  /** Deliver the new manifest to the deployment's providers (default true). */
  deliver?: boolean;
  /** How to deliver it (see `deliverWorkload`). */
  transport?: DeliverWorkloadParameters["transport"];
  retry?: DeliverWorkloadParameters["retry"];
}

export interface UpdateDeploymentReturnType {
  deploymentId: bigint;
  version: string;
  previousVersion: string;
  transaction: string;
  /** Undefined with `deliver: false`. */
  delivery?: DeliverWorkloadReturnType;
}

/**
 * Point a deployment at a new manifest: its version goes on chain (`updateDeployment`), then the manifest is
 * delivered to every provider holding a pending or active charter of it, which re-fetch and roll out. Charters
 * keep the resources and prices they were matched with: a manifest that needs more should go to a new deployment.
 *
 * @example
 * import { readFileSync } from "node:fs";
 * import { updateDeployment } from "./offchain/sdk";
 *
 * const { version } = await updateDeployment(client, {
 *   deploymentId: 1n,
 *   manifest: readFileSync("hello-v2.yaml", "utf8"),
 * });
 */
export async function updateDeployment(
  client: Tom3Client,
  parameters: UpdateDeploymentParameters,
): Promise<UpdateDeploymentReturnType> {
  client.requireSigner("updateDeployment");
  const { deploymentId } = parameters;
  const manifest = resolveManifest(parameters.manifest, parameters.source);
  const before = await readDeploymentRecord(client, deploymentId);
  if (before.createdAt === 0n) throw new Tom3InputError(`deployment ${deploymentId} does not exist`);
  if (before.version === manifest.version) {
    throw new Tom3InputError(`deployment ${deploymentId} is already at version ${manifest.version}: nothing to update`);
  }
  const sent = await client.send("market", "updateDeployment", [deploymentId, manifest.version]);
  client.progress({ type: "deploymentUpdated", deploymentId, version: manifest.version });
  const result: UpdateDeploymentReturnType = {
    deploymentId,
    version: manifest.version,
    previousVersion: before.version,
    transaction: sent.hash,
  };
  if (parameters.deliver ?? true) {
    const text = typeof parameters.manifest === "string" ? parameters.manifest : manifest;
    result.delivery = await deliverWorkload(client, {
      deploymentId,
      manifest: text,
      transport: parameters.transport,
      retry: parameters.retry,
    });
  }
  return result;
}
