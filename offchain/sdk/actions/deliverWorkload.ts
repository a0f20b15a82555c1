import type { Tom3Client } from "../client";
import { endpointText, parseEndpoint, UnsupportedEndpointError } from "../delivery";
import type { EndpointEntry } from "../delivery";
import { Tom3DeliveryFailedError, Tom3DeliveryRefusedError, Tom3InputError } from "../errors";
import { chartersOf, readCharter, readDeploymentRecord } from "../records";
import type { CharterRecord } from "../records";
import { parseManifest } from "../../manifest";
import type { ParsedManifest } from "../../manifest";
import { manifestBytes } from "./manifest-input";

/**
 * Which endpoint entries to use: `auto` tries the provider's libp2p multiaddrs first, then its HTTP API URLs (the
 * signed upload); `p2p` and `http` use only one kind.
 */
export type DeliveryTransport = "auto" | "p2p" | "http";

/** How long to keep trying a provider whose refusals are transient (see `TRANSIENT_DELIVERY_CODES`). */
export interface DeliveryRetry {
  /** Rounds over the provider's endpoints, the first included (default 8). */
  attempts: number;
  /** Pause after the first round, doubled after each (default 250 ms). */
  initialDelayMs: number;
  /** Longest pause (default 2 s). */
  maxDelayMs: number;
}

/**
 * 8 rounds, pauses of 0.25, 0.5, 1, 2, 2, 2, 2 s: about 10 s in all, longer than the 5 s a provider's chain reads may
 * lag a match (`ChainAuthorizer`'s cache), short enough that a user waits for an answer, not for a hang.
 */
export const DEFAULT_DELIVERY_RETRY: Readonly<DeliveryRetry> = Object.freeze({
  attempts: 8,
  initialDelayMs: 250,
  maxDelayMs: 2_000,
});

export interface DeliverWorkloadParameters {
  deploymentId: bigint;
  /** The manifest as the tenant wrote it (text or bytes), or `parseManifest`'s result (its canonical form is sent). */
  manifest: string | Uint8Array | ParsedManifest;
  /** The charters whose providers receive it (default: every pending or active charter of the deployment). */
  charterIds?: readonly bigint[];
  /** Throw `Tom3DeliveryFailedError` when a provider did not take it (default true); else report it in `failed`. */
  requireAll?: boolean;
  /** Which endpoint entries to use (default `auto`: p2p first, then the HTTP API). */
  transport?: DeliveryTransport;
  /** Retries of transient refusals (default `DEFAULT_DELIVERY_RETRY`). */
  retry?: Partial<DeliveryRetry>;
}

export interface Delivered {
  charterId: bigint;
  provider: string;
  /** The endpoint entry that accepted it. */
  endpoint: string;
  /** Rounds it took (1: accepted at once). */
  attempts: number;
}

export interface DeliveryFailure {
  charterId: bigint;
  provider: string;
  /** The last refusal's stable code (`NO_ENDPOINT`: no entry the client can use; `NO_TRANSPORT`: none accepted). */
  code: string;
  /** One line per endpoint entry tried in the last round ("<entry>: <reason>"), or why none was tried. */
  errors: string[];
  attempts: number;
}

export interface DeliverWorkloadReturnType {
  delivered: Delivered[];
  failed: DeliveryFailure[];
}

/**
 * Send the workload to every winner, all providers at once: for each charter, the provider's on-chain endpoint
 * entries are tried in order (libp2p multiaddrs first, then HTTP API URLs, as `transport` allows) through the
 * client's `ManifestDelivery` until one accepts. A round in which every entry failed only for transient reasons
 * (the provider does not see its charter yet, is busy, unreachable...) is tried again after a pause, with bounded
 * backoff; a final refusal (version mismatch, stranger...) stops at once.
 *
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

  const retry = { ...DEFAULT_DELIVERY_RETRY, ...parameters.retry };
  const transport = parameters.transport ?? "auto";
  const outcomes = await Promise.all(
    charters.map((charter) => deliverToProvider(client, charter, deploymentId, bytes, transport, retry)),
  );
  const delivered = outcomes.filter((o): o is Delivered => !("errors" in o));
  const failed = outcomes.filter((o): o is DeliveryFailure => "errors" in o);
  if (failed.length > 0 && (parameters.requireAll ?? true)) {
    const first = failed[0];
    throw new Tom3DeliveryFailedError(
      `could not deliver deployment ${deploymentId} to provider ${first.provider} (charter ${first.charterId}): ` +
        `${first.code}: ${first.errors.join("; ")}` +
        (first.attempts > 1 ? ` (gave up after ${first.attempts} attempts)` : "") +
        (failed.length > 1 ? ` (and ${failed.length - 1} more provider${failed.length > 2 ? "s" : ""})` : ""),
      first.provider,
      first.charterId,
      first.code,
      first.attempts,
      { delivered, failed },
    );
  }
  return { delivered, failed };
}

async function deliverToProvider(
  client: Tom3Client,
  charter: CharterRecord,
  deploymentId: bigint,
  bytes: Uint8Array,
  transport: DeliveryTransport,
  retry: DeliveryRetry,
): Promise<Delivered | DeliveryFailure> {
  const { charterId, provider } = charter;
  const endpoint = await client.read<string>("registry", "endpointOf", [provider]);
  const entries = parseEndpoint(endpoint).filter((entry) => usable(entry, transport));
  if (entries.length === 0) {
    const what = transport === "auto" ? "usable endpoint entry" : `${transport} endpoint entry`;
    return { charterId, provider, code: "NO_ENDPOINT", errors: [`no ${what} in "${endpoint}"`], attempts: 0 };
  }
  let delay = retry.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    const errors: string[] = [];
    let code = "NO_TRANSPORT";
    let transient = false;
    let final = false;
    for (const entry of entries) {
      const text = endpointText(entry);
      client.progress({ type: "deliveryStarted", charterId, provider, endpoint: text });
      try {
        await client.delivery.deliver(text, deploymentId, bytes);
        client.progress({ type: "delivered", charterId, provider, endpoint: text });
        return { charterId, provider, endpoint: text, attempts: attempt };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        errors.push(`${text}: ${reason}`);
        client.progress({ type: "deliveryFailed", charterId, provider, endpoint: text, error: reason });
        if (error instanceof Tom3DeliveryRefusedError) {
          code = error.code;
          if (error.transient) transient = true;
          else final = true;
        } else if (!(error instanceof UnsupportedEndpointError)) {
          // A transport that throws something else (a bug, a custom transport) gets the benefit of the doubt.
          code = "UNREACHABLE";
          transient = true;
        }
        // The provider's final word (a version mismatch, a stranger) is the same on its other entries.
        if (final) break;
      }
    }
    if (final || !transient || attempt >= retry.attempts) {
      return { charterId, provider, code, errors, attempts: attempt };
    }
    client.progress({ type: "deliveryRetrying", charterId, provider, code, attempt, delayMs: delay });
    await client.sleep(delay);
    delay = Math.min(delay * 2, retry.maxDelayMs);
  }
}

function usable(entry: EndpointEntry, transport: DeliveryTransport): boolean {
  if (transport === "p2p") return entry.kind === "multiaddr";
  if (transport === "http") return entry.kind === "https";
  return true;
}

