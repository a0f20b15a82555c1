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
 * `--network <name>` uses a configured chain instead (see scripts/market-network.ts): its deployment record, its
 * accounts, and its own clock: the demo waits for the real bidding window and the real accrual, never moves time.
 *
 * Everything started here is removed in `finally`, on SIGINT / SIGTERM and on failure: containers and networks
 * (by the executor's labels), the daemons, the embedded chain; on a configured network a deployment left open by a
 * failure is closed, so its escrow goes back to the tenant. `runMarketDemo` is the scenario (test/e2e runs it too);
 * `DemoMarket` is the market without the scenario (bench/e2e.ts measures with it).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { Contract, JsonRpcProvider, NonceManager, Wallet, formatEther, parseUnits, type EventLog, type Signer } from "ethers";
import { ProcessLog, compileContracts, freePort, startLocalChain, type LocalChain, REPO_ROOT } from "../test/harness/local-chain";
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
  type Tom3ClientOptions,
} from "../offchain/sdk";
import type { Tom3Deployment } from "../offchain/chain/deployment";
import { buildSampleImages } from "../offchain/provider/executor/images";
import { LABEL } from "../offchain/provider/executor/plan";
import { marketAbi, providerRegistryAbi, tom3TokenAbi } from "../offchain/chain/abis";
import { formatTokenAmount } from "../offchain/chain/units";
import { attributeId } from "../offchain/chain/attributes";
import { DEMO_ROLES, connectNetwork, fundDemoAccounts, redact, type DemoNetwork, type NetworkEntry } from "./market-network";

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

/** The update step's new greeting: the page the web service serves prints it. */
export const V2_GREETING = "hello from version 2";

export interface MarketDemoOptions {
  /** Where step lines go (default console.log). */
  log?: (line: string) => void;
  /** Aborts the scenario (cleanup still runs). */
  signal?: AbortSignal;
  /** A configured network (`connectNetwork`) instead of the embedded chain. */
  network?: DemoNetwork;
  /** Where the logs go (kept after the run); default: a new directory under the system's temporary directory. */
  logDir?: string;
}

/** Where every amount of one charter went, from chain reads and events (all in wei). */
export interface Reconciliation {
  /** Price x duration: what the match kept locked for the charter. */
  lockedForCharter: bigint;
  /** Gross payment earned over the charter's life (accrued() after the close). */
  accrued: bigint;
  /** Gross amounts the provider's claims moved while the charter ran, and how many claims. */
  claimedWhileRunning: bigint;
  claims: number;
  /** Gross amount paid by the close itself. */
  paidAtClose: bigint;
  /** Protocol fee taken from those payments (to the treasury). */
  fees: bigint;
  refunded: bigint;
  /** What the tenant's TOM3 (wallet + market escrow) went down by during the demo. */
  tenantSpent: bigint;
  /** What each provider's TOM3 (wallet + market escrow + stake) went up by. */
  providerReceived: Record<string, bigint>;
}

export interface MarketDemoResult {
  /** "embedded" or the configured network's name. */
  network: string;
  /** Time ran by itself (no time travel): the window and the accrual were waited for. */
  realTime: boolean;
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
  /** The web page after the update rolled out (its greeting is V2_GREETING). */
  webBodyAfterUpdate: string;
  closed: boolean;
  leftoverContainers: number;
  /** What the market contract's token balance and the demo accounts' escrow moved by during the demo. */
  marketHeldChange: bigint;
  accountsChange: bigint;
  /** The providers' accounts (what the executor's labels name). */
  providerAddresses: string[];
  reconciliation: Reconciliation;
  /** Where this run's logs are: the directory and each log by name (chain, deploy, alpha, ...). */
  logDir: string;
  logs: Record<string, string>;
  timings: Record<string, number>;
}

/** The demo's unit convention, said once at the start. */
export const UNITS_NOTE = "Amounts are in TOM3 (18 decimals); those below 0.000001 TOM3 are also given in wei (1 TOM3 = 10^18 wei).";

/** An amount in TOM3, with its wei when it is small: "0.00000000000000496 TOM3 (4,960 wei)". */
export function tom3(wei: bigint): string {
  const abs = wei < 0n ? -wei : wei;
  return abs !== 0n && abs < 10n ** 12n ? `${formatTokenAmount(wei)} (${grouped(wei)} wei)` : formatTokenAmount(wei);
}

