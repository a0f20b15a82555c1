import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { attributeId } from "../../../offchain/chain/attributes";
import { parseManifest } from "../../../offchain/manifest";
import { ChainAuthorizer, createManifestNode } from "../../../offchain/p2p";
import type { ManifestNode, VerifiedManifest } from "../../../offchain/p2p";
import { P2pManifestDelivery, Tom3Client, Tom3DeliveryError } from "../../../offchain/sdk";
import { REPO_ROOT, startLocalChain } from "../../harness/local-chain";
import type { LocalChain } from "../../harness/local-chain";
import { bid, increaseTime, setUpMarket } from "./helpers";
import type { Market } from "./helpers";

const HELLO = readFileSync(join(REPO_ROOT, "examples", "hello.yaml"), "utf8");

/** The SDK delivering a workload over real libp2p sockets to a provider's manifest node, checked against the chain. */
describe("sdk: delivery over the peer-to-peer manifest protocol", function () {
  this.timeout(60_000);
  let chain: LocalChain;
  let m: Market;
  let providerNode: ManifestNode | undefined;
  let tenantNode: ManifestNode | undefined;
  const received: VerifiedManifest[] = [];

  before(async function () {
    chain = await startLocalChain();
    m = await setUpMarket(chain, 1);
    const authorizer = (): ChainAuthorizer => new ChainAuthorizer({ provider: m.provider, deployment: chain.deployment });
    providerNode = await createManifestNode({
      privateKey: chain.accounts[2].privateKey,
      authorizer: authorizer(),
      listen: ["/ip4/127.0.0.1/tcp/0"],
      onManifest: (verified) => void received.push(verified),
    });
    await providerNode.start();
    // The provider publishes where its node listens (and keeps an https entry the tenant's node cannot use).
    const registry = m.registry.connect(m.providers[0]) as typeof m.registry;
    await (
      await registry.update(`https://provider-0.example ${providerNode.multiaddrs[0]}`, [attributeId("region=eu-west")])
    ).wait();
    tenantNode = await createManifestNode({ privateKey: chain.accounts[1].privateKey, authorizer: authorizer(), listen: [] });
    await tenantNode.start();
  });

  after(async function () {
    await tenantNode?.stop();
    await providerNode?.stop();
    await chain?.stop();
  });

  it("deploys hello.yaml and delivers it to the winner's node, which verifies it against the chain", async function () {
    const client = await Tom3Client.connect({
      runner: m.tenant,
      deploymentsDir: chain.deploymentsDir,
      delivery: new P2pManifestDelivery(tenantNode!),
      pollIntervalMs: 100,
    });
    const { deploymentId, orders } = await client.deployManifest({ manifest: HELLO });
    const waiting = client.waitForMatches({ orderIds: orders.map((o) => o.orderId) });
    await bid(m, m.providers[0], orders[0].orderId, 100n);
    await increaseTime(m, 31);
    const { matched } = await waiting;
    expect(matched).to.have.length(1);

    const { delivered } = await client.deliverWorkload({ deploymentId, manifest: HELLO });
    expect(delivered).to.deep.equal([
      { charterId: orders[0].orderId, provider: m.providers[0].address, endpoint: providerNode!.multiaddrs[0] },
    ]);
    expect(received).to.have.length(1);
    expect(received[0].deploymentId).to.equal(deploymentId);
    expect(received[0].version).to.equal(parseManifest(HELLO).version);
    expect(new TextDecoder().decode(received[0].bytes)).to.equal(HELLO);
  });

  it("turns a provider's refusal into a Tom3DeliveryError with the protocol's code", async function () {
    const delivery = new P2pManifestDelivery(tenantNode!);
    // Deployment 999 does not exist: the provider's node refuses it after checking the chain.
    const error = await delivery
      .deliver(providerNode!.multiaddrs[0], 999n, new TextEncoder().encode(HELLO))
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Tom3DeliveryError);
    expect((error as Tom3DeliveryError).details.code).to.be.a("string").and.not.equal("OK");
    expect((error as Error).message).to.match(/^refused \([A-Z_]+\): /);
  });
});
