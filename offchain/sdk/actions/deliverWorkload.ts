import type { Tom3Client } from "../client";
import { endpointText, parseEndpoint } from "../delivery";
import { Tom3DeliveryError, Tom3InputError } from "../errors";
import { chartersOf, readCharter, readDeploymentRecord } from "../records";
import { parseManifest } from "../../manifest";
import type { ParsedManifest } from "../../manifest";
import { manifestBytes } from "./manifest-input";

export interface DeliverWorkloadParameters {
  deploymentId: bigint;
  /** The manifest as the tenant wrote it (text or bytes), or `parseManifest`'s result (its canonical form is sent). */
  manifest: string | Uint8Array | ParsedManifest;
  /** The charters whose providers receive it (default: every pending or active charter of the deployment). */
  charterIds?: readonly bigint[];
  /** Throw `Tom3DeliveryError` when a provider could not be reached (default true); else report it in `failed`. */
  requireAll?: boolean;
}

export interface Delivered {
  charterId: bigint;
  provider: string;
  /** The endpoint entry that accepted it. */
  endpoint: string;
}

export interface DeliveryFailure {
  charterId: bigint;
  provider: string;
  /** One line per endpoint entry tried ("<entry>: <reason>"), or why none was tried. */
  errors: string[];
}

export interface DeliverWorkloadReturnType {
  delivered: Delivered[];
  failed: DeliveryFailure[];
}

/**
 * Send the workload to every winner: for each charter, the provider's on-chain endpoint entries are tried in
 * order (libp2p multiaddrs first, then https URLs) through the client's `ManifestDelivery` until one accepts.
 * The manifest must hash to the deployment's current version: a mismatch is refused before anything is sent,
 * since every provider would refuse it too.
 *
 * @example
 * import { Tom3Client, deliverWorkload } from "./offchain/sdk";
 *
 * const client = await Tom3Client.connect({ runner: wallet, delivery: myP2pDelivery });
 * const { delivered } = await deliverWorkload(client, { deploymentId, manifest: yamlText });
 */
export async function deliverWorkload(
  client: Tom3Client,
  parameters: DeliverWorkloadParameters,
): Promise<DeliverWorkloadReturnType> {
  const { deploymentId } = parameters;
  const bytes = manifestBytes(parameters.manifest);
  const version =
    typeof parameters.manifest === "object" && !(parameters.manifest instanceof Uint8Array)
      ? parameters.manifest.version
      : parseManifest(new TextDecoder().decode(bytes)).version;
  const deployment = await readDeploymentRecord(client, deploymentId);
  if (deployment.version !== version) {
    throw new Tom3InputError(
      `the manifest hashes to ${version}, but deployment ${deploymentId} is at version ${deployment.version}: ` +
        `providers would refuse it`,
      { details: { deploymentId, version, onChain: deployment.version } },
    );
  }
  const charters = parameters.charterIds
    ? await Promise.all(parameters.charterIds.map((id) => readCharter(client, id)))
    : (await chartersOf(client, deploymentId)).filter((c) => c.state === "Pending" || c.state === "Active");

  const delivered: Delivered[] = [];
  const failed: DeliveryFailure[] = [];
  for (const charter of charters) {
    const { charterId, provider } = charter;
    const endpoint = await client.read<string>("registry", "endpointOf", [provider]);
    const entries = parseEndpoint(endpoint);
    const errors: string[] = entries.length === 0 ? [`no usable endpoint entry in "${endpoint}"`] : [];
    for (const entry of entries) {
      const text = endpointText(entry);
      client.progress({ type: "deliveryStarted", charterId, provider, endpoint: text });
      try {
        await client.delivery.deliver(text, deploymentId, bytes);
        delivered.push({ charterId, provider, endpoint: text });
        client.progress({ type: "delivered", charterId, provider, endpoint: text });
        errors.length = 0;
        break;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        errors.push(`${text}: ${reason}`);
        client.progress({ type: "deliveryFailed", charterId, provider, endpoint: text, error: reason });
      }
    }
    if (!delivered.some((d) => d.charterId === charterId)) failed.push({ charterId, provider, errors });
  }
  if (failed.length > 0 && (parameters.requireAll ?? true)) {
    const first = failed[0];
    throw new Tom3DeliveryError(
      `could not deliver deployment ${deploymentId} to provider ${first.provider} (charter ${first.charterId}): ` +
        first.errors.join("; ") +
        (failed.length > 1 ? ` (and ${failed.length - 1} more provider${failed.length > 2 ? "s" : ""})` : ""),
      { details: { delivered, failed } },
    );
  }
  return { delivered, failed };
}
