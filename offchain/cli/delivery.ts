/**
 * The transports `tom3` delivers workloads with, chosen by `--delivery auto|p2p|http`: a peer-to-peer manifest node
 * (offchain/p2p) holding the tenant's key, dialling only (it serves nothing) and checking peers against the chain
 * like every other node; and the signed HTTP upload to a provider's API (an EIP-712 signature by the same key).
 * `auto` has both (each provider's multiaddrs first, then its API). Started on demand by the commands that deliver
 * (`deploy`, `update`) and stopped when the command ends.
 */
import type { Provider, Wallet } from "ethers";
import type { Tom3Deployment } from "../chain/deployment";
import type { DeliveryTransport, ManifestDelivery } from "../sdk";

export const DELIVERY_TRANSPORTS: readonly DeliveryTransport[] = ["auto", "p2p", "http"];

export interface CliDelivery {
  delivery: ManifestDelivery;
  stop(): Promise<void>;
}

export async function createDelivery(
  wallet: Wallet,
  provider: Provider,
  deployment: Tom3Deployment,
  transport: DeliveryTransport = "auto",
): Promise<CliDelivery> {
  const { combineDeliveries, HttpManifestDelivery } = await import("../sdk");
  const http = new HttpManifestDelivery({ signer: wallet.connect(provider), deployment });
  if (transport === "http") return { delivery: http, stop: async () => undefined };

  const [{ ChainAuthorizer, createManifestNode }, { P2pManifestDelivery }] = await Promise.all([
    import("../p2p"),
    import("../sdk/p2p-delivery"),
  ]);
  const node = await createManifestNode({
    privateKey: wallet.privateKey,
    authorizer: new ChainAuthorizer({ provider, deployment }),
    listen: [],
  });
  await node.start();
  const p2p = new P2pManifestDelivery(node);
  return { delivery: transport === "p2p" ? p2p : combineDeliveries(p2p, http), stop: () => node.stop() };
}
