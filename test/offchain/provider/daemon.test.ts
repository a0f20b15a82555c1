/**
 * The whole provider daemon against real parts: the in-process Hardhat chain (suite deployed by the Ignition module),
 * the local Docker engine (sample images, published on 127.0.0.1), libp2p on loopback. A tenant deploys
 * examples/hello.yaml and pushes it with its own manifest node; the daemon bids, wins, runs, acknowledges, claims
 * and tears down. Everything the daemon's key labelled is removed afterwards, even on failure.
 */
import { join } from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet } from "ethers";
import { MANIFEST_UPLOAD_HEADERS, signManifestUpload } from "../../../offchain/chain/manifest-upload";
import { parseManifest, requirementSpecs } from "../../../offchain/manifest";
import {
  combineDeliveries,
  HttpManifestDelivery,
  P2pManifestDelivery,
  Tom3Client,
} from "../../../offchain/sdk";
import { ChainAuthorizer, createManifestNode, ManifestStore, type ManifestNode } from "../../../offchain/p2p";
import { ProviderDaemon, StateStore, logsAuthMessage, parseProviderConfig, type CharterRecord } from "../../../offchain/provider";
import { buildSampleImages } from "../../../offchain/provider/executor";
import type { Tom3Deployment } from "../../../offchain/chain/deployment";
import { deployTom3, type Tom3Suite } from "../../fixtures/deploy";
import { type Role, HELLO, HELLO_BYTES, HELLO_CANONICAL, HELLO_VERSION, OTHER, OTHER_BYTES, OTHER_VERSION, ROLE, hardhatKey } from "../p2p/helpers";
import { cleanUp, docker, httpGet, leftovers } from "./executor/helpers";
import { LABEL } from "../../../offchain/provider/executor";
import { eventually, tempDir } from "./helpers";

const ONE = 10n ** 18n;
const HELLO_SPEC = requirementSpecs(parseManifest(new TextDecoder().decode(HELLO_BYTES)))[0].spec;

