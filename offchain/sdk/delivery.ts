/**
 * Workload delivery: how the tenant's manifest reaches each provider that won one of its orders. The chain holds
 * only the manifest's hash (the deployment version); the bytes go peer to peer, and every receiver checks them
 * against that hash before acting (PROTOCOL.md, "Off-chain protocol").
 *
 * The SDK depends only on `ManifestDelivery`. A provider's on-chain endpoint (`registry.endpointOf`) lists
 * space-separated entries: libp2p multiaddrs ending in `/p2p/<peer id>` and/or `https://` URLs of its API
 * (docs/PROTOCOL.md, "Endpoint format"; `http://` is taken on loopback only, for local markets and tests: the
 * manifest and its environment would otherwise cross a network in clear); `deliverWorkload` tries the multiaddrs
 * first, then the URLs, and stops at the first that accepts. A transport that cannot handle an entry throws `UnsupportedEndpointError`, so the next
 * entry is tried.
 */
import { Tom3SdkError } from "./errors";
import { isApiUrl } from "../chain/endpoint";

/** Sends a deployment's manifest bytes to one endpoint entry of a provider. */
export interface ManifestDelivery {
  /**
   * Deliver `manifestBytes` (the manifest whose keccak256 of the canonical form is the deployment's current
   * version) for `deploymentId` to `providerEndpoint`, one entry of the provider's on-chain endpoint. Resolves
   * once the provider accepted it; rejects otherwise.
   */
  deliver(providerEndpoint: string, deploymentId: bigint, manifestBytes: Uint8Array): Promise<void>;
}

/** The transport has no way to reach this kind of endpoint entry. */
export class UnsupportedEndpointError extends Tom3SdkError {
  override name = "UnsupportedEndpointError";
  constructor(readonly endpoint: string) {
    super(`no delivery transport for endpoint "${endpoint}"`);
  }
}

/** One entry of a provider's endpoint: a libp2p multiaddr, or the base URL of its HTTP API (kind `https`). */
export type EndpointEntry = { kind: "multiaddr"; address: string; peerId: string } | { kind: "https"; url: string };

export { isApiUrl } from "../chain/endpoint";

/**
 * Split an on-chain endpoint into its entries, multiaddrs first (the order peers try them), each kind in the
 * order given. Entries that are neither are left out: an endpoint is self-declared.
 */
export function parseEndpoint(endpoint: string): EndpointEntry[] {
  const multiaddrs: EndpointEntry[] = [];
  const urls: EndpointEntry[] = [];
  for (const entry of endpoint.split(/\s+/).filter((item) => item !== "")) {
    const p2p = /^\/.+\/p2p\/([1-9A-HJ-NP-Za-km-z]+)$/.exec(entry);
    if (p2p) multiaddrs.push({ kind: "multiaddr", address: entry, peerId: p2p[1] });
    else if (isApiUrl(entry)) urls.push({ kind: "https", url: entry });
  }
  return [...multiaddrs, ...urls];
}

/** The text of an entry, as passed to `ManifestDelivery.deliver`. */
export function endpointText(entry: EndpointEntry): string {
  return entry.kind === "multiaddr" ? entry.address : entry.url;
}

/**
 * Several transports as one: each entry goes to the first transport that handles its kind (the others throw
 * `UnsupportedEndpointError`), e.g. `combineDeliveries(p2p, http)`.
 */
export function combineDeliveries(...deliveries: ManifestDelivery[]): ManifestDelivery {
  return {
    async deliver(providerEndpoint: string, deploymentId: bigint, manifestBytes: Uint8Array): Promise<void> {
      for (const delivery of deliveries) {
        try {
          return await delivery.deliver(providerEndpoint, deploymentId, manifestBytes);
        } catch (error) {
          if (!(error instanceof UnsupportedEndpointError)) throw error;
        }
      }
      throw new UnsupportedEndpointError(providerEndpoint);
    },
  };
}

/**
 * A delivery that has no transport yet: every entry is unsupported. The default until a real transport is
 * configured (the libp2p node of `offchain/p2p`), so an action that needs delivery says so plainly.
 */
export const noDelivery: ManifestDelivery = {
  async deliver(providerEndpoint: string): Promise<void> {
    throw new UnsupportedEndpointError(providerEndpoint);
  },
};

/** One delivery made through `RecordingDelivery`. */
export interface RecordedDelivery {
  endpoint: string;
  deploymentId: bigint;
  bytes: Uint8Array;
}

/**
 * A delivery that only records what it was asked to send: for tests, and for dry runs. `accept` decides per entry
 * (default: multiaddrs and URLs alike).
 */
export class RecordingDelivery implements ManifestDelivery {
  readonly deliveries: RecordedDelivery[] = [];
  constructor(private readonly accept: (endpoint: string) => boolean = () => true) {}

  async deliver(providerEndpoint: string, deploymentId: bigint, manifestBytes: Uint8Array): Promise<void> {
    if (!this.accept(providerEndpoint)) throw new UnsupportedEndpointError(providerEndpoint);
    this.deliveries.push({ endpoint: providerEndpoint, deploymentId, bytes: manifestBytes });
  }
}
