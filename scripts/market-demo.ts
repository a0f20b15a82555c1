/**
 * `npm run demo`: the whole TOM3 market end to end, as a user sees it.
 *
 * An embedded local chain (a `hardhat node` on a free port, the suite deployed by the deployment module), three
 * provider daemons as separate processes (`tom3 provider start`: two in eu-west, one in us-east, different prices),
 * the local Docker engine running the workloads, and a tenant using the SDK: it deploys examples/hello.yaml, the
 * providers decide, the lowest bid wins, the workload goes peer to peer to the winner, which runs and acknowledges
 * it; the web service answers on its published port while the internal api refuses outsiders; payment accrues and
 * is claimed; a new version rolls out; the charter closes; the balances add up.
 *
 * Everything started here is removed in `finally`, on SIGINT / SIGTERM and on failure: containers and networks
 * (by the executor's labels), the daemons, the chain. `runMarketDemo` is the scenario (test/e2e runs it too).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { Contract, JsonRpcProvider, NonceManager, Wallet, formatUnits, parseUnits } from "ethers";
import { freePort, startLocalChain, type LocalChain, REPO_ROOT } from "../test/harness/local-chain";
import { ChainAuthorizer, createManifestNode, type ManifestNode } from "../offchain/p2p";
import {
  P2pManifestDelivery,
  Tom3Client,
  closeDeployment,
  deliverWorkload,
  deployManifest,
  updateDeployment,
  waitForAcknowledgements,
  waitForMatches,
} from "../offchain/sdk";
import { buildSampleImages } from "../offchain/provider/executor/images";
import { LABEL } from "../offchain/provider/executor/plan";
import { marketAbi, tom3TokenAbi } from "../offchain/chain/abis";

export interface ProviderSpec {
  name: string;
  region: string;
  /** Bid price in TOM3 wei per second (the pricing floor; unit prices are 0). */
  price: bigint;
}

export const PROVIDERS: ProviderSpec[] = [
  { name: "alpha", region: "eu-west", price: 100n },
  { name: "bravo", region: "eu-west", price: 80n },
  { name: "charlie", region: "us-east", price: 60n },
];

export interface MarketDemoOptions {
  /** Where step lines go (default console.log). */
  log?: (line: string) => void;
  /** Aborts the scenario (cleanup still runs). */
  signal?: AbortSignal;
}

export interface MarketDemoResult {
  orderId: bigint;
  decisions: { provider: string; kind: string; price?: string; code?: string; reason?: string }[];
  winner: string;
  winningPrice: bigint;
  delivered: boolean;
  acknowledged: boolean;
  webStatus: number;
  webBody: string;
  viaWebToApi: string;
  apiPublishedPorts: number;
  outsiderRefused: boolean;
  claimed: bigint;
  updatedVersion: string;
  runningVersion: string;
  closed: boolean;
  leftoverContainers: number;
  marketHeld: bigint;
  sumOfAccounts: bigint;
  /** The providers' accounts (what the executor's labels name). */
  providerAddresses: string[];
  timings: Record<string, number>;
}

const fmt = (wei: bigint): string => (wei < 10n ** 12n ? `${wei} wei` : `${formatUnits(wei, 18)} TOM3`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof DaemonExited) throw error;
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

/** Fails with how to start one when the Docker engine cannot be reached. */
export async function checkDocker(docker: Docker): Promise<string> {
  try {
    const version = (await docker.version()) as { Version: string };
    return version.Version;
  } catch (error) {
    throw new Error(
      `the Docker engine is not reachable (${(error as Error).message}).\n` +
        "Start one first, e.g. `sudo systemctl start docker` or `sudo dockerd &`, and check `docker info` works " +
        "(set DOCKER_HOST for a non-default socket).",
    );
  }
}

interface Daemon {
  spec: ProviderSpec;
  key: Wallet;
  apiUrl: string;
  child: ChildProcess;
  log: string[];
}

