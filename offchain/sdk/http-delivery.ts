/**
 * `ManifestDelivery` over a provider's HTTP API: the signed manifest upload (`PUT <api>/deployments/:id/manifest`,
 * offchain/chain/manifest-upload.ts). For providers a tenant cannot reach peer to peer, and for wallets that sign
 * but never expose a key (MetaMask signs the EIP-712 `ManifestUpload` like any typed data). Handles the `https`
 * entries of a provider's endpoint (and `http://` on loopback); multiaddrs are left to another transport.
 *
 * The manifest goes in its canonical form. A refusal is a `Tom3DeliveryRefusedError` with the API's stable code
 * (the p2p protocol's codes where the meaning is the same: NOT_A_CHARTER_HOLDER, VERSION_MISMATCH...).
 */
import {
  MANIFEST_UPLOAD_HEADERS,
  signManifestUpload,
  type ManifestUploadSigner,
} from "../chain/manifest-upload";
import { keccak256Bytes, parseCanonicalManifest, parseManifest } from "../manifest";
import { isApiUrl, UnsupportedEndpointError } from "./delivery";
import type { ManifestDelivery } from "./delivery";
import { Tom3DeliveryRefusedError } from "./errors";

export interface HttpManifestDeliveryOptions {
  /** Signs as the deployment's owner or operator: an ethers Signer (Wallet, MetaMask's JsonRpcSigner). */
  signer: ManifestUploadSigner;
  /** The chain and Market the deployment lives on (`client.deployment`). */
  deployment: { chainId: number; contracts: { market: string } };
  /** How long each signature is valid, seconds (default 300; providers refuse more than 3600). */
  signatureTtlSeconds?: number;
  /** Time limit of one upload, ms (default 30 s). */
  timeoutMs?: number;
  /** Unix seconds now (tests). */
  now?: () => number;
}

export class HttpManifestDelivery implements ManifestDelivery {
  /** Canonical bytes and version by manifest bytes: one manifest sent to many providers is encoded once. */
  private readonly payloads = new WeakMap<Uint8Array, { bytes: Uint8Array; version: string }>();

  constructor(private readonly options: HttpManifestDeliveryOptions) {}

  async deliver(providerEndpoint: string, deploymentId: bigint, manifestBytes: Uint8Array): Promise<void> {
    if (!isApiUrl(providerEndpoint)) throw new UnsupportedEndpointError(providerEndpoint);
    const { bytes, version } = this.payload(manifestBytes);
    const now = this.options.now?.() ?? Math.floor(Date.now() / 1000);
    const expiry = now + (this.options.signatureTtlSeconds ?? 300);
    const signature = await signManifestUpload(this.options.signer, {
      deploymentId,
      version,
      chainId: this.options.deployment.chainId,
      market: this.options.deployment.contracts.market,
      expiry,
    });
    const url = `${providerEndpoint.replace(/\/+$/, "")}/deployments/${deploymentId}/manifest`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "PUT",
        headers: {
          "content-type": "application/json",
          [MANIFEST_UPLOAD_HEADERS.signature]: signature,
          [MANIFEST_UPLOAD_HEADERS.expiry]: String(expiry),
          [MANIFEST_UPLOAD_HEADERS.version]: version,
          [MANIFEST_UPLOAD_HEADERS.encoding]: "canonical",
        },
        body: bytes,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      const reason = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      throw new Tom3DeliveryRefusedError("UNREACHABLE", providerEndpoint, `cannot reach ${url}: ${reason}`, { cause: error });
    }
    if (response.ok) return;
    const answer = (await response.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string; issues?: unknown[] } }
      | undefined;
    const code = answer?.error?.code ?? (response.status >= 500 ? "INTERNAL" : "BAD_REQUEST");
    const message = answer?.error?.message ?? `HTTP ${response.status} from ${url}`;
    throw new Tom3DeliveryRefusedError(code, providerEndpoint, message, {
      details: { httpStatus: response.status, issues: answer?.error?.issues },
    });
  }

  private payload(manifestBytes: Uint8Array): { bytes: Uint8Array; version: string } {
    let payload = this.payloads.get(manifestBytes);
    if (payload) return payload;
    const text = new TextDecoder().decode(manifestBytes);
    if (text.startsWith("{")) {
      try {
        const version = keccak256Bytes(manifestBytes);
        parseCanonicalManifest(text, { version });
        payload = { bytes: manifestBytes, version };
      } catch {
        // Not canonical JSON: YAML (a flow mapping), read below.
      }
    }
    if (!payload) {
      const parsed = parseManifest(text);
      payload = { bytes: new TextEncoder().encode(parsed.canonical), version: parsed.version };
    }
    this.payloads.set(manifestBytes, payload);
    return payload;
  }
}
