/**
 * SIGKILL mid-charter, with everything real and apart: a `hardhat node` child process (test/harness/local-chain.ts),
 * the provider daemon as its own process (`tom3 provider start --config`, as an operator runs it), the local Docker
 * engine, and a tenant using the SDK over libp2p. The daemon bids, wins, receives the workload, runs it and
 * acknowledges; then it is killed with SIGKILL and started again on the same data directory. Afterwards: no second
 * bid and no new decision, the same containers (same ids, never restarted) adopted and running, and payment claimed
 * again. Containers, networks, processes and directories are removed at the end, even on failure.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Contract, NonceManager, Wallet, parseUnits, toBeHex, zeroPadValue } from "ethers";
import type { JsonRpcProvider } from "ethers";
import { marketAbi, tom3TokenAbi } from "../../../offchain/chain/abis";
import { ChainAuthorizer, createManifestNode, type ManifestNode } from "../../../offchain/p2p";
import { topicOf, type BidDecision, type CharterRecord } from "../../../offchain/provider";
import { buildSampleImages, LABEL } from "../../../offchain/provider/executor";
import {
  P2pManifestDelivery,
  Tom3Client,
  deliverWorkload,
  deployManifest,
  waitForAcknowledgements,
  waitForMatches,
} from "../../../offchain/sdk";
import { REPO_ROOT, freePort, startLocalChain, testProvider, type LocalChain } from "../../harness/local-chain";
import { cleanUp, docker, httpGet } from "./executor/helpers";
import { eventually } from "./helpers";

const HELLO = readFileSync(join(REPO_ROOT, "examples", "hello.yaml"), "utf8");

interface DaemonProcess {
  child: ChildProcess;
  log: string[];
}

describe("provider daemon process killed mid-charter (SIGKILL) and restarted", function () {
  this.timeout(600_000);

  let chain: LocalChain | undefined;
  let rpc: JsonRpcProvider | undefined;
  let tenantNode: ManifestNode | undefined;
  let daemon: DaemonProcess | undefined;
  // A key of its own: the executor's labels carry it, so nothing another test run owns is ever touched.
  const key = Wallet.createRandom();
  const dir = mkdtempSync(join(tmpdir(), "tom3-crash-"));
  const configFile = join(dir, "provider.yaml");
  let apiUrl = "";

  /** `tom3 provider start --config`, resolved once its API answers. */
  async function startDaemon(): Promise<DaemonProcess> {
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "tom3.js"), "provider", "start", "--config", configFile], {
      cwd: REPO_ROOT,
      env: { ...process.env, TOM3_PROVIDER_KEY: key.privateKey },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const started: DaemonProcess = { child, log: [] };
    child.stderr?.on("data", (chunk: Buffer) => started.log.push(chunk.toString()));
    daemon = started;
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`the daemon exited with code ${child.exitCode}:\n${tail(started)}`);
        return (await fetch(`${apiUrl}/status`, { signal: AbortSignal.timeout(1000) }).catch(() => undefined))?.ok === true;
      },
      120_000,
      "the daemon's API",
    );
    return started;
  }

  const tail = (d: DaemonProcess | undefined) => (d ? d.log.join("").slice(-4000) : "");

  async function stopChild(d: DaemonProcess | undefined, signal: NodeJS.Signals): Promise<void> {
    if (!d || d.child.exitCode !== null || d.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => d.child.once("exit", () => resolve()));
    d.child.kill(signal);
    const timer = setTimeout(() => d.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async function get<T>(path: string): Promise<T> {
    const response = await fetch(`${apiUrl}${path}`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** The charter's containers: id, state and when the engine last started each. */
  async function containersOf(charterId: bigint): Promise<{ id: string; state: string; startedAt: string }[]> {
    const filters = JSON.stringify({ label: [`${LABEL.provider}=${key.address}`, `${LABEL.charter}=${charterId}`] });
    const listed = await docker.listContainers({ all: true, filters });
    const out = await Promise.all(
      listed.map(async (c) => {
        const info = await docker.getContainer(c.Id).inspect();
        return { id: c.Id, state: info.State.Status, startedAt: info.State.StartedAt };
      }),
    );
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async function advance(seconds: number): Promise<void> {
    await rpc!.send("evm_increaseTime", [seconds]);
    await rpc!.send("evm_mine", []);
  }

  before(async function () {
    await buildSampleImages();
    chain = await startLocalChain({ timeoutMs: 180_000 });
    rpc = testProvider(chain.rpcUrl);
    const deployer = new NonceManager(new Wallet(chain.accounts[0].privateKey, rpc));
    const token = new Contract(chain.deployment.contracts.token, tom3TokenAbi, deployer);
    await (await token.transfer(chain.accounts[1].address, parseUnits("1000", 18))).wait();
    await (await deployer.sendTransaction({ to: key.address, value: parseUnits("10", 18) })).wait();

    const [p2pPort, apiPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    writeFileSync(
      configFile,
      `chain:
  rpcUrl: ${chain.rpcUrl}
  deployments: ${chain.deploymentsDir}
  confirmations: 0
  pollInterval: 200ms
key: { keyEnv: TOM3_PROVIDER_KEY }
endpoints: { listen: [/ip4/127.0.0.1/tcp/${p2pPort}], api: "127.0.0.1:${apiPort}" }
attributes: { region: eu-west }
capacity: { cpu: 2, memory: 2Gi, storage: 10Gi, bandwidth: 1Gbps }
pricing: { strategy: linear, cpu: 0, memory: 0, storage: 0, bandwidth: 0, marginBps: 0, floor: 100 }
executor: { publishAddress: 127.0.0.1, pullPolicy: never }
charters: { claimInterval: 1s }
register: { enabled: true, stake: "0" }
dataDir: ${join(dir, "data")}
`,
    );
  });

  after(async function () {
    await tenantNode?.stop().catch(() => undefined);
    await stopChild(daemon, "SIGTERM");
    await cleanUp(key.address);
    rpc?.destroy();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("no duplicate bid, the same containers re-adopted, payment continues, the charter stays Active", async function () {
    if (!chain || !rpc) throw new Error("no chain");
    const market = new Contract(chain.deployment.contracts.market, marketAbi, rpc);
    await startDaemon();

    // The tenant deploys with the SDK; the daemon bids, wins, gets the workload over p2p, runs and acknowledges.
    const tenant = new Wallet(chain.accounts[1].privateKey, rpc);
    tenantNode = await createManifestNode({
      privateKey: tenant.privateKey,
      authorizer: new ChainAuthorizer({ provider: rpc, deployment: chain.deployment, cacheTtlMs: 0 }),
      listen: [],
    });
    await tenantNode.start();
    const client = new Tom3Client({ runner: tenant, deployment: chain.deployment, delivery: new P2pManifestDelivery(tenantNode), pollIntervalMs: 200 });
    const deployed = await deployManifest(client, { manifest: HELLO, source: "examples/hello.yaml", permit: true });
    const orderId = deployed.orders[0].orderId;
    let bid: BidDecision | undefined;
    await eventually(
      async () => {
        const d = await get<BidDecision>(`/orders/${orderId}/decision`).catch(() => undefined);
        bid = d?.bidId !== undefined ? d : undefined;
        return bid !== undefined;
      },
      60_000,
      "the bid",
    );
    expect(bid!.kind).to.equal("bid");
    await advance(Number(deployed.orders[0].closesAt - (await client.now())) + 1);
    const matches = await waitForMatches(client, { orderIds: [orderId], timeoutMs: 60_000 });
    expect(matches.matched.map((m) => m.provider)).to.deep.equal([key.address]);
    const charterId = matches.matched[0].charterId;
    const delivery = await deliverWorkload(client, { deploymentId: deployed.deploymentId, manifest: HELLO, charterIds: [charterId] });
    expect(delivery.delivered.length, JSON.stringify(delivery.failed)).to.equal(1);
    const acks = await waitForAcknowledgements(client, { charterIds: [charterId], timeoutMs: 120_000 });
    expect(acks.acknowledged.length).to.equal(1);
    await eventually(async () => (await get<CharterRecord>(`/charters/${charterId}`)).acknowledged === true, 30_000, "the charter record");
    const before = await containersOf(charterId);
    expect(before.map((c) => c.state)).to.deep.equal(["running", "running"]);
    const decisionBefore = await get<BidDecision>(`/orders/${orderId}/decision`);
    expect(decisionBefore.outcome).to.equal("won");

    // SIGKILL: no shutdown code runs. Chain time passes while the daemon is down.
    const killed = daemon!;
    await stopChild(killed, "SIGKILL");
    expect(killed.child.signalCode).to.equal("SIGKILL");
    await advance(120);

    const restartBlock = await rpc.getBlockNumber();
    await startDaemon();

    // No second bid, no new decision.
    const bids = await rpc.getLogs({
      address: chain.deployment.contracts.market,
      fromBlock: 0,
      toBlock: "latest",
      topics: [topicOf("BidPlaced"), toBeHex(orderId, 32), null, zeroPadValue(key.address, 32)],
    });
    expect(bids.length).to.equal(1);
    expect(await get<BidDecision>(`/orders/${orderId}/decision`)).to.deep.equal(decisionBefore);

    // The same containers, adopted as they are: same ids, still running, never restarted.
    const adopted = await containersOf(charterId);
    expect(adopted).to.deep.equal(before);
    const record = await get<CharterRecord>(`/charters/${charterId}`);
    expect(record).to.include({ phase: "running", version: deployed.version, acknowledged: true });
    const web = record.endpoints!.find((e) => e.service === "web")!;
    expect((await httpGet(web.hostPort)).status).to.equal(200);

    // Payment continues: a claim mined after the restart, for a positive amount.
    await advance(60);
    const claimFilter = { address: chain.deployment.contracts.market, topics: [topicOf("PaymentClaimed"), toBeHex(charterId, 32), zeroPadValue(key.address, 32)] };
    let claimedAfter = 0n;
    await eventually(
      async () => {
        const logs = await rpc!.getLogs({ ...claimFilter, fromBlock: restartBlock + 1, toBlock: "latest" });
        claimedAfter = logs.reduce((sum, l) => sum + BigInt(market.interface.parseLog(l)!.args.amount as bigint), 0n);
        return claimedAfter > 0n;
      },
      60_000,
      `a claim after the restart\n${tail(daemon)}`,
    );
    expect(claimedAfter > 0n).to.equal(true);
    expect((await market.charter(charterId)).state).to.equal(2n); // Active
    expect(await containersOf(charterId)).to.deep.equal(before);
    expect(daemon!.child.exitCode).to.equal(null);
  });
});
