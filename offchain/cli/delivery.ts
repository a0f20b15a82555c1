/**
 * The transport `tom3` delivers workloads with. Peer-to-peer delivery (`offchain/p2p`) is not wired in yet, so
 * delivery fails with a clear "no delivery transport" error per endpoint; `--no-deliver` stops before it.
 */
import type { ManifestDelivery } from "../sdk";
import type { GlobalOptions } from "./context";

export async function createDelivery(_options: GlobalOptions): Promise<ManifestDelivery> {
  const { noDelivery } = await import("../sdk/delivery");
  return noDelivery;
}
