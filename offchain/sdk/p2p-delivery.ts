/**
 * `ManifestDelivery` over the peer-to-peer manifest protocol (`/tom3/manifest/1.0.0`, offchain/p2p): pushes to a
 * provider's libp2p multiaddr entries; an https entry is left to another transport (UnsupportedEndpointError).
 * The provider's answer is explicit: anything but OK (a stranger, a version mismatch...) is a
 * `Tom3DeliveryRefusedError` carrying the answer's stable code; a peer that cannot be dialled is `UNREACHABLE`.
 * The manifest goes in its canonical form (the receiver checks its hash before parsing).
 */
import type { ManifestNode } from "../p2p";
import { UnsupportedEndpointError } from "./delivery";
import type { ManifestDelivery } from "./delivery";
import { Tom3DeliveryRefusedError } from "./errors";

export class P2pManifestDelivery implements ManifestDelivery {
  /** `node`: a started manifest node of the tenant (or its operator); it only dials, so `listen: []` suffices. */
  constructor(
    private readonly node: Pick<ManifestNode, "push">,
    private readonly timeoutMs = 30_000,
  ) {}

  async deliver(providerEndpoint: string, deploymentId: bigint, manifestBytes: Uint8Array): Promise<void> {
    if (!/^\/.+\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(providerEndpoint)) {
      throw new UnsupportedEndpointError(providerEndpoint);
    }
    let answer;
    try {
      answer = await this.node.push(providerEndpoint, deploymentId, manifestBytes, {
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message.replace(/^[A-Z_]+: /, "") : String(error);
      throw new Tom3DeliveryRefusedError(typeof code === "string" ? code : "UNREACHABLE", providerEndpoint, message, {
        cause: error,
      });
    }
    if (answer.status !== "OK") {
      throw new Tom3DeliveryRefusedError(answer.code, providerEndpoint, answer.message, {
        details: { status: answer.status, issues: answer.issues },
      });
    }
  }
}