/** A price per second in TOM3, with its wei: "0.00000000000000008 TOM3/s (80 wei/s)". */
export function tom3PerSecond(wei: bigint): string {
  return `${formatTokenAmount(wei)}/s (${grouped(wei)} wei/s)`;
}

const claimsText = (n: number): string => `${n} claim${n === 1 ? "" : "s"}`;

function grouped(n: bigint): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const fmt = tom3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 250 ms until it returns a value (not undefined / false); a daemon that exits ends the wait. */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
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

export interface Daemon {
  spec: ProviderSpec;
  key: Wallet;
  apiUrl: string;
  child: ChildProcess;
  /** The daemon's output, also in `logFile`. */
  log: ProcessLog;
  logFile: string;
}

export interface DemoMarketOptions {
  signal?: AbortSignal;
  /** A configured network (`connectNetwork`) instead of the embedded chain. */
  network?: DemoNetwork;
  /**
   * Embedded chain only: also mine a block every this many ms (automine stays on, so a transaction is mined at
   * once). The chain's clock then runs as on a real chain, and the market waits for it instead of moving it.
   */
  blockIntervalMs?: number;
  /** Where the logs go (kept after stop()); default: a new directory under the system's temporary directory. */
  logDir?: string;
  /** A numbered step, and a line under it. */
  say: (text: string) => void;
  detail: (text: string) => void;
}

/**
 * The market of the demo without its scenario: a chain with the suite (embedded or configured), a funded tenant,
 * three provider daemons, the tenant's libp2p node. `start()` prints steps as it goes; `stop()` removes everything
 * it started (also after a failed or aborted start).
 */
export class DemoMarket {
  readonly docker = new Docker();
  readonly daemons: Daemon[] = [];
  /** Time runs by itself (a configured network, or interval mining): windows are waited for, never skipped. */
  readonly realTime: boolean;
  /** "embedded" or the configured network's name. */
  readonly networkName: string;
  rpc!: JsonRpcProvider;
  rpcUrl!: string;
  deployment!: Tom3Deployment;
  deploymentsDir!: string;
  tenant!: Wallet;
  token!: Contract;
  market!: Contract;
  registry!: Contract;
  /** The logs of this market (the chain's, the deploy's, each daemon's): kept after stop(). */
  readonly logDir: string;
  /** Each role's TOM3 (wallet + market escrow + stake) once funded, before the market is used. */
  funded = new Map<string, bigint>();
  tenantNode?: ManifestNode;
  /** The market's token balance and the sum of the demo accounts' escrow, before the demo touched them. */
  before = { held: 0n, accounts: 0n };
  private chain?: LocalChain;
  private readonly dir = mkdtempSync(join(tmpdir(), "tom3-market-demo-"));
  private readonly probes: string[] = [];
  /** Deployments of this run still open: closed on stop() on a configured network (the escrow goes back). */
  private readonly open = new Set<bigint>();
  private stopped = false;

  constructor(private readonly o: DemoMarketOptions) {
    this.realTime = o.network !== undefined || o.blockIntervalMs !== undefined;
    this.networkName = o.network?.name ?? "embedded";
    this.logDir = o.logDir ?? mkdtempSync(join(tmpdir(), "tom3-demo-logs-"));
    mkdirSync(this.logDir, { recursive: true });
  }

  /** The log files of this market by name; the chain's and the deploy's only on the embedded chain. */
  logs(): Record<string, string> {
    const names = [...(this.o.network ? [] : ["compile", "chain", "deploy"]), ...PROVIDERS.map((p) => p.name)];
    return Object.fromEntries(names.map((n) => [n, join(this.logDir, `${n}.log`)]));
  }