/** The scenario. Resolves with what each step saw; throws on the first step that fails. Cleans up either way. */
export async function runMarketDemo(options: MarketDemoOptions = {}): Promise<MarketDemoResult> {
  const out = options.log ?? ((line: string) => console.log(line));
  const signal = options.signal;
  let step = 0;
  const say = (text: string) => out(`\n[${++step}] ${text}`);
  const detail = (text: string) => out(`    ${text}`);
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  const mark = (name: string) => (timings[name] = Date.now() - t0);

  const docker = new Docker();
  const dir = mkdtempSync(join(tmpdir(), "tom3-market-demo-"));
  const daemons: Daemon[] = [];
  const probes: string[] = [];
  let chain: LocalChain | undefined;
  let tenantNode: ManifestNode | undefined;
  let rpc: JsonRpcProvider | undefined;

  const cleanup = async (): Promise<void> => {
    await tenantNode?.stop().catch(() => undefined);
    tenantNode = undefined;
    await Promise.all(daemons.map((d) => stopChild(d.child)));
    for (const d of daemons) await removeLabelled(docker, d.key.address);
    for (const id of probes) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    rpc?.destroy();
    rpc = undefined;
    await chain?.stop().catch(() => undefined);
    chain = undefined;
    rmSync(dir, { recursive: true, force: true });
  };

  const aborted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(signal.reason as Error);
    signal?.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([scenario(), aborted]);
  } finally {
    await cleanup();
  }

  async function scenario(): Promise<MarketDemoResult> {
    say("Checking the Docker engine and building the sample images locally (no registry)");
    detail(`Docker engine ${await checkDocker(docker)}`);
    const built = await buildSampleImages();
    detail(built.length === 0 ? "tom3/hello:local and tom3/api:local already present" : `built ${built.join(", ")}`);
    mark("images");

    say("Starting an embedded local chain and deploying the TOM3 suite with the deployment module");
    chain = await startLocalChain({ timeoutMs: 120_000 });
    detail(`chain ${chain.chainId} at ${chain.rpcUrl}`);
    detail(`market ${chain.deployment.contracts.market}, token ${chain.deployment.contracts.token}`);
    mark("chain");
    rpc = new JsonRpcProvider(chain.rpcUrl, chain.chainId, { staticNetwork: true, cacheTimeout: -1 });
    rpc.pollingInterval = 200;
    const deployer = new NonceManager(new Wallet(chain.accounts[0].privateKey, rpc));
    const tenant = new Wallet(chain.accounts[1].privateKey, rpc);
    const token = new Contract(chain.deployment.contracts.token, tom3TokenAbi, deployer);
    const market = new Contract(chain.deployment.contracts.market, marketAbi, rpc);

    say("Funding the tenant and three providers (Hardhat's test keys; TOM3 from the deployer)");
    await (await token.transfer(tenant.address, parseUnits("1000", 18))).wait();
    detail(`tenant ${tenant.address}: 1000 TOM3`);
    const keys = PROVIDERS.map((_, i) => new Wallet(chain!.accounts[2 + i].privateKey, rpc));
    for (const [i, key] of keys.entries()) {
      await (await token.transfer(key.address, parseUnits("100", 18))).wait();
      detail(`${PROVIDERS[i].name} ${key.address}: 100 TOM3`);
    }

    say("Starting three provider daemons as separate processes (`tom3 provider start --config`)");
    for (const [i, spec] of PROVIDERS.entries()) {
      const p2pPort = await freePort();
      const apiPort = await freePort();
      const config = join(dir, `p${i + 1}.yaml`);
      writeFileSync(
        config,
        `chain:
  rpcUrl: ${chain.rpcUrl}
  deployments: ${chain.deploymentsDir}
  confirmations: 0
  pollInterval: 200ms
key: { keyEnv: TOM3_PROVIDER_KEY }
endpoints: { listen: [/ip4/127.0.0.1/tcp/${p2pPort}], api: "127.0.0.1:${apiPort}" }
attributes: { region: ${spec.region} }
capacity: { cpu: 2, memory: 2Gi, storage: 10Gi, bandwidth: 1Gbps }
pricing: { strategy: linear, cpu: 0, memory: 0, storage: 0, bandwidth: 0, marginBps: 0, floor: ${spec.price} }
executor: { publishAddress: 127.0.0.1, pullPolicy: never }
charters: { claimInterval: 2s }
register: { enabled: true, stake: "10" }
dataDir: ${join(dir, `p${i + 1}-data`)}
`,
      );
      const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "tom3.js"), "provider", "start", "--config", config], {
        cwd: REPO_ROOT,
        env: { ...process.env, TOM3_PROVIDER_KEY: keys[i].privateKey },
        stdio: ["ignore", "ignore", "pipe"],
      });
      const log: string[] = [];
      child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
      daemons.push({ spec, key: keys[i], apiUrl: `http://127.0.0.1:${apiPort}`, child, log });
    }
    for (const d of daemons) {
      await until(
        `${d.spec.name}'s API`,
        async () => {
          if (d.child.exitCode !== null) throw new DaemonExited(d);
          const r = await fetch(`${d.apiUrl}/status`, { signal: AbortSignal.timeout(1000) });
          return r.ok;
        },
        90_000,
        signal,
      ).catch((error: unknown) => {
        if (error instanceof DaemonExited) throw error;
        throw new Error(`${(error as Error).message}\n${d.log.join("").slice(-3000)}`);
      });
      detail(`${d.spec.name} (${d.spec.region}, floor ${d.spec.price} wei/s): pid ${d.child.pid}, API ${d.apiUrl}`);
    }
    mark("daemons");

    say("The tenant deploys examples/hello.yaml with the SDK (escrow by permit, deployment, order)");
    tenantNode = await createManifestNode({
      privateKey: tenant.privateKey,
      authorizer: new ChainAuthorizer({ provider: rpc, deployment: chain.deployment, cacheTtlMs: 0 }),
      listen: [],
    });
    await tenantNode.start();
    const client = new Tom3Client({
      runner: tenant,
      deployment: chain.deployment,
      delivery: new P2pManifestDelivery(tenantNode),
      pollIntervalMs: 200,
    });
    const hello = readFileSync(join(REPO_ROOT, "examples", "hello.yaml"), "utf8");
    const deployed = await deployManifest(client, { manifest: hello, source: "examples/hello.yaml", permit: true });
    const order = deployed.orders[0];
    detail(`escrow: deposited ${fmt(deployed.deposited)} with a permit; locked ${fmt(deployed.locked)}`);
    detail(`deployment ${deployed.deploymentId}, version ${deployed.version}`);
    detail(
      `order ${order.orderId}: group ${order.group} (${order.services.join(", ")}), max ${order.spec.maxPricePerSecond} wei/s, ` +
        `${order.spec.duration} s, cpu ${order.spec.resources.cpuMillis}m, memory ${order.spec.resources.memoryMiB} MiB, region eu-west`,
    );
    mark("order");

    say("Each provider decides (GET /orders/:id/decision on each daemon's API)");
    const decisions: MarketDemoResult["decisions"] = [];
    for (const d of daemons) {
      const decision = await until(
        `${d.spec.name}'s decision`,
        async () => {
          const r = await fetch(`${d.apiUrl}/orders/${order.orderId}/decision`);
          if (!r.ok) return undefined;
          const body = (await r.json()) as { kind: string; price?: string; code?: string; reason?: string; bidId?: string };
          return body.kind === "decline" || body.bidId !== undefined ? body : undefined;
        },
        60_000,
        signal,
      );
      decisions.push({ provider: d.spec.name, kind: decision.kind, price: decision.price, code: decision.code, reason: decision.reason });
      if (decision.kind === "bid") detail(`${d.spec.name}: bids ${decision.price} wei/s (bid ${decision.bidId})`);
      else detail(`${d.spec.name}: declines (${decision.code}): ${decision.reason}`);
    }
    mark("decisions");

    say("The bidding window closes (chain time advanced 30 s); the tenant matches: the lowest bid wins");
    await rpc.send("evm_increaseTime", [Number(order.closesAt - (await client.now())) + 1]);
    await rpc.send("evm_mine", []);
    const matches = await waitForMatches(client, { orderIds: [order.orderId], timeoutMs: 60_000 });
    if (matches.matched.length !== 1) throw new Error(`order not matched: ${JSON.stringify(matches.unmatched)}`);
    const match = matches.matched[0];
    const winner = daemons.find((d) => d.key.address === match.provider)!;
    detail(`charter ${match.charterId}: ${winner.spec.name} at ${match.pricePerSecond} wei/s (matched by the tenant)`);
    mark("matched");

    say("The workload goes peer to peer to the winner, which checks it against the on-chain version");
    const delivery = await deliverWorkload(client, { deploymentId: deployed.deploymentId, manifest: hello, charterIds: [match.charterId] });
    for (const x of delivery.delivered) detail(`delivered to ${winner.spec.name} via ${x.endpoint}`);
    for (const f of delivery.failed) detail(`delivery failed: ${f.errors.join("; ")}`);
    if (delivery.delivered.length !== 1) throw new Error("the workload was not delivered");
    mark("delivered");

    say("Containers start; the provider acknowledges the charter on chain");
    const acks = await waitForAcknowledgements(client, { charterIds: [match.charterId], timeoutMs: 120_000 });
    if (acks.acknowledged.length !== 1) throw new Error(`not acknowledged: ${JSON.stringify(acks.unacknowledged)}`);
    const containers = await labelled(docker, winner.key.address, match.charterId);
    for (const c of containers) detail(`container ${c.Names[0].slice(1)} (${c.Labels[LABEL.service]}): ${c.State}, ${c.Status}`);
    detail(`acknowledged; runs until ${new Date(Number(acks.acknowledged[0].endsAt) * 1000).toISOString()}`);
    mark("acknowledged");

    say("The web service answers on its published endpoint");
    const charterInfo = await charterDetail(winner, match.charterId);
    const web = charterInfo.endpoints?.find((e) => e.service === "web");
    if (!web) throw new Error(`no web endpoint in ${JSON.stringify(charterInfo)}`);
    const url = `http://${web.host}:${web.hostPort}/`;
    const page = await until("the web page", async () => {
      const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
      return { status: r.status, body: await r.text() };
    }, 30_000, signal);
    detail(`GET ${url} -> ${page.status}`);
    for (const line of page.body.trim().split("\n")) detail(`  | ${line}`);
    const viaWeb = await until("web -> api", async () => {
      const r = await fetch(`${url}cgi-bin/api`, { signal: AbortSignal.timeout(5000) });
      return r.ok ? (await r.text()).trim() : undefined;
    }, 30_000, signal);
    detail(`GET ${url}cgi-bin/api (web calls api, as its rule allows) -> ${viaWeb}`);
    mark("web");

    say("The internal api refuses connections from outside its rule");
    const api = containers.find((c) => c.Labels[LABEL.service] === "api")!;
    const apiPublished = api.Ports.filter((p) => p.PublicPort !== undefined).length;
    detail(`api container publishes ${apiPublished} port(s) on the host: nothing to connect to from outside`);
    const apiIps = Object.values((await docker.getContainer(api.Id).inspect()).NetworkSettings.Networks).map((n) => n.IPAddress).filter(Boolean);
    // A container of another deployment (no tom3 network) tries the api by name and by address.
    const probe = await docker.createContainer({
      Image: "tom3/hello:local",
      Entrypoint: ["/bin/sh", "-c"],
      Cmd: [
        `for t in api ${apiIps.join(" ")}; do if wget -q -T 3 -O - http://$t:9000/ >/dev/null 2>&1; then echo "$t:9000 reached"; else echo "$t:9000 refused"; fi; done`,
      ],
      Labels: { "tom3.demo": "market-demo" },
    });
    probes.push(probe.id);
    await probe.start();
    await probe.wait();
    const probeLog = (await probe.logs({ stdout: true, stderr: true })).toString("utf8").replace(/[\x00-\x08]/g, "").trim();
    for (const line of probeLog.split("\n")) detail(`from a container of another deployment: ${line.replace(/^[^\w.]+/, "")}`);
    const outsiderRefused = !/reached/.test(probeLog);
    if (!outsiderRefused) throw new Error(`an outsider reached the internal api: ${probeLog}`);
    mark("isolation");

    say("Payment accrues per second and the provider claims it (chain time advanced 60 s)");
    await rpc.send("evm_increaseTime", [60]);
    await rpc.send("evm_mine", []);
    detail(`accrued: ${await market.accrued(match.charterId)} wei`);
    const claimed = await until("a claim", async () => {
      const c = (await market.charter(match.charterId)) as { claimed: bigint };
      return c.claimed > 0n ? c.claimed : undefined;
    }, 30_000, signal);
    detail(`claimed by ${winner.spec.name}: ${claimed} wei; its escrow ${fmt(((await market.balanceOf(winner.key.address)) as bigint[])[0])}`);
    mark("claimed");

    say("The tenant updates the deployment to a new version (GREETING changed), delivered and rolled out");
    const v2 = hello.replace("GREETING: hello", "GREETING: hello-v2");
    const updated = await updateDeployment(client, { deploymentId: deployed.deploymentId, manifest: v2, source: "hello-v2.yaml", deliver: true });
    detail(`version ${updated.previousVersion} -> ${updated.version}`);
    const rolled = await until("the rollout", async () => {
      const c = await charterDetail(winner, match.charterId);
      return c.version === updated.version && c.phase === "running" ? c : undefined;
    }, 120_000, signal);
    const after = await labelled(docker, winner.key.address, match.charterId);
    const webNow = after.find((c) => c.Labels[LABEL.service] === "web");
    const env = webNow ? ((await docker.getContainer(webNow.Id).inspect()).Config.Env ?? []) : [];
    detail(`${winner.spec.name} runs version ${rolled.version}; web's ${env.find((e) => e.startsWith("GREETING=")) ?? "GREETING unset"}`);
    mark("updated");

    say("The tenant closes the deployment: the charter closes and the provider tears the workload down");
    const closed = await closeDeployment(client, { deploymentId: deployed.deploymentId });
    for (const c of closed.charters) detail(`charter ${c.charterId} closed (${c.reason}): paid ${fmt(c.paidToProvider)}, refunded ${fmt(c.refundedToTenant)}`);
    await until("the teardown", async () => (await labelled(docker, winner.key.address, match.charterId)).length === 0, 60_000, signal);
    detail("no containers left for the charter");
    mark("closed");

    say("Final balances add up");
    let sum = 0n;
    for (const [name, address] of [["tenant", tenant.address], ...daemons.map((d) => [d.spec.name, d.key.address])]) {
      const [available, locked] = (await market.balanceOf(address)) as bigint[];
      sum += available + locked;
      detail(`${name}: available ${fmt(available)}, locked ${fmt(locked)}`);
    }
    const held = (await token.balanceOf(chain.deployment.contracts.market)) as bigint;
    detail(`market holds ${fmt(held)} = sum of accounts ${fmt(sum)}: ${held === sum ? "OK" : "MISMATCH"}`);
    if (held !== sum) throw new Error("the market's token balance is not the sum of its accounts");
    mark("total");

    return {
      orderId: order.orderId,
      decisions,
      winner: winner.spec.name,
      winningPrice: match.pricePerSecond,
      delivered: delivery.delivered.length === 1,
      acknowledged: true,
      webStatus: page.status,
      webBody: page.body,
      viaWebToApi: viaWeb,
      apiPublishedPorts: apiPublished,
      outsiderRefused,
      claimed,
      updatedVersion: updated.version,
      runningVersion: rolled.version ?? "",
      closed: closed.charters.length === 1,
      leftoverContainers: 0,
      marketHeld: held,
      sumOfAccounts: sum,
      providerAddresses: daemons.map((d) => d.key.address),
      timings,
    };
  }
}

