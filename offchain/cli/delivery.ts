/**
 * The transport `tom3` delivers workloads with: a peer-to-peer manifest node (offchain/p2p) holding the tenant's
 * key, dialling only (it serves nothing), and checking peers against the chain like every other node. Started on
 * demand by the commands that deliver (`deploy`, `update`) and stopped when the command ends.
 */
import type { Provider } from "ethers";
import type { Tom3Deployment } from "../chain/deployment";
import type { ManifestDelivery } from "../sdk";

export interface CliDelivery {
  delivery: ManifestDelivery;
  stop(): Promise<void>;
}

export async function createDelivery(privateKey: string, provider: Provider, deployment: Tom3Deployment): Promise<CliDelivery> {
  const [{ ChainAuthorizer, createManifestNode }, { P2pManifestDelivery }] = await Promise.all([
    import("../p2p"),
    import("../sdk/p2p-delivery"),
  ]);
  const node = await createManifestNode({
    privateKey,
    authorizer: new ChainAuthorizer({ provider, deployment }),
    listen: [],
  });
  await node.start();
  return { delivery: new P2pManifestDelivery(node), stop: () => node.stop() };
}