describe("provider daemon", function () {
  let suite: Tom3Suite;
  let daemon: ProviderDaemon;
  let tenantNode: ManifestNode;
  let key: { address: string; privateKey: string };
  let tenantAddress: string;
  let dataDir: string;
  let record: Tom3Deployment;

  /** A daemon on `dataDir` with the provider's key: a second one is the first one restarted. */
  async function startDaemon(as = { key, dataDir, region: "eu-west" }): Promise<ProviderDaemon> {
    const started = new ProviderDaemon({
      config: config(as.dataDir, as.region),
      env: { TEST_PROVIDER_KEY: as.key.privateKey },
      provider: hre.ethers.provider,
      deployment: record,
      executor: { publishAddress: "127.0.0.1", pullPolicy: "never", namePrefix: `tom3d-${as.key.address.slice(2, 10).toLowerCase()}-` },
      charters: { claimIntervalMs: 300, watchdogMarginSeconds: 60, peerFetchDelayMs: 300 },
    });
    await started.start();
    return started;
  }

  const config = (dir: string, region = "eu-west") =>
    parseProviderConfig(
      `
chain:
  rpcUrl: http://127.0.0.1:8545
  contracts: { market: "${suite.market.target}", registry: "${suite.registry.target}", deployedAtBlock: 0 }
  confirmations: 0
  pollInterval: 100ms
key: { keyEnv: TEST_PROVIDER_KEY }
endpoints: { listen: [/ip4/127.0.0.1/tcp/0], api: "127.0.0.1:0" }
attributes: { region: ${region} }
capacity: { cpu: 4, memory: 4Gi, storage: 10Gi, bandwidth: 1Gbps }
pricing: { strategy: linear, cpu: 10, memory: 10, storage: 1, bandwidth: 1, marginBps: 0, floor: 10 }
register: { enabled: true, stake: "0" }
dataDir: ${dir}
`,
      "provider.yaml (test)",
    );

  /** The tenant posts hello's order on a new deployment at `version`; returns the ids. */
  async function deploy(version = HELLO_VERSION): Promise<{ deploymentId: bigint; orderId: bigint }> {
    const tenant = (await hre.ethers.getSigners())[ROLE.tenant];
    await suite.market.connect(tenant).createDeployment(version);
    const deploymentId = await suite.market.deploymentCount();
    await suite.market.connect(tenant).createOrder(deploymentId, HELLO_SPEC);
    return { deploymentId, orderId: await suite.market.orderCount() };
  }

  /** The daemon bids, the tenant matches at once; resolves when the daemon holds the charter. */
  async function win(orderId: bigint): Promise<void> {
    const decision = await daemon.engine.waitForDecision(orderId);
    expect(decision.kind, JSON.stringify(decision)).to.equal("bid");
    const tenant = (await hre.ethers.getSigners())[ROLE.tenant];
    await suite.market.connect(tenant).matchOrder(orderId);
    await eventually(() => daemon.charters.charter(orderId) !== undefined, 20_000, "the charter to be won");
  }

  /** The tenant pushes right after the match, as the SDK does (no retry). */
  const push = (deploymentId: bigint, bytes: Uint8Array) => tenantNode.push(daemon.node.multiaddrs[0], deploymentId, bytes);

  const charter = (id: bigint): CharterRecord => daemon.charters.charter(id)!;

  const tenantAuthorizer = () => new ChainAuthorizer({ provider: hre.ethers.provider, deployment: record, cacheTtlMs: 0 });

  async function api(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${daemon.apiUrl}${path}`, { headers });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  before(async function () {
    await buildSampleImages();
    suite = await deployTom3();
    const [deployer, tenant] = await hre.ethers.getSigners();
    tenantAddress = tenant.address;
    const market = await suite.market.getAddress();
    await suite.token.connect(deployer).transfer(tenant, 100n * ONE);
    await suite.token.connect(tenant).approve(market, hre.ethers.MaxUint256);
    await suite.market.connect(tenant).deposit(100n * ONE);

    key = Wallet.createRandom();
    await deployer.sendTransaction({ to: key.address, value: 10n * ONE });
    record = {
      chainId: Number((await hre.ethers.provider.getNetwork()).chainId),
      deployedAtBlock: 0,
      contracts: {
        token: await suite.token.getAddress(),
        registry: await suite.registry.getAddress(),
        certificates: await suite.certificates.getAddress(),
        market,
        usage: await suite.usage.getAddress(),
      },
    };
    dataDir = tempDir();
    daemon = await startDaemon();
    tenantNode = await createManifestNode({
      privateKey: hardhatKey(ROLE.tenant),
      authorizer: tenantAuthorizer(),
      listen: [],
    });
    await tenantNode.start();
  });

  after(async function () {
    await tenantNode?.stop();
    await daemon?.stop();
    if (key) await cleanUp(key.address);
  });

  it("registers itself with the addresses its p2p node and its API listen on", async function () {
    expect(await suite.registry.isProvider(key.address)).to.equal(true);
    const endpoint = await suite.registry.endpointOf(key.address);
    expect(endpoint).to.equal([...daemon.node.multiaddrs, daemon.apiUrl].join(" "));
  });

  it("bids, wins, gets the workload over p2p, runs it, acknowledges, claims, and tears down on close", async function () {
    const { deploymentId, orderId } = await deploy();
    await win(orderId);
    expect(charter(orderId).phase).to.equal("waiting");

    const answer = await push(deploymentId, HELLO_BYTES);
    expect(answer.status, answer.message).to.equal("OK");
    await eventually(() => charter(orderId).phase === "running", 60_000, "the workload to run");
    const onChain = await suite.market.charter(orderId);
    expect(onChain.state).to.equal(2n); // Active: acknowledged

    const web = charter(orderId).endpoints!.find((e) => e.service === "web")!;
    expect(web.host).to.equal("127.0.0.1");
    expect((await httpGet(web.hostPort)).status).to.equal(200);

    await time.increase(30); // accrual needs chain time to pass
    await eventually(async () => (await suite.market.charter(orderId)).claimed > 0n, 20_000, "a claim");

    const status = await api("/status");
    expect(status.status).to.equal(200);
    expect(status.body).to.deep.include({ provider: key.address });
    expect((status.body.charters as Record<string, number>).running).to.equal(1);
    expect((status.body.engine as { reachable: boolean }).reachable).to.equal(true);
    expect((status.body.watcher as { state: string }).state).to.be.oneOf(["live", "syncing"]);
    expect((status.body.reserved as { cpuMillis: number }).cpuMillis).to.equal(HELLO_SPEC.resources.cpuMillis);

    const decision = await api(`/orders/${orderId}/decision`);
    expect(decision.body).to.include({ kind: "bid", outcome: "won", orderId: String(orderId) });
    expect((await api("/orders/999999/decision")).body).to.deep.equal({ error: { code: "NOT_FOUND", message: "no decision on order 999999" } });
    expect((await api("/orders/abc/decision")).status).to.equal(400);
    const detail = await api(`/charters/${orderId}`);
    expect(detail.body).to.include({ phase: "running", version: HELLO_VERSION });
    // Each published endpoint carries the URL a tenant opens, and it answers.
    const [shownWeb] = detail.body.endpoints as { service: string; url: string }[];
    expect(shownWeb).to.include({ service: "web", url: `http://127.0.0.1:${web.hostPort}` });
    expect((await fetch(shownWeb.url)).status).to.equal(200);
    const metrics = await fetch(`${daemon.apiUrl}/metrics`).then((r) => r.text());
    expect(metrics).to.match(/tom3_provider_bids_sent_total \d/);
    expect(metrics).to.match(/^tom3_provider_p2p_requests_total\{type="push",code="OK"\} [1-9]\d*$/m);
    expect(metrics).to.match(/^tom3_provider_charters\{phase="running"\} 1$/m);
    expect(metrics).to.match(/^tom3_provider_claims_total [1-9]\d*$/m);
    const claimedWei = Number(/^tom3_provider_claimed_wei_total (\S+)$/m.exec(metrics)?.[1]);
    expect(claimedWei).to.be.greaterThan(0);
    expect(claimedWei).to.be.at.most(Number((await suite.market.charter(orderId)).claimed));

    // Logs: the tenant's signature only.
    const logs = `/charters/${orderId}/logs`;
    expect((await api(logs)).status).to.equal(401);
    const now = Math.floor(Date.now() / 1000);
    const signers = await hre.ethers.getSigners();
    const stranger = signers[ROLE.stranger];
    const tenant = signers[ROLE.tenant];
    const auth = async (signer: typeof tenant, at = now) => ({ authorization: `TOM3 ${at} ${await signer.signMessage(logsAuthMessage(orderId, at))}` });
    const refused = await api(logs, await auth(stranger));
    expect(refused.status).to.equal(403);
    expect((refused.body.error as { code: string }).code).to.equal("NOT_THE_TENANT");
    expect((await api(logs, await auth(tenant, now - 600))).status).to.equal(401);
    const allowed = await api(logs, await auth(tenant));
    expect(allowed.status).to.equal(200);
    expect((allowed.body.logs as { service: string }[]).map((l) => l.service).sort()).to.deep.equal(["api", "web"]);
    expect(tenant.address).to.equal(tenantAddress);

    await suite.market.connect(tenant).closeCharter(orderId);
    await eventually(() => charter(orderId).phase === "closed", 30_000, "the charter to close");
    expect(await leftovers(key.address)).to.deep.equal({ containers: [], networks: [] });
    expect(daemon.inventory.get(orderId)).to.equal(undefined);
    expect((await api(`/charters/${orderId}`)).body).to.include({ phase: "closed", code: "CHARTER_CLOSED" });
    expect((await api("/status")).body.reserved).to.deep.include({ cpuMillis: 0 });
    const after = await fetch(`${daemon.apiUrl}/metrics`).then((r) => r.text());
    expect(after).to.match(/^tom3_provider_charters\{phase="running"\} 0$/m);
    expect(after).to.match(/^tom3_provider_charters\{phase="closed"\} 1$/m);
  });

  it("never starts a workload whose version is not the chain's, and the watchdog closes the charter with a reason", async function () {
    const { deploymentId, orderId } = await deploy();
    await win(orderId);

    // The p2p node refuses it on the wire...
    const answer = await push(deploymentId, OTHER_BYTES);
    expect(answer.code).to.equal("VERSION_MISMATCH");
    // ...and the charter manager checks again whatever reaches it.
    await daemon.charters.offer({ deploymentId, version: OTHER_VERSION, manifest: parseManifest(OTHER) });
    expect(charter(orderId)).to.include({ phase: "waiting", code: "VERSION_MISMATCH" });
    const metrics = await fetch(`${daemon.apiUrl}/metrics`).then((r) => r.text());
    expect(metrics).to.match(/^tom3_provider_workload_verification_failures_total\{code="VERSION_MISMATCH"\} 1$/m);
    // The refusal on the wire is counted too.
    expect(metrics).to.match(/^tom3_provider_p2p_requests_total\{type="push",code="VERSION_MISMATCH"\} [1-9]\d*$/m);
    expect((await leftovers(key.address)).containers).to.deep.equal([]);

    const { acknowledgeBy } = await suite.market.charter(orderId);
    await time.increaseTo(acknowledgeBy - 59n);
    await eventually(() => charter(orderId).phase === "failed", 20_000, "the watchdog");
    expect(charter(orderId).code).to.equal("WORKLOAD_TIMEOUT");
    expect(charter(orderId).reason).to.match(/did not arrive 60 s before the acknowledgement deadline .*version/);
    expect((await suite.market.charter(orderId)).state).to.equal(3n); // Closed
    expect(daemon.inventory.get(orderId)).to.equal(undefined);
    expect((await leftovers(key.address)).containers).to.deep.equal([]);
  });

  /** `PUT /deployments/:id/manifest`, signed by `signer` over `signed` (default: what is sent is what is signed). */
  async function upload(
    deploymentId: bigint,
    body: Uint8Array | string,
    o: { signer?: Role; version?: string; expiry?: number; encoding?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: { error?: { code: string; message: string; issues?: unknown[] }; code?: string } }> {
    const signer = (await hre.ethers.getSigners())[ROLE[o.signer ?? "tenant"]];
    const version = o.version ?? HELLO_VERSION;
    const expiry = o.expiry ?? Math.floor(Date.now() / 1000) + 300;
    const signature = await signManifestUpload(signer, { deploymentId, version, chainId: record.chainId, market: record.contracts.market, expiry });
    const response = await fetch(`${daemon.apiUrl}/deployments/${deploymentId}/manifest`, {
      method: "PUT",
      headers: {
        [MANIFEST_UPLOAD_HEADERS.signature]: signature,
        [MANIFEST_UPLOAD_HEADERS.expiry]: String(expiry),
        [MANIFEST_UPLOAD_HEADERS.version]: version,
        [MANIFEST_UPLOAD_HEADERS.encoding]: o.encoding ?? "canonical",
        ...o.headers,
      },
      body: typeof body === "string" ? new TextEncoder().encode(body) : body,
    });
    return { status: response.status, body: (await response.json()) as never };
  }

  it("refuses a signed HTTP upload with a stable code and status for each reason, and runs nothing", async function () {
    const { deploymentId, orderId } = await deploy();
    await win(orderId);
    const refusal = async (answer: Promise<Awaited<ReturnType<typeof upload>>>) => {
      const { status, body } = await answer;
      return { status, code: body.error?.code };
    };
    const canonical = HELLO_CANONICAL;
    expect(await refusal(upload(deploymentId, canonical, { headers: { [MANIFEST_UPLOAD_HEADERS.signature]: "" } }))).to.deep.equal({
      status: 401,
      code: "UNAUTHENTICATED",
    });
    expect(await refusal(upload(deploymentId, canonical, { headers: { [MANIFEST_UPLOAD_HEADERS.signature]: "0x1234" } }))).to.deep.equal({
      status: 401,
      code: "BAD_SIGNATURE",
    });
    const past = Math.floor(Date.now() / 1000) - 10;
    expect(await refusal(upload(deploymentId, canonical, { expiry: past }))).to.deep.equal({ status: 401, code: "STALE_SIGNATURE" });
    expect(await refusal(upload(deploymentId, canonical, { expiry: past + 7_200 }))).to.deep.equal({ status: 401, code: "STALE_SIGNATURE" });
    expect(await refusal(upload(deploymentId, canonical, { signer: "stranger" }))).to.deep.equal({ status: 403, code: "STRANGER" });
    expect(await refusal(upload(999_999n, canonical))).to.deep.equal({ status: 404, code: "UNKNOWN_DEPLOYMENT" });
    const otherCanonical = parseManifest(OTHER).canonical;
    // Signed for another version than the chain's...
    expect(await refusal(upload(deploymentId, otherCanonical, { version: OTHER_VERSION }))).to.deep.equal({ status: 409, code: "VERSION_MISMATCH" });
    // ...or the right version signed, and other bytes sent (found by hash, before parsing).
    expect(await refusal(upload(deploymentId, otherCanonical))).to.deep.equal({ status: 409, code: "VERSION_MISMATCH" });
    const unmatched = await deploy();
    expect(await refusal(upload(unmatched.deploymentId, canonical))).to.deep.equal({ status: 409, code: "NOT_A_CHARTER_HOLDER" });
    expect(await refusal(upload(deploymentId, new Uint8Array(5 * 1024 * 1024).fill(32)))).to.deep.equal({ status: 413, code: "TOO_LARGE" });
    expect(await refusal(upload(deploymentId, canonical, { headers: { [MANIFEST_UPLOAD_HEADERS.expiry]: "soon" } }))).to.deep.equal({
      status: 400,
      code: "BAD_REQUEST",
    });
    expect(await refusal(upload(deploymentId, canonical, { encoding: "xml" }))).to.deep.equal({ status: 400, code: "BAD_REQUEST" });
    const broken = await upload(deploymentId, HELLO.replace("cpu: 250m", "cpu: lots"), { encoding: "yaml" });
    expect(broken.status).to.equal(400);
    expect(broken.body.error).to.include({ code: "INVALID_MANIFEST" });
    expect(broken.body.error?.issues?.[0]).to.include({ path: "services.api.resources.cpu" });
    expect((await fetch(`${daemon.apiUrl}/deployments/abc/manifest`, { method: "PUT", body: "x" })).status).to.equal(400);

    expect(charter(orderId).phase).to.equal("waiting");
    expect(daemon.node.store.has(deploymentId, HELLO_VERSION)).to.equal(false);
    expect((await leftovers(key.address)).containers).to.deep.equal([]);
    const tenant = (await hre.ethers.getSigners())[ROLE.tenant];
    await suite.market.connect(tenant).closeCharter(orderId);
    await eventually(() => charter(orderId).phase === "closed", 30_000, "the charter to close");
  });

  it("runs a workload uploaded over HTTP like a pushed one: the SDK falls back to HTTP when p2p is unreachable", async function () {
    const { deploymentId, orderId } = await deploy();
    await win(orderId);
    // The provider's endpoint: a multiaddr nobody listens on (another peer id: libp2p would reuse the tenant node's
    // open connection to the daemon's), then its API.
    const nobody = (await createManifestNode({ privateKey: Wallet.createRandom().privateKey, authorizer: tenantAuthorizer(), listen: [] })).peerId;
    const providerWallet = new Wallet(key.privateKey, hre.ethers.provider);
    const registered = await suite.registry.endpointOf(key.address);
    const attributes = [...(await suite.registry.attributesOf(key.address))];
    await suite.registry.connect(providerWallet).update(`/ip4/127.0.0.1/tcp/1/p2p/${nobody} ${daemon.apiUrl}`, attributes);
    try {
      const tenant = (await hre.ethers.getSigners())[ROLE.tenant];
      const client = new Tom3Client({
        runner: tenant,
        deployment: record,
        delivery: combineDeliveries(new P2pManifestDelivery(tenantNode), new HttpManifestDelivery({ signer: tenant, deployment: record })),
      });
      const { delivered } = await client.deliverWorkload({ deploymentId, manifest: HELLO, charterIds: [orderId], retry: { attempts: 1 } });
      expect(delivered).to.deep.equal([{ charterId: orderId, provider: key.address, endpoint: daemon.apiUrl, attempts: 1 }]);
      await eventually(() => charter(orderId).phase === "running", 60_000, "the uploaded workload to run");
      expect((await suite.market.charter(orderId)).state).to.equal(2n); // Active: acknowledged
      const web = charter(orderId).endpoints!.find((e) => e.service === "web")!;
      expect((await httpGet(web.hostPort)).status).to.equal(200);
      // Uploaded again: already held, still OK (a retried upload is harmless).
      expect(await upload(deploymentId, HELLO_CANONICAL)).to.deep.include({ status: 200 });

      await suite.market.connect(tenant).closeCharter(orderId);
      await eventually(() => charter(orderId).phase === "closed", 30_000, "the charter to close");
    } finally {
      await suite.registry.connect(providerWallet).update(registered, attributes);
    }
  });

  /** Running containers of one charter, by version label. */
  async function versionsOf(charterId: bigint): Promise<string[]> {
    const filters = JSON.stringify({ label: [`${LABEL.provider}=${key.address}`, `${LABEL.charter}=${charterId}`] });
    return [...new Set((await docker.listContainers({ all: true, filters })).map((c) => c.Labels[LABEL.version]))];
  }

  async function running(): Promise<{ deploymentId: bigint; charterId: bigint }> {
    const { deploymentId, orderId } = await deploy();
    await win(orderId);
    expect((await push(deploymentId, HELLO_BYTES)).status).to.equal("OK");
    await eventually(() => charter(orderId).phase === "running", 60_000, "the workload to run");
    return { deploymentId, charterId: orderId };
  }

  it("rolls out a new version on DeploymentUpdated, and closes and tears down on DeploymentClosed", async function () {
    const { deploymentId, charterId } = await running();
    const tenant = (await hre.ethers.getSigners())[ROLE.tenant];
    await suite.market.connect(tenant).updateDeployment(deploymentId, OTHER_VERSION);
    expect((await push(deploymentId, OTHER_BYTES)).status).to.equal("OK");
    await eventually(() => charter(charterId).version === OTHER_VERSION, 60_000, "the rollout");
    expect(await versionsOf(charterId)).to.deep.equal([OTHER_VERSION]);

    await suite.market.connect(tenant).closeDeployment(deploymentId);
    await eventually(() => charter(charterId).phase === "closed", 30_000, "the close");
    expect(charter(charterId).code).to.equal("DEPLOYMENT_CLOSED");
    expect((await suite.market.charter(charterId)).state).to.equal(3n); // the provider closed it (lazy on chain)
    expect(await versionsOf(charterId)).to.deep.equal([]);
  });

  it("after a restart: removes what closed while it was down, runs again what is Active without containers", async function () {
    const closedWhileDown = await running();
    const lostContainers = await running();
    await daemon.stop();

    const tenant = (await hre.ethers.getSigners())[ROLE.tenant];
    await suite.market.connect(tenant).closeCharter(closedWhileDown.charterId);
    const filters = JSON.stringify({ label: [`${LABEL.provider}=${key.address}`, `${LABEL.charter}=${lostContainers.charterId}`] });
    for (const c of await docker.listContainers({ all: true, filters })) await docker.getContainer(c.Id).remove({ force: true });

    daemon = await startDaemon();
    expect(await versionsOf(closedWhileDown.charterId)).to.deep.equal([]);
    expect(charter(closedWhileDown.charterId).phase).to.equal("closed");
    expect(await versionsOf(lostContainers.charterId)).to.deep.equal([HELLO_VERSION]);
    const web = charter(lostContainers.charterId).endpoints!.find((e) => e.service === "web")!;
    expect((await httpGet(web.hostPort)).status).to.equal(200);
    // The registry follows the restarted node's new address.
    expect(await suite.registry.endpointOf(key.address)).to.equal([...daemon.node.multiaddrs, daemon.apiUrl].join(" "));

    await suite.market.connect(tenant).closeCharter(lostContainers.charterId);
    await eventually(() => charter(lostContainers.charterId).phase === "closed", 30_000, "the close");
    expect(await leftovers(key.address)).to.deep.equal({ containers: [], networks: [] });
  });

  it("after a crash between steps: takes up a won charter that has no record, and finishes a rollout cut short", async function () {
    const unrecorded = await running();
    const rolling = await running();
    const tenant = (await hre.ethers.getSigners())[ROLE.tenant];
    const idsOf = async (charterId: bigint) => {
      const filters = JSON.stringify({ label: [`${LABEL.provider}=${key.address}`, `${LABEL.charter}=${charterId}`] });
      return (await docker.listContainers({ all: true, filters })).map((c) => c.Id).sort();
    };
    const containersBefore = await idsOf(unrecorded.charterId);

    // The update is seen (the cursor moves past it) but its workload has not arrived when the process dies.
    await suite.market.connect(tenant).updateDeployment(rolling.deploymentId, OTHER_VERSION);
    const seen = await hre.ethers.provider.getBlockNumber();
    await eventually(() => (daemon.watcher.status.cursor?.block ?? 0) >= seen, 20_000, "the update to be seen");
    await daemon.stop();
    // While down: the workload reaches the store (as a push would have), and the record of the other charter is
    // lost, as if the process died between the bid engine's win and the charter manager's first write.
    new ManifestStore(join(dataDir, "manifests")).put({
      deploymentId: rolling.deploymentId,
      version: OTHER_VERSION,
      bytes: OTHER_BYTES,
      manifest: parseManifest(OTHER),
      from: "",
      storedAt: Date.now(),
    });
    const state = new StateStore(join(dataDir, "state"));
    state.put("charters", String(unrecorded.charterId), undefined);
    state.close();

    daemon = await startDaemon();
    expect(charter(unrecorded.charterId)).to.include({ phase: "running", version: HELLO_VERSION });
    expect(await idsOf(unrecorded.charterId)).to.deep.equal(containersBefore); // adopted, not recreated
    expect(daemon.inventory.get(unrecorded.charterId)?.state).to.equal("committed");
    expect(charter(rolling.charterId)).to.include({ phase: "running", version: OTHER_VERSION });
    expect(await versionsOf(rolling.charterId)).to.deep.equal([OTHER_VERSION]);

    for (const { charterId } of [unrecorded, rolling]) await suite.market.connect(tenant).closeCharter(charterId);
    await eventually(() => charter(unrecorded.charterId).phase === "closed" && charter(rolling.charterId).phase === "closed", 30_000, "the closes");
    expect(await leftovers(key.address)).to.deep.equal({ containers: [], networks: [] });
  });

  it("a charter that reaches its end: containers and networks removed, reservation released, closed on chain and in the API", async function () {
    const { charterId } = await running();
    expect(daemon.inventory.get(charterId)?.state).to.equal("committed");
    const { endsAt } = await suite.market.charter(charterId);
    await time.increaseTo(endsAt);
    await eventually(() => charter(charterId).phase === "closed", 30_000, "the end");
    expect(charter(charterId)).to.include({ code: "ENDED", reason: "the charter reached its end" });
    expect(await leftovers(key.address)).to.deep.equal({ containers: [], networks: [] });
    expect(daemon.inventory.get(charterId)).to.equal(undefined);
    const onChain = await suite.market.charter(charterId);
    expect(onChain.state).to.equal(3n); // the provider closed it once its time was over
    const detail = await api(`/charters/${charterId}`);
    expect(detail.body).to.include({ phase: "closed", code: "ENDED" });
    expect(detail.body.endpoints).to.deep.equal([]);
    // What /status reports reserved is what the inventory still holds (open bids of earlier tests), this charter not among it.
    const held = daemon.inventory.list();
    expect(held.map((r) => r.orderId)).not.to.include(String(charterId));
    const sum = (k: "cpuMillis" | "memoryMiB") => held.reduce((n, r) => n + r.resources[k], 0);
    expect((await api("/status")).body.reserved).to.deep.include({ cpuMillis: sum("cpuMillis"), memoryMiB: sum("memoryMiB") });
  });

  it("a provider the tenant did not reach fetches the workload from the deployment's other provider", async function () {
    this.timeout(240_000);
    // Two groups, one per region: each provider wins one charter of the same deployment.
    const twoRegions = HELLO.replace(/placement:[\s\S]*?(?=duration:)/, `placement:
  eu:
    attributes: { region: eu-west }
    maxPricePerSecond: 120
    minReputation: 0
    services: [web]
  us:
    attributes: { region: us-east }
    maxPricePerSecond: 120
    minReputation: 0
    services: [api]
`).replace("to: [web]         # only web may connect", "to: [global]");
    const parsed = parseManifest(twoRegions);
    const specs = requirementSpecs(parsed);
    expect(specs.map((s) => s.group)).to.deep.equal(["eu", "us"]);

    const keyB = Wallet.createRandom();
    const [deployer, tenant] = await hre.ethers.getSigners();
    await deployer.sendTransaction({ to: keyB.address, value: 10n * ONE });
    let daemonB: ProviderDaemon | undefined;
    try {
      daemonB = await startDaemon({ key: keyB, dataDir: tempDir(), region: "us-east" });
      await suite.market.connect(tenant).createDeployment(parsed.version);
      const deploymentId = await suite.market.deploymentCount();
      const orderIds: bigint[] = [];
      for (const { spec } of specs) {
        await suite.market.connect(tenant).createOrder(deploymentId, spec);
        orderIds.push(await suite.market.orderCount());
      }
      const [eu, us] = orderIds;
      expect((await daemon.engine.waitForDecision(eu)).kind).to.equal("bid");
      expect((await daemonB.engine.waitForDecision(us)).kind).to.equal("bid");
      for (const id of orderIds) await suite.market.connect(tenant).matchOrder(id);
      await eventually(() => daemon.charters.charter(eu) !== undefined && daemonB!.charters.charter(us) !== undefined, 20_000, "both wins");
      expect(daemonB.charters.charter(us)!.phase).to.equal("waiting");

      // The tenant reaches only provider A.
      expect((await push(deploymentId, new TextEncoder().encode(twoRegions))).status).to.equal("OK");
      await eventually(() => charter(eu).phase === "running", 60_000, "A to run its group");
      await eventually(() => daemonB!.charters.charter(us)!.phase === "running", 60_000, "B to fetch from A and run its group");
      const b = daemonB.charters.charter(us)!;
      expect(b).to.include({ version: parsed.version, deliveredBy: key.address, acknowledged: true });
      expect(charter(eu).deliveredBy).to.equal(tenantAddress);
      expect((await suite.market.charter(us)).state).to.equal(2n); // Active
      expect(b.services).to.deep.equal(["api"]);

      await suite.market.connect(tenant).closeDeployment(deploymentId);
      await eventually(() => charter(eu).phase === "closed" && daemonB!.charters.charter(us)!.phase === "closed", 30_000, "both closes");
      expect(await leftovers(keyB.address)).to.deep.equal({ containers: [], networks: [] });
      expect(await leftovers(key.address)).to.deep.equal({ containers: [], networks: [] });
    } finally {
      await daemonB?.stop();
      await cleanUp(keyB.address);
    }
  });

  it("lists charters and decisions in pages: sorted by id, a cursor, and a clear 400 for a bad limit or cursor", async function () {
    for (const [path, key, ids] of [
      ["/charters", "charters", daemon.charters.charters().map((c) => c.charterId)],
      ["/decisions", "decisions", daemon.engine.decisions().map((d) => d.orderId)],
    ] as const) {
      const all = [...ids].sort((a, b) => Number(BigInt(a) - BigInt(b)));
      expect(all.length, `${path}: earlier tests leave several`).to.be.greaterThan(2);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${cursor}`;
        const got = await api(`${path}${query}`);
        expect(got.status).to.equal(200);
        const items = got.body[key] as { charterId?: string; orderId?: string }[];
        expect(items.length).to.be.at.most(2);
        seen.push(...items.map((i) => String(i.charterId ?? i.orderId)));
        cursor = got.body.nextCursor as string | null;
      } while (cursor !== null);
      expect(seen, path).to.deep.equal(all);
      expect(((await api(path)).body[key] as unknown[]).length).to.equal(all.length); // default limit 50
    }
    const badLimit = await api("/charters?limit=0");
    expect(badLimit).to.deep.equal({ status: 400, body: { error: { code: "BAD_REQUEST", message: 'limit must be an integer from 1 to 500 (got "0")' } } });
    expect((await api("/decisions?limit=abc")).status).to.equal(400);
    const badCursor = await api("/decisions?cursor=-1");
    expect(badCursor.status).to.equal(400);
    expect((badCursor.body.error as { message: string }).message).to.equal('cursor must be the nextCursor of the previous page (got "-1")');
  });
});
