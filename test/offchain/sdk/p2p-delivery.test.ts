import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { attributeId } from "../../../offchain/chain/attributes";
import { parseManifest } from "../../../offchain/manifest";
import { ChainAuthorizer, createManifestNode } from "../../../offchain/p2p";
import type { ManifestNode, VerifiedManifest } from "../../../offchain/p2p";
import {
  P2pManifestDelivery,
  Tom3Client,
  Tom3DeliveryError,
  Tom3DeliveryFailedError,
  Tom3DeliveryRefusedError,
} from "../../../offchain/sdk";
import type { Tom3ProgressEvent } from "../../../offchain/sdk";
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
      { charterId: orders[0].orderId, provider: m.providers[0].address, endpoint: providerNode!.multiaddrs[0], attempts: 1 },
    ]);
    expect(received).to.have.length(1);
    expect(received[0].deploymentId).to.equal(deploymentId);
    expect(received[0].version).to.equal(parseManifest(HELLO).version);
    // Sent in its canonical form: the receiver checked its hash against the chain before parsing it.
    expect(new TextDecoder().decode(received[0].bytes)).to.equal(parseManifest(HELLO).canonical);
  });

  it("turns a provider's refusal into a Tom3DeliveryError with the protocol's code", async function () {
    const delivery = new P2pManifestDelivery(tenantNode!);
    // Deployment 999 does not exist: the provider's node refuses it after checking the chain.
    const error = await delivery
      .deliver(providerNode!.multiaddrs[0], 999n, new TextEncoder().encode(HELLO))
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Tom3DeliveryError);
    expect(error).to.be.instanceOf(Tom3DeliveryRefusedError);
    expect((error as Tom3DeliveryRefusedError).code).to.equal("UNKNOWN_DEPLOYMENT");
    expect((error as Tom3DeliveryRefusedError).transient).to.equal(false);
    expect((error as Tom3DeliveryError).details.code).to.equal("UNKNOWN_DEPLOYMENT");
    expect((error as Error).message).to.match(/^refused \(UNKNOWN_DEPLOYMENT\): /);
  });

  /** A new deployment of hello with the provider's bid in, its window closed, not matched yet. */
  async function biddedDeployment(client: Tom3Client): Promise<{ deploymentId: bigint; orderId: bigint }> {
    const { deploymentId, orders } = await client.deployManifest({ manifest: HELLO });
    await bid(m, m.providers[0], orders[0].orderId, 100n);
    await increaseTime(m, 31);
    return { deploymentId, orderId: orders[0].orderId };
  }

  it("retries while the provider does not see its new charter yet (NOT_A_CHARTER_HOLDER), then delivers", async function () {
    const events: Tom3ProgressEvent[] = [];
    const client = await Tom3Client.connect({
      runner: m.tenant,
      deploymentsDir: chain.deploymentsDir,
      delivery: new P2pManifestDelivery(tenantNode!),
      pollIntervalMs: 100,
      onProgress: (event) => events.push(event),
    });
    const { deploymentId, orderId } = await biddedDeployment(client);
    // A push before the match: refused, and the provider's ChainAuthorizer now holds a charter list without it for
    // its cache period (5 s), as a provider that answered a moment before the match would.
    const early = await tenantNode!.push(providerNode!.multiaddrs[0], deploymentId, new TextEncoder().encode(HELLO));
    expect(early.code).to.equal("NOT_A_CHARTER_HOLDER");
    await (await m.market.matchOrder(orderId)).wait();

    const before = received.length;
    const { delivered } = await client.deliverWorkload({ deploymentId, manifest: HELLO, charterIds: [orderId] });
    expect(delivered).to.have.length(1);
    expect(delivered[0].attempts).to.be.greaterThan(1);
    const retries = events.filter((e) => e.type === "deliveryRetrying");
    expect(retries.length).to.equal(delivered[0].attempts - 1);
    expect(retries[0]).to.include({ code: "NOT_A_CHARTER_HOLDER", attempt: 1, delayMs: 250, provider: m.providers[0].address });
    expect(received.length).to.equal(before + 1);
  });

  it("gives up after the retries with a typed error naming the provider and the refusal", async function () {
    // The provider's endpoint now leads to a node of another key: it never holds the charter, so it always refuses.
    const impostor = await createManifestNode({
      privateKey: chain.accounts[9].privateKey,
      authorizer: new ChainAuthorizer({ provider: m.provider, deployment: chain.deployment }),
      listen: ["/ip4/127.0.0.1/tcp/0"],
    });
    await impostor.start();
    const registry = m.registry.connect(m.providers[0]) as typeof m.registry;
    try {
      await (await registry.update(impostor.multiaddrs[0], [attributeId("region=eu-west")])).wait();
      const client = await Tom3Client.connect({
        runner: m.tenant,
        deploymentsDir: chain.deploymentsDir,
        delivery: new P2pManifestDelivery(tenantNode!),
        pollIntervalMs: 100,
      });
      const { deploymentId, orderId } = await biddedDeployment(client);
      await (await m.market.matchOrder(orderId)).wait();
      const started = Date.now();
      const error = await client
        .deliverWorkload({ deploymentId, manifest: HELLO, retry: { attempts: 3, initialDelayMs: 50 } })
        .catch((e: unknown) => e);
      expect(Date.now() - started).to.be.lessThan(10_000);
      expect(error).to.be.instanceOf(Tom3DeliveryFailedError);
      const failure = error as Tom3DeliveryFailedError;
      expect(failure).to.include({ provider: m.providers[0].address, charterId: orderId, code: "NOT_A_CHARTER_HOLDER", attempts: 3 });
      expect(failure.message).to.match(
        new RegExp(`^could not deliver deployment ${deploymentId} to provider ${m.providers[0].address} \\(charter ${orderId}\\): NOT_A_CHARTER_HOLDER: .*gave up after 3 attempts`),
      );

      // Restricted to HTTP, and the endpoint lists no API URL: nothing to try, said as such.
      const { delivered, failed } = await client.deliverWorkload({
        deploymentId,
        manifest: HELLO,
        requireAll: false,
        transport: "http",
      });
      expect(delivered).to.deep.equal([]);
      expect(failed[0]).to.include({ code: "NO_ENDPOINT", attempts: 0 });
    } finally {
      await (await registry.update(providerNode!.multiaddrs[0], [attributeId("region=eu-west")])).wait();
      await impostor.stop();
    }
  });
});