  async start(): Promise<void> {
    const { say, detail, signal } = this.o;
    say("Checking the Docker engine and building the sample images locally (no registry)");
    detail(`Docker engine ${await checkDocker(this.docker)}`);
    const built = await buildSampleImages({ docker: this.docker });
    detail(built.length === 0 ? "tom3/hello:local and tom3/api:local already present" : `built ${built.join(", ")}`);

    let keys: string[];
    let funder: Signer | undefined;
    const net = this.o.network;
    if (net) {
      say(`Using the configured network "${net.name}" and the TOM3 suite deployed there`);
      this.rpcUrl = net.rpcUrl;
      this.deployment = net.deployment;
      this.deploymentsDir = net.deploymentsDir;
      this.rpc = this.provider(net.chainId);
      detail(`chain ${net.chainId} at ${redact(net.rpcUrl)}; its own clock: the demo waits for real time, never moves it`);
      keys = net.keys;
    } else {
      say("Compiling the contracts (only what changed), starting an embedded local chain, deploying the TOM3 suite");
      detail(`compile: ${await compileContracts({ logFile: join(this.logDir, "compile.log") })}`);
      this.chain = await startLocalChain({ timeoutMs: 120_000, logDir: this.logDir });
      this.rpcUrl = this.chain.rpcUrl;
      this.deployment = this.chain.deployment;
      this.deploymentsDir = this.chain.deploymentsDir;
      this.rpc = this.provider(this.chain.chainId);
      detail(`chain ${this.chain.chainId} at ${this.chain.rpcUrl}`);
      if (this.o.blockIntervalMs !== undefined) {
        await this.rpc.send("evm_setIntervalMining", [this.o.blockIntervalMs]);
        detail(`a block every ${this.o.blockIntervalMs} ms plus automine, real wall-clock time (no time travel)`);
      }
      // Fresh keys per run, not Hardhat's well-known ones: the executor scopes containers by the provider's
      // address, so two runs on one Docker engine (two terminals, parallel CI jobs) must never share one.
      keys = DEMO_ROLES.map(() => Wallet.createRandom().privateKey);
      funder = new NonceManager(new Wallet(this.chain.accounts[0].privateKey, this.rpc));
    }
    detail(`market ${this.deployment.contracts.market}, token ${this.deployment.contracts.token}`);
    this.tenant = new Wallet(keys[0], this.rpc);
    const providerKeys = keys.slice(1).map((k) => new Wallet(k, this.rpc));
    this.token = new Contract(this.deployment.contracts.token, tom3TokenAbi, this.rpc);
    this.market = new Contract(this.deployment.contracts.market, marketAbi, this.rpc);
    this.registry = new Contract(this.deployment.contracts.registry, providerRegistryAbi, this.rpc);
    this.before = await this.holdings([this.tenant.address, ...providerKeys.map((k) => k.address)]);

    const roles = [this.tenant, ...providerKeys].map((w, i) => ({ role: DEMO_ROLES[i], address: w.address }));
    if (net) {
      say("Checking the tenant's and the providers' funds (gas, TOM3 topped up by the funder)");
      await fundDemoAccounts({
        network: net.name,
        rpc: this.rpc,
        token: this.deployment.contracts.token,
        accounts: roles,
        funder: net.funder,
        plan: {
          gasPerAccount: 3_000_000n,
          tom3: { tenant: parseUnits("10", 18), alpha: parseUnits("20", 18), bravo: parseUnits("20", 18), charlie: parseUnits("20", 18) },
        },
        log: detail,
      });
      for (const r of roles) {
        const eth = formatEther(await this.rpc.getBalance(r.address)).replace(/\.0$/, "");
        detail(`${r.role} ${r.address} now holds ${formatTokenAmount((await this.token.balanceOf(r.address)) as bigint)} and ${eth} ETH for gas`);
      }
    } else {
      say("Funding the tenant and three providers (fresh keys; ETH for gas and TOM3 from the deployer)");
      const token = this.token.connect(funder!) as Contract;
      for (const [i, r] of roles.entries()) {
        const tom3 = i === 0 ? "1000" : "100";
        await (await funder!.sendTransaction({ to: r.address, value: parseUnits("10", 18) })).wait();
        await (await token.transfer(r.address, parseUnits(tom3, 18))).wait();
        detail(`${r.role} ${r.address}: 10 ETH, ${tom3} TOM3`);
      }
    }

    for (const w of [this.tenant, ...providerKeys]) this.funded.set(w.address, (await this.tom3Of(w.address)).total);

    say("Starting three provider daemons as separate processes (`tom3 provider start --config`)");
    for (const [i, spec] of PROVIDERS.entries()) {
      signal?.throwIfAborted();
      const daemon = await this.startDaemon(i, spec, providerKeys[i]);
      this.daemons.push(daemon);
    }
    for (const d of this.daemons) {
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
        throw new Error(`${(error as Error).message}; the last lines of ${d.logFile}:\n${d.log.tail(10)}`);
      });
      detail(`${d.spec.name} (${d.spec.region}, floor ${tom3PerSecond(d.spec.price)}): pid ${d.child.pid}, API ${d.apiUrl}, log ${d.logFile}`);
    }

    this.tenantNode = await createManifestNode({
      privateKey: this.tenant.privateKey,
      authorizer: new ChainAuthorizer({ provider: this.rpc, deployment: this.deployment, cacheTtlMs: 0 }),
      listen: [],
    });
    await this.tenantNode.start();
  }

  /** A tenant client on this market (p2p delivery through the tenant's node). */
  client(options: Partial<Tom3ClientOptions> = {}): Tom3Client {
    return new Tom3Client({
      runner: this.tenant,
      deployment: this.deployment,
      delivery: new P2pManifestDelivery(this.tenantNode!),
      pollIntervalMs: 200,
      ...options,
    });
  }

  /** The chain's time now, or `seconds` later. On the embedded chain without interval mining it is moved. */
  async advance(seconds: number): Promise<void> {
    if (this.realTime) throw new Error("time runs by itself on this chain: wait, do not move it");
    await this.rpc.send("evm_increaseTime", [seconds]);
    await this.rpc.send("evm_mine", []);
  }

  /** What the embedded chain's node printed (its log names a failed transaction's reason); "" on a network. */
  chainOutput(): string {
    return this.chain?.output() ?? "";
  }

  /** Remember a deployment of this run; on a configured network stop() closes it if it is still open. */
  opened(deploymentId: bigint): void {
    this.open.add(deploymentId);
  }

  closedDeployment(deploymentId: bigint): void {
    this.open.delete(deploymentId);
  }

  probe(containerId: string): void {
    this.probes.push(containerId);
  }

  /** An account's TOM3: in its wallet, in the market (available, locked), staked (and unbonding) in the registry. */
  async tom3Of(address: string, blockTag?: number): Promise<{ wallet: bigint; available: bigint; locked: bigint; stake: bigint; total: bigint }> {
    const at = blockTag === undefined ? {} : { blockTag };
    const wallet = (await this.token.balanceOf(address, at)) as bigint;
    const [available, locked] = (await this.market.balanceOf(address, at)) as bigint[];
    const staked = (await this.registry.stakeOf(address, at)) as bigint;
    const [unbonding] = (await this.registry.unbondingOf(address, at)) as [bigint, bigint];
    const stake = staked + unbonding;
    return { wallet, available, locked, stake, total: wallet + available + locked + stake };
  }

  /** The market contract's token balance and the sum of the accounts' escrow (available + locked). */
  async holdings(addresses: string[]): Promise<{ held: bigint; accounts: bigint }> {
    let accounts = 0n;
    for (const a of addresses) {
      const [available, locked] = (await this.market.balanceOf(a)) as bigint[];
      accounts += available + locked;
    }
    return { held: (await this.token.balanceOf(this.deployment.contracts.market)) as bigint, accounts };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.o.network && this.open.size > 0 && this.tenantNode) {
      const client = this.client();
      for (const id of this.open) {
        await closeDeployment(client, { deploymentId: id }).then(
          () => this.o.detail(`closed deployment ${id} left open, its escrow went back to the tenant`),
          (error: unknown) => this.o.detail(`could not close deployment ${id}: ${(error as Error).message}`),
        );
      }
    }
    await this.tenantNode?.stop().catch(() => undefined);
    await Promise.all(this.daemons.map((d) => stopChild(d.child)));
    for (const d of this.daemons) await removeLabelled(this.docker, d.key.address);
    for (const id of this.probes) await this.docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    this.rpc?.destroy();
    await this.chain?.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private provider(chainId: number): JsonRpcProvider {
    const rpc = new JsonRpcProvider(this.rpcUrl, chainId, { staticNetwork: true, cacheTimeout: -1 });
    rpc.pollingInterval = 200;
    return rpc;
  }

  private async startDaemon(i: number, spec: ProviderSpec, key: Wallet): Promise<Daemon> {
    const p2pPort = await freePort();
    const apiPort = await freePort();
    const config = join(this.dir, `p${i + 1}.yaml`);
    writeFileSync(
      config,
      `chain:
  rpcUrl: ${this.rpcUrl}
  deployments: ${this.deploymentsDir}
  confirmations: 0
  pollInterval: ${this.o.network ? "500ms" : "200ms"}
key: { keyEnv: TOM3_PROVIDER_KEY }
endpoints: { listen: [/ip4/127.0.0.1/tcp/${p2pPort}], api: "127.0.0.1:${apiPort}" }
attributes: { region: ${spec.region} }
capacity: { cpu: 2, memory: 2Gi, storage: 10Gi, bandwidth: 1Gbps }
pricing: { strategy: linear, cpu: 0, memory: 0, storage: 0, bandwidth: 0, marginBps: 0, floor: ${spec.price} }
executor: { publishAddress: 127.0.0.1, pullPolicy: never }
charters: { claimInterval: 2s }
register: { enabled: true, stake: "10" }
dataDir: ${join(this.dir, `p${i + 1}-data`)}
`,
    );
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin", "tom3.js"), "provider", "start", "--config", config], {
      cwd: REPO_ROOT,
      env: { ...process.env, TOM3_PROVIDER_KEY: key.privateKey },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logFile = this.logs()[spec.name];
    const log = new ProcessLog(logFile);
    log.follow(child);
    return { spec, key, apiUrl: `http://127.0.0.1:${apiPort}`, child, log, logFile };
  }
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
  const m = new DemoMarket({ signal, network: options.network, logDir: options.logDir, say, detail });
  out(`Logs of this run (kept after it) in ${m.logDir}/: ${Object.keys(m.logs()).map((n) => `${n}.log`).join(", ")}`);
  out(UNITS_NOTE);

  const aborted = new Promise<never>((_, reject) => {
    if (signal?.aborted) reject(signal.reason as Error);
    signal?.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([scenario(), aborted]);
  } catch (error) {
    throw new MarketDemoError(error, m.logs());
  } finally {
    await m.stop();
  }

  async function scenario(): Promise<MarketDemoResult> {
    await m.start();
    mark("daemons");
    const { daemons, docker, market } = m;
    const client = m.client();

    say("The tenant deploys examples/hello.yaml with the SDK (escrow by permit, deployment, order)");
    const hello = readFileSync(join(REPO_ROOT, "examples", "hello.yaml"), "utf8");
    const fromBlock = await m.rpc.getBlockNumber();
    const deployed = await deployManifest(client, { manifest: hello, source: "examples/hello.yaml", permit: true });
    m.opened(deployed.deploymentId);
    const order = deployed.orders[0];
    detail(`escrow: deposited ${fmt(deployed.deposited)} with a permit; locked ${fmt(deployed.locked)}`);
    detail(`deployment ${deployed.deploymentId}, version ${deployed.version}`);
    detail(
      `order ${order.orderId}: group ${order.group} (${order.services.join(", ")}), max ${tom3PerSecond(order.spec.maxPricePerSecond)}, ` +
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
      if (decision.kind === "bid") detail(`${d.spec.name}: bids ${tom3PerSecond(BigInt(decision.price ?? 0))} (bid ${decision.bidId})`);
      // The chain knows an attribute only by its hash: name the one this order requires.
      else detail(`${d.spec.name}: declines (${decision.code}): ${(decision.reason ?? "").replace(attributeId("region=eu-west"), "region=eu-west")}`);
    }
    mark("decisions");

    const left = Number(order.closesAt - (await client.now()));
    if (m.realTime) {
      say(`The bidding window closes (waiting about ${Math.max(0, left)} s of real time); then the lowest bid wins the match`);
    } else {
      say(`The bidding window closes (chain time advanced ${left + 1} s); then the lowest bid wins the match`);
      await m.advance(left + 1);
    }
    const matches = await waitForMatches(client, { orderIds: [order.orderId], timeoutMs: 60_000 });
    if (matches.matched.length !== 1) throw new Error(`order not matched: ${JSON.stringify(matches.unmatched)}`);
    const match = matches.matched[0];
    const winner = daemons.find((d) => d.key.address === match.provider);
    if (!winner) throw new Error(`order ${order.orderId} went to ${match.provider}, a provider this demo did not start`);
    detail(
      `charter ${match.charterId}: ${winner.spec.name} at ${tom3PerSecond(match.pricePerSecond)} ` +
        `(matched by ${match.matchedByUs ? "the tenant" : "the best bidder's daemon"})`,
    );
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
    const page = await webPage(winner, match.charterId, signal);
    detail(`GET ${page.url} -> ${page.status}`);
    for (const line of page.body.trim().split("\n")) detail(`  | ${line}`);
    const viaWeb = await until("web -> api", async () => {
      const r = await fetch(`${page.url}cgi-bin/api`, { signal: AbortSignal.timeout(5000) });
      return r.ok ? (await r.text()).trim() : undefined;
    }, 30_000, signal);
    detail(`GET ${page.url}cgi-bin/api (web calls api, as its rule allows) -> ${viaWeb}`);
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
    m.probe(probe.id);
    await probe.start();
    await probe.wait();
    const probeLog = (await probe.logs({ stdout: true, stderr: true })).toString("utf8").replace(/[\x00-\x08]/g, "").trim();
    for (const line of probeLog.split("\n")) detail(`from a container of another deployment: ${line.replace(/^[^\w.]+/, "")}`);
    const outsiderRefused = !/reached/.test(probeLog);
    if (!outsiderRefused) throw new Error(`an outsider reached the internal api: ${probeLog}`);
    mark("isolation");

    if (m.realTime) {
      say("Payment accrues per second and the provider claims it (real time: waiting for its next claim)");
    } else {
      say("Payment accrues per second and the provider claims it (chain time advanced 60 s)");
      await m.advance(60);
    }
    const blockBeforeClaim = await m.rpc.getBlockNumber();
    await until("a claim", async () => {
      const c = (await market.charter(match.charterId)) as { claimed: bigint };
      return c.claimed > 0n;
    }, 60_000, signal).catch(async (error: unknown) => {
      // A node that mines only when a transaction comes (a plain `hardhat node`) has no clock of its own.
      if (m.realTime && (await m.rpc.getBlockNumber()) === blockBeforeClaim) {
        throw new Error(
          `${(error as Error).message}: the chain made no block in 60 s, and payment accrues and is claimed only as ` +
            "blocks come; run the node with a block time, e.g. `npx anvil --port <port> --block-time 1`",
        );
      }
      throw error;
    });
    // One block for every figure, so that they add up: accrued = claimed + not yet claimed.
    const at = await m.rpc.getBlockNumber();
    const accruedAt = (await market.accrued(match.charterId, { blockTag: at })) as bigint;
    const claimed = ((await market.charter(match.charterId, { blockTag: at })) as { claimed: bigint }).claimed;
    const claimsSoFar = await paymentsOf(market, match.charterId, fromBlock, at);
    detail(
      `at block ${at}, after ${accruedAt / match.pricePerSecond} s paid: accrued ${fmt(accruedAt)} = claimed by ${winner.spec.name} ` +
        `${fmt(claimed)} (${claimsText(claimsSoFar.length)}) + not yet claimed ${fmt(accruedAt - claimed)}`,
    );
    mark("claimed");

    say(`The tenant updates the deployment to a new version (GREETING: "${V2_GREETING}"), delivered and rolled out`);
    const v2 = hello.replace("GREETING: hello", `GREETING: ${V2_GREETING}`);
    if (v2 === hello) throw new Error('examples/hello.yaml has no "GREETING: hello" line for the update to change');
    const updated = await updateDeployment(client, { deploymentId: deployed.deploymentId, manifest: v2, source: "hello-v2.yaml", deliver: true });
    detail(`version ${updated.previousVersion} -> ${updated.version}`);
    const rolled = await until("the rollout", async () => {
      const c = await charterDetail(winner, match.charterId);
      return c.version === updated.version && c.phase === "running" ? c : undefined;
    }, 120_000, signal);
    detail(`${winner.spec.name} runs version ${rolled.version}`);
    const pageAfter = await webPage(winner, match.charterId, signal);
    detail(`GET ${pageAfter.url} -> ${pageAfter.status}`);
    for (const line of pageAfter.body.trim().split("\n")) detail(`  | ${line}`);
    detail(`the page's greeting: before "${greetingOf(page.body)}", after "${greetingOf(pageAfter.body)}"`);
    mark("updated");

    say("The tenant closes the deployment: the charter closes and the provider tears the workload down");
    const closed = await closeDeployment(client, { deploymentId: deployed.deploymentId });
    m.closedDeployment(deployed.deploymentId);
    if (closed.charters.length !== 1) throw new Error(`closing deployment ${deployed.deploymentId} closed ${closed.charters.length} charters, not 1`);
    const closedCharter = closed.charters[0];
    // From the chain: every payment of the charter (claims, and the close's own), its accrual frozen at the close.
    const end = await m.rpc.getBlockNumber();
    const payments = await paymentsOf(market, match.charterId, fromBlock, end);
    const [closedEvent] = (await market.queryFilter(market.filters.CharterClosed(match.charterId), fromBlock, end)) as EventLog[];
    if (!closedEvent) throw new Error(`no CharterClosed event for charter ${match.charterId}`);
    const atClose = payments.filter((p) => p.transactionHash === closedEvent.transactionHash);
    const whileRunning = payments.filter((p) => p.transactionHash !== closedEvent.transactionHash);
    const gross = (list: Payment[]) => list.reduce((sum, p) => sum + p.net + p.fee, 0n);
    const charterEnd = (await market.charter(match.charterId)) as { claimed: bigint; duration: bigint };
    const accruedTotal = (await market.accrued(match.charterId)) as bigint;
    const lockedForCharter = match.pricePerSecond * charterEnd.duration;
    const r: Reconciliation = {
      lockedForCharter,
      accrued: accruedTotal,
      claimedWhileRunning: gross(whileRunning),
      claims: whileRunning.length,
      paidAtClose: gross(atClose),
      fees: payments.reduce((sum, p) => sum + p.fee, 0n),
      refunded: closedEvent.args.refundedToTenant as bigint,
      tenantSpent: 0n,
      providerReceived: {},
    };
    detail(
      `charter ${closedCharter.charterId} closed (${closedCharter.reason}) after ${accruedTotal / match.pricePerSecond} s paid: ` +
        `accrued ${fmt(accruedTotal)} = claimed while running ${fmt(r.claimedWhileRunning)} (${claimsText(r.claims)}) + paid at close ${fmt(r.paidAtClose)}`,
    );
    detail(`locked for the charter ${fmt(lockedForCharter)} = paid ${fmt(accruedTotal)} + refunded to the tenant ${fmt(r.refunded)}`);
    await until("the teardown", async () => (await labelled(docker, winner.key.address, match.charterId)).length === 0, 60_000, signal);
    detail("no containers left for the charter");
    mark("closed");

    say("Final balances add up (read from the chain; wallet + market escrow + stake, against the start)");
    const accounts: [string, string][] = [["tenant", m.tenant.address], ...daemons.map((d): [string, string] => [d.spec.name, d.key.address])];
    for (const [name, address] of accounts) {
      const h = await m.tom3Of(address, end);
      const change = h.total - (m.funded.get(address) ?? 0n);
      if (name === "tenant") r.tenantSpent = -change;
      else r.providerReceived[name] = change;
      detail(
        `${name}: wallet ${fmt(h.wallet)}, market available ${fmt(h.available)}, locked ${fmt(h.locked)}, stake ${fmt(h.stake)}; ` +
          `${change < 0n ? "spent" : "received"} ${fmt(change < 0n ? -change : change)}`,
      );
    }
    const received = Object.values(r.providerReceived).reduce((a, b) => a + b, 0n);
    const checks: [string, boolean][] = [
      ["accrued = claimed while running + paid at close", r.accrued === r.claimedWhileRunning + r.paidAtClose],
      ["locked for the charter = accrued + refunded", r.lockedForCharter === r.accrued + r.refunded],
      ["tenant spent = accrued", r.tenantSpent === r.accrued],
      ["tenant spent = providers received + protocol fee", r.tenantSpent === received + r.fees],
      [`${winner.spec.name} received = accrued - fee`, r.providerReceived[winner.spec.name] === r.accrued - r.fees],
    ];
    detail(
      `tenant spent ${fmt(r.tenantSpent)} = ${winner.spec.name} received ${fmt(r.providerReceived[winner.spec.name])} + ` +
        `the other providers ${fmt(received - r.providerReceived[winner.spec.name])} + protocol fee ${fmt(r.fees)}: ` +
        `${checks.every(([, ok]) => ok) ? "OK" : "MISMATCH"}`,
    );
    const failed = checks.filter(([, ok]) => !ok).map(([what]) => what);
    if (failed.length > 0) throw new Error(`the figures do not add up: ${failed.join("; ")} (${JSON.stringify(r, (_, v) => (typeof v === "bigint" ? v.toString() : v))})`);
    const now = await m.holdings(accounts.map(([, a]) => a));
    const heldChange = now.held - m.before.held;
    const accountsChange = now.accounts - m.before.accounts;
    if (m.before.held === 0n) {
      detail(`the market contract holds ${fmt(now.held)} = the sum of its accounts' escrow ${fmt(now.accounts)}: ${now.held === now.accounts ? "OK" : "MISMATCH"}`);
    } else {
      detail(
        `during the demo the market's holdings moved by ${fmt(heldChange)}, the demo accounts' escrow by ` +
          `${fmt(accountsChange)}: ${heldChange === accountsChange ? "OK" : "MISMATCH (another user of the market at the same time?)"}`,
      );
    }
    if (heldChange !== accountsChange) throw new Error("the market's token balance did not move with its accounts");
    mark("total");

    return {
      network: m.networkName,
      realTime: m.realTime,
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
      webBodyAfterUpdate: pageAfter.body,
      closed: closed.charters.length === 1,
      leftoverContainers: 0,
      marketHeldChange: heldChange,
      accountsChange,
      providerAddresses: daemons.map((d) => d.key.address),
      reconciliation: r,
      logDir: m.logDir,
      logs: m.logs(),
      timings,
    };
  }
}