class DaemonExited extends Error {
  constructor(d: Daemon) {
    super(`provider daemon ${d.spec.name} exited with code ${d.child.exitCode}:\n${d.log.join("").slice(-3000)}`);
  }
}

interface CharterDetail {
  phase?: string;
  version?: string;
  endpoints?: { service: string; host: string; hostPort: number }[];
}

async function charterDetail(d: Daemon, charterId: bigint): Promise<CharterDetail> {
  const r = await fetch(`${d.apiUrl}/charters/${charterId}`);
  if (!r.ok) throw new Error(`GET /charters/${charterId} on ${d.spec.name}: ${r.status}`);
  return (await r.json()) as CharterDetail;
}

function labelled(docker: Docker, provider: string, charterId: bigint): Promise<Docker.ContainerInfo[]> {
  const filters = JSON.stringify({ label: [`${LABEL.provider}=${provider}`, `${LABEL.charter}=${charterId}`] });
  return docker.listContainers({ all: true, filters });
}

/** Every container and network the executor labelled for `provider`. */
async function removeLabelled(docker: Docker, provider: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL.provider}=${provider}`] });
  const containers = await docker.listContainers({ all: true, filters }).catch(() => []);
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const networks = await docker.listNetworks({ filters }).catch(() => []);
  for (const n of networks) await docker.getNetwork(n.Id).remove().catch(() => undefined);
}

/** SIGTERM, then SIGKILL after 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

const controller = new AbortController();

async function main(): Promise<void> {
  const onSignal = (name: string) => {
    console.error(`\n${name}: stopping and cleaning up...`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  const result = await runMarketDemo({ signal: controller.signal });
  console.log(`\nMarket demo finished in ${(result.timings.total / 1000).toFixed(1)} s.`);
  console.log(`timings (ms since start): ${JSON.stringify(result.timings)}`);
}

if (require.main === module) {
  main()
    .then(() => process.exit(0))
    .catch((error: unknown) => {
      // After Ctrl-C, steps in flight fail as their daemons stop; the interruption is the cause worth naming.
      const cause = controller.signal.aborted ? controller.signal.reason : error;
      console.error(`\nmarket demo failed: ${cause instanceof Error ? cause.message : String(cause)}`);
      process.exit(1);
    });
}
