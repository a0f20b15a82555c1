import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  RecordingDelivery,
  Tom3Client,
  Tom3DeliveryError,
  Tom3InputError,
  Tom3TimeoutError,
  deployManifest,
  deliverWorkload,
  getStatus,
  waitForAcknowledgements,
  waitForMatches,
} from "../../../offchain/sdk";
import type { Tom3ProgressEvent } from "../../../offchain/sdk";
import { parseManifest } from "../../../offchain/manifest";
import { REPO_ROOT, startLocalChain } from "../../harness/local-chain";
import type { LocalChain } from "../../harness/local-chain";
import { acknowledge, bid, increaseTime, providerApi, setUpMarket } from "./helpers";
import type { Market } from "./helpers";

const HELLO = readFileSync(join(REPO_ROOT, "examples", "hello.yaml"), "utf8");
const HELLO_V2 = HELLO.replace("GREETING: hello", "GREETING: bonjour");

/** A tenant's whole journey through the SDK against a real node: from manifest to refunds. */
describe("sdk: a deployment's life cycle", function () {
  this.timeout(60_000);
  let chain: LocalChain;
  let m: Market;
  let client: Tom3Client;
  const delivery = new RecordingDelivery((endpoint) => endpoint.startsWith("/"));
  const events: Tom3ProgressEvent[] = [];

  before(async function () {
    chain = await startLocalChain();
    m = await setUpMarket(chain, 2);
    client = await Tom3Client.connect({
      runner: m.tenant,
      deploymentsDir: chain.deploymentsDir,
      delivery,
      pollIntervalMs: 100,
      onProgress: (event) => events.push(event),
    });
  });

  after(async function () {
    await chain?.stop();
  });

  let deploymentId: bigint;
  let orderId: bigint;

  it("deploys examples/hello.yaml: deposits with a permit, creates the deployment and one order", async function () {
    const result = await deployManifest(client, { manifest: HELLO, source: "hello.yaml" });
    const { version } = parseManifest(HELLO);
    expect(result.version).to.equal(version);
    expect(result.orders).to.have.length(1);
    const [order] = result.orders;
    expect(order.group).to.equal("eu");
    expect(order.services).to.deep.equal(["api", "web"]);
    expect(order.spec.resources).to.deep.equal({ cpuMillis: 750, memoryMiB: 192, storageMiB: 320, bandwidthMbps: 15 });
    expect(result.locked).to.equal(120n * 3600n);
    expect(result.deposited).to.equal(result.locked);
    expect(await m.market.balanceOf(m.tenant.address)).to.deep.equal([0n, result.locked]);
    expect(events.find((e) => e.type === "escrowDeposited")).to.deep.include({ permit: true });
    expect(events.map((e) => e.type)).to.include.members(["manifestParsed", "deploymentCreated", "orderCreated"]);
    deploymentId = result.deploymentId;
    orderId = order.orderId;
    expect((await m.market.deployment(deploymentId)).version).to.equal(version);
  });

  it("matches the lowest bid itself once the window closes", async function () {
    const [alpha, bravo] = m.providers;
    const waiting = waitForMatches(client, { orderIds: [orderId] });
    await bid(m, alpha, orderId, 110n);
    await bid(m, bravo, orderId, 100n);
    await increaseTime(m, 31);
    const { matched, unmatched } = await waiting;
    expect(unmatched).to.deep.equal([]);
    expect(matched).to.have.length(1);
    expect(matched[0]).to.deep.include({ orderId, charterId: orderId, provider: bravo.address, pricePerSecond: 100n });
    expect(matched[0].matchedByUs).to.equal(true);
    expect(events.filter((e) => e.type === "bidPlaced")).to.have.length(2);
    // The unused escrow ((120 - 100) * 3600) came back.
    expect((await m.market.balanceOf(m.tenant.address))[0]).to.equal(20n * 3600n);
  });

  it("refuses to deliver a manifest that does not hash to the deployment's version", async function () {
    const error = await deliverWorkload(client, { deploymentId, manifest: HELLO_V2 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Tom3InputError);
    expect((error as Error).message).to.match(/providers would refuse it/);
    expect(delivery.deliveries).to.have.length(0);
  });

  it("delivers the workload to the winner's multiaddr", async function () {
    const { delivered, failed } = await deliverWorkload(client, { deploymentId, manifest: HELLO });
    expect(failed).to.deep.equal([]);
    expect(delivered).to.have.length(1);
    expect(delivered[0].endpoint).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/4002\/p2p\//);
    expect(delivery.deliveries).to.have.length(1);
    expect(delivery.deliveries[0].deploymentId).to.equal(deploymentId);
    expect(new TextDecoder().decode(delivery.deliveries[0].bytes)).to.equal(HELLO);
  });

  it("reports a provider it cannot reach through any endpoint entry", async function () {
    const nowhere = new Tom3Client({
      runner: m.tenant,
      deployment: chain.deployment,
      delivery: new RecordingDelivery(() => false),
    });
    const error = await deliverWorkload(nowhere, { deploymentId, manifest: HELLO }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Tom3DeliveryError);
    expect((error as Error).message).to.match(/could not deliver deployment \d+ to provider 0x[0-9a-fA-F]{40} \(charter/);
    expect((error as Error).message).to.include(`${providerApi(1)}: no delivery transport`);
  });

  it("waits for the provider's acknowledgement, with a default timeout", async function () {
    const pending = await waitForAcknowledgements(client, { charterIds: [orderId], timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(pending).to.be.instanceOf(Tom3TimeoutError);
    expect((pending as Error).message).to.match(/^timed out after 300 ms waiting for the acknowledgement of charter/);

    await acknowledge(m, m.providers[1], orderId);
    const { acknowledged } = await waitForAcknowledgements(client, { charterIds: [orderId] });
    expect(acknowledged).to.have.length(1);
    expect(acknowledged[0].endsAt - acknowledged[0].acknowledgedAt).to.equal(3600n);
  });

  it("shows the deployment's status: orders, charters, accrual", async function () {
    await increaseTime(m, 100);
    // The providers' APIs here answer nothing: the status says why a charter has no service URL.
    const { deployments } = await getStatus(client);
    expect(deployments).to.have.length(1);
    const [status] = deployments;
    expect(status).to.deep.include({ deploymentId, owner: m.tenant.address, open: true });
    expect(status.orders.map((o) => o.state)).to.deep.equal(["Matched"]);
    const [charter] = status.charters;
    expect(charter).to.deep.include({ charterId: orderId, state: "Active", provider: m.providers[1].address });
    expect(charter.pricePerSecond).to.equal(100n);
    expect(charter.accrued).to.be.at.least(100n * 100n);
    expect(charter.claimable).to.equal(charter.accrued);
    expect(charter.providerEndpoint).to.include(providerApi(1));
    expect(charter.serviceEndpoints).to.equal(undefined);
    expect(charter.serviceEndpointsError).to.match(/^http:\/\/127\.0\.0\.1:3 did not answer \(.*ECONNREFUSED/);

    const byId = await getStatus(client, {
      deploymentId,
      serviceEndpoints: async () => [{ service: "web", replica: 0, port: 8080, as: 80, url: "http://203.0.113.9:32839" }],
    });
    expect(byId.deployments[0].charters[0].serviceEndpoints).to.deep.equal([
      { service: "web", replica: 0, port: 8080, as: 80, url: "http://203.0.113.9:32839" },
    ]);
  });

  it("updates the deployment to a new version and re-delivers it", async function () {
    const result = await client.updateDeployment({ deploymentId, manifest: HELLO_V2 });
    expect(result.version).to.equal(parseManifest(HELLO_V2).version);
    expect(result.previousVersion).to.equal(parseManifest(HELLO).version);
    expect((await m.market.deployment(deploymentId)).version).to.equal(result.version);
    expect(result.delivery?.delivered).to.have.length(1);
    expect(new TextDecoder().decode(delivery.deliveries.at(-1)!.bytes)).to.equal(HELLO_V2);

    const again = await client.updateDeployment({ deploymentId, manifest: HELLO_V2 }).catch((e: unknown) => e);
    expect(again).to.be.instanceOf(Tom3InputError);
    expect((again as Error).message).to.match(/is already at version 0x[0-9a-f]{64}: nothing to update/);
  });

  it("extends the charter and the deployment, depositing only when short", async function () {
    const before = (await client.getStatus({ deploymentId, serviceEndpoints: false })).deployments[0].charters[0].endsAt;
    const extended = await client.extendCharter({ charterId: orderId, by: 600 });
    expect(extended.endsAt).to.equal(before + 600n);
    expect(extended.locked).to.equal(100n * 600n);
    expect(extended.deposited).to.equal(0n); // 20 * 3600 was available

    const whole = await client.extendDeployment({ deploymentId, by: 3600 });
    expect(whole.charters).to.have.length(1);
    expect(whole.charters[0].endsAt).to.equal(before + 600n + 3600n);
    expect(whole.deposited).to.equal(100n * 3600n - (20n * 3600n - 100n * 600n));
  });

  it("closes the deployment: settles the charter, refunds the rest", async function () {
    const [, lockedBefore] = await m.market.balanceOf(m.tenant.address);
    const result = await client.closeDeployment({ deploymentId });
    expect(result.charters).to.have.length(1);
    const [closed] = result.charters;
    expect(closed.reason).to.equal("ClosedByTenant");
    expect(closed.paidToProvider + closed.refundedToTenant).to.equal(lockedBefore);
    expect(result.refunded).to.equal(closed.refundedToTenant);
    const [available, locked] = await m.market.balanceOf(m.tenant.address);
    expect(locked).to.equal(0n);
    expect(available).to.be.greaterThan(0n);
    const status = (await client.getStatus({ deploymentId, serviceEndpoints: false })).deployments[0];
    expect(status.open).to.equal(false);
    expect(status.charters[0]).to.deep.include({ state: "Closed", closeReason: "ClosedByTenant" });
    expect(events.map((e) => e.type)).to.include.members(["charterClosed", "deploymentClosed"]);
  });

  it("reports an order whose window closed without a bid as unmatched, and cancels it on request", async function () {
    const { orders } = await client.deployManifest({ manifest: HELLO });
    await increaseTime(m, 31);
    const { matched, unmatched } = await client.waitForMatches({
      orderIds: orders.map((o) => o.orderId),
      cancelUnmatched: true,
    });
    expect(matched).to.deep.equal([]);
    expect(unmatched).to.deep.equal([{ orderId: orders[0].orderId, reason: "noBids", cancelledByUs: true }]);
    expect((await m.market.order(orders[0].orderId)).state).to.equal(3n); // Cancelled

    // Why nobody bid: every registered provider is asked; these announce an API that does not answer.
    const { decisions } = await client.getBidDecisions({ orderId: orders[0].orderId });
    expect(decisions.map((d) => [d.provider, d.kind])).to.have.deep.members(m.providers.map((p) => [p.address, "unreachable"]));
    for (const d of decisions) expect(d.reason).to.match(/^http:\/\/127\.0\.0\.1:\d did not answer \(.*ECONNREFUSED/);
  });

  it("cancels an open order, unlocking what it held, and refuses one that is not open", async function () {
    const { orders } = await client.deployManifest({ manifest: HELLO });
    const [, lockedBefore] = (await m.market.balanceOf(m.tenant.address)) as [bigint, bigint];
    const cancelled = await client.cancelOrder({ orderId: orders[0].orderId });
    expect(cancelled.unlocked).to.equal(orders[0].spec.maxPricePerSecond * orders[0].spec.duration);
    expect(cancelled.locked).to.equal(lockedBefore - cancelled.unlocked);
    const again = await client.cancelOrder({ orderId: orders[0].orderId }).catch((e: unknown) => e);
    expect(again).to.be.instanceOf(Tom3InputError);
    expect((again as Error).message).to.equal(`order ${orders[0].orderId} is cancelled, not open: nothing to cancel`);
  });
});