interface Payment {
  transactionHash: string;
  net: bigint;
  fee: bigint;
}

/** The PaymentClaimed events of a charter between two blocks (inclusive). */
async function paymentsOf(market: Contract, charterId: bigint, fromBlock: number, toBlock: number): Promise<Payment[]> {
  const events = (await market.queryFilter(market.filters.PaymentClaimed(charterId), fromBlock, toBlock)) as EventLog[];
  return events.map((e) => ({ transactionHash: e.transactionHash, net: e.args.amount as bigint, fee: e.args.fee as bigint }));
}

/** A failed demo: the cause, and where this run's logs are. */
export class MarketDemoError extends Error {
  override readonly name = "MarketDemoError";
  constructor(
    cause: unknown,
    readonly logs: Record<string, string>,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/** The greeting the sample web page prints (examples/hello.yaml's GREETING). */
export function greetingOf(body: string): string {
  return /Greeting: <b>([^<]*)<\/b>/.exec(body)?.[1] ?? "(none)";
}

/** The charter's web page, from the endpoint the winner's daemon publishes for it. */
export async function webPage(d: Daemon, charterId: bigint, signal?: AbortSignal): Promise<{ url: string; status: number; body: string }> {
  const info = await charterDetail(d, charterId);
  const web = info.endpoints?.find((e) => e.service === "web");
  if (!web) throw new Error(`no web endpoint in ${JSON.stringify(info)}`);
  const url = `http://${web.host}:${web.hostPort}/`;
  return until("the web page", async () => {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { url, status: r.status, body: await r.text() };
  }, 30_000, signal);
}

export class DaemonExited extends Error {
  constructor(d: Daemon) {
    super(`provider daemon ${d.spec.name} exited with code ${d.child.exitCode}; the last lines of ${d.logFile}:\n${d.log.tail(10)}`);
  }
}

export interface CharterDetail {
  phase?: string;
  version?: string;
  endpoints?: { service: string; host: string; hostPort: number }[];
}

export async function charterDetail(d: Daemon, charterId: bigint): Promise<CharterDetail> {
  const r = await fetch(`${d.apiUrl}/charters/${charterId}`);
  if (!r.ok) throw new Error(`GET /charters/${charterId} on ${d.spec.name}: ${r.status}`);
  return (await r.json()) as CharterDetail;
}

export function labelled(docker: Docker, provider: string, charterId: bigint): Promise<Docker.ContainerInfo[]> {
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

/** `--network <name>` from the command line; undefined without the option. */
export function networkArgument(argv: string[]): string | undefined {
  const i = argv.findIndex((a) => a === "--network" || a.startsWith("--network="));
  if (i === -1) return undefined;
  const value = argv[i].includes("=") ? argv[i].slice("--network=".length) : argv[i + 1];
  if (!value || value.startsWith("--")) throw new Error("--network needs a name, e.g. `npm run demo -- --network localhost`");
  return value;
}

const controller = new AbortController();

async function main(): Promise<void> {
  const onSignal = (name: string) => {
    console.error(`\n${name}: stopping and cleaning up...`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  const unknown = process.argv.slice(2).filter((a, i, all) => a.startsWith("--") && !a.startsWith("--network") && all[i - 1] !== "--network");
  if (unknown.length > 0) throw new Error(`unknown option ${unknown[0]} (the only option is --network <name>)`);
  const name = networkArgument(process.argv.slice(2));
  let network: DemoNetwork | undefined;
  if (name !== undefined) {
    // Hardhat's runtime reads hardhat.config.ts (and .env): the networks a user configured for `npm run deploy`.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const hre = require("hardhat") as { config: { networks: Record<string, NetworkEntry> } };
    network = await connectNetwork(name, { networks: hre.config.networks });
  }
  const result = await runMarketDemo({ signal: controller.signal, network });
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
      if (error instanceof MarketDemoError) {
        console.error(`logs of this run: ${Object.entries(error.logs).filter(([, file]) => existsSync(file)).map(([name, file]) => `${name} ${file}`).join(", ")}`);
      }
      process.exit(1);
    });
}
