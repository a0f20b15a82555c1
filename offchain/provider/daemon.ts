/**
 * The provider daemon: every part wired in start-up order, one root AbortController, stopped in reverse order.
 *
 * config → key → chain provider → deployment record → state → executor → p2p node (started before registration,
 * so a provider with no `announce` registers the addresses it really listens on) → ensureRegistered → watcher →
 * inventory → bid engine → charter manager → API. Tests inject the chain provider and the deployment record.
 *
 * What the world refuses at start-up names the config field it came from (`chain.rpcUrl (provider.yaml): cannot
 * reach ...`); a stake that could not be placed does not stop the daemon: it is logged, shown in /status and retried
 * (`StakeKeeper`).
 */
import { join, resolve } from "node:path";
import { Contract, JsonRpcProvider, Wallet, ZeroAddress } from "ethers";
import type { Provider } from "ethers";
import pino, { type Logger } from "pino";
import { marketAbi } from "../chain/abis";
import { formatTokens } from "../chain/units";
import { DEFAULT_DEPLOYMENTS_DIR, readDeployment, type Tom3Deployment } from "../chain/addresses";
import { contractsWithoutCode, deployCommand, staleDeploymentMessage } from "../chain/deployment";
import { isApiUrl } from "../chain/endpoint";
import { requestChainId, RpcAnswerError } from "../chain/rpc";
import { ChainAuthorizer, createManifestNode, type ManifestNode } from "../p2p";
import { createApi, listenApi, type ListeningApi } from "./api";
import { BidEngine } from "./bidengine";
import { CharterManager, DEFAULT_WATCHDOG_MARGIN_SECONDS } from "./charters";
import { loadProviderKey, ProviderConfigError, ProviderConfigFieldError, resolveCapacity, type ProviderConfig } from "./config";
import { DockerExecutor, type PullPolicy } from "./executor";
import { Inventory } from "./inventory";
import { createProviderMetrics, type ProviderMetrics } from "./metrics";
import { createPricingStrategy } from "./pricing";
import { capacityWarnings, measureHost } from "./host";
import { ensureRegistered, StakeKeeper, type StakeStatus } from "./registration";
import { SerialSigner } from "./signer";
import { StateStore } from "./state";
import { ChainWatcher } from "./watcher";

export interface ProviderDaemonOptions {
  config: ProviderConfig;
  env?: NodeJS.ProcessEnv;
  /** Chain access; a JsonRpcProvider on `config.chain.rpcUrl` when left out. */
  provider?: Provider;
  /** The deployment record; read from the config when left out. */
  deployment?: Tom3Deployment;
  logger?: Logger;
  executor?: { publishAddress?: string; pullPolicy?: PullPolicy; namePrefix?: string };
  charters?: { claimIntervalMs?: number; watchdogMarginSeconds?: number; peerFetchDelayMs?: number };
  /** API address (`host:port`, port 0 allowed); `config.endpoints.api` when left out; none when both are. */
  api?: string;
  /** Retries of a stake that could not be placed: first after `initialDelayMs` (30 s), doubling up to `maxDelayMs`. */
  stakeRetry?: { initialDelayMs?: number; maxDelayMs?: number };
}

/** Registration as the daemon last saw it, JSON-ready (the API's /status shows it; amounts in wei, as strings). */
export interface RegistrationStatus {
  enabled: boolean;
  stake?: { configured: string; held: string; ok: boolean; problem?: string; code?: string; retryDelayMs?: number };
}

export type DaemonStatus = "stopped" | "starting" | "running" | "stopping";

export class ProviderDaemon {
  status: DaemonStatus = "stopped";
  wallet!: Wallet;
  state!: StateStore;
  inventory!: Inventory;
  watcher!: ChainWatcher;
  engine!: BidEngine;
  executor!: DockerExecutor;
  node!: ManifestNode;
  charters!: CharterManager;
  metrics!: ProviderMetrics;
  apiUrl: string | undefined;
  stakeKeeper: StakeKeeper | undefined;
  private controller: AbortController | undefined;
  /** What to undo, newest first. */
  private readonly stops: (() => Promise<void> | void)[] = [];
  private readonly log: Logger;

  constructor(private readonly o: ProviderDaemonOptions) {
    this.log = o.logger ?? pino({ level: "silent" });
  }

  get address(): string {
    return this.wallet.address;
  }

  /** Registration and stake against the config; a short stake carries its problem and the next retry. */
  registration(): RegistrationStatus {
    const keeper = this.stakeKeeper;
    if (!keeper) return { enabled: this.o.config.register.enabled };
    const { configured, held, ...rest } = keeper.status;
    return { enabled: true, stake: { ...rest, configured: String(configured), held: String(held), retryDelayMs: keeper.retryDelayMs } };
  }

  async start(): Promise<void> {
    if (this.status !== "stopped") return;
    this.status = "starting";
    this.controller = new AbortController();
    try {
      await this.startParts();
      this.status = "running";
      this.log.info({ provider: this.address, api: this.apiUrl, p2p: this.node.multiaddrs }, "provider daemon running");
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private async startParts(): Promise<void> {
    const { config } = this.o;
    const key = await loadProviderKey(config, this.o.env);
    if (!this.o.provider) await probeRpc(config.chain.rpcUrl, config.timeouts.rpcMs, config.source);
    const provider = this.o.provider ?? chainProvider(config.chain.rpcUrl);
    if (!this.o.provider) this.stops.unshift(() => provider.destroy());
    this.wallet = key.connect(provider);
    const signer = new SerialSigner(this.wallet);
    const deployment = this.o.deployment ?? (await this.deploymentRecord(provider));
    const market = deployment.contracts.market;
    const chartersOptions = { ...definedOnly(config.charters), ...this.o.charters };
    await this.checkWatchdogMargin(provider, market, chartersOptions.watchdogMarginSeconds ?? DEFAULT_WATCHDOG_MARGIN_SECONDS);
    const log = (name: string) => this.log.child({ part: name });

    this.state = new StateStore(join(config.dataDir, "state"));
    this.stops.unshift(() => this.state.close());
    this.metrics = createProviderMetrics();

    this.executor = new DockerExecutor({
      provider: this.address,
      logger: log("executor"),
      ...definedOnly(config.executor),
      ...this.o.executor,
    });
    await this.executor.start();
    this.stops.unshift(() => this.executor.stop());

    // The node hands verified manifests to the charter manager, created below.
    let charters: CharterManager | undefined;
    this.node = await createManifestNode({
      privateKey: key.privateKey,
      // No cache: a tenant pushes right after its match, and a charter list even a few seconds old would refuse it
      // (NOT_A_CHARTER_HOLDER). Pushes are rare and the log scan is incremental, so fresh answers cost little.
      authorizer: new ChainAuthorizer({ provider, deployment, callTimeoutMs: config.timeouts.rpcMs, cacheTtlMs: 0 }),
      listen: config.endpoints.listen.length > 0 ? config.endpoints.listen : ["/ip4/0.0.0.0/tcp/0"],
      storeDir: join(config.dataDir, "manifests"),
      onManifest: (verified) => charters?.offer(verified),
      onInbound: (answer) => this.metrics.p2pRequests.inc({ type: answer.type, code: answer.code }),
      logger: log("p2p"),
    });
    this.node.store.load();
    await this.node.start().catch((error: unknown) => {
      throw new ProviderConfigFieldError("endpoints.listen", config.source, `cannot listen on ${config.endpoints.listen.join(", ") || "a free port"} (${reasonOf(error)})`, {
        cause: error,
      });
    });
    this.stops.unshift(() => this.node.stop());

    // The API's socket is bound now, before registration, so the endpoint can name where it really listens; it
    // answers 503 STARTING until every part behind it exists (see `listening.serve` below).
    const apiAddress = this.o.api ?? config.endpoints.api;
    let listening: ListeningApi | undefined;
    if (apiAddress !== undefined) {
      listening = await listenApi(apiAddress).catch((error: unknown) => {
        throw new ProviderConfigFieldError("endpoints.api", config.source, `cannot listen on ${apiAddress} (${reasonOf(error)})`, { cause: error });
      });
      const server = listening.server;
      this.apiUrl = listening.url;
      this.stops.unshift(
        () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      );
    }

    if (config.register.enabled) {
      const endpoint = registeredEndpoint(config.endpoints.announce, this.node.peerId.toString(), this.node.multiaddrs.map(String), this.apiUrl);
      if (this.apiUrl !== undefined && !endpoint.split(" ").some(isApiUrl)) {
        this.log.warn(
          { field: "endpoints.announce" },
          "endpoints.announce lists no https:// URL of this API: tenants cannot read their service URLs, logs or this provider's bid decisions; add the API's public URL there",
        );
      }
      const registration = { signer, registry: deployment.contracts.registry, stake: config.register.stake };
      const result = await ensureRegistered({ ...registration, endpoint, attributes: [...config.attributes.keys()] });
      if (result.registered) this.log.info({ endpoint }, "registered as a provider");
      if (result.updated) this.log.info({ endpoint }, "updated the registered endpoint and attributes");
      const retry = { initialDelayMs: config.register.retryMs, ...this.o.stakeRetry };
      const keeper = new StakeKeeper({ ...registration, ...retry, onStatus: (status) => this.logStake(status) }, result.stake);
      this.stakeKeeper = keeper;
      if (result.staked > 0n || !result.stake.ok) this.logStake(result.stake);
      keeper.start();
      this.stops.unshift(() => keeper.stop());
    }

    this.watcher = new ChainWatcher({
      provider,
      market,
      self: this.address,
      deployedAtBlock: deployment.deployedAtBlock,
      state: this.state,
      confirmations: config.chain.confirmations,
      reorgDepth: config.chain.reorgDepth,
      pollIntervalMs: config.chain.pollIntervalMs,
      maxBlockRange: config.chain.maxBlockRange,
      rpcTimeoutMs: config.timeouts.rpcMs,
      metrics: this.metrics,
    });
    const capacity = await resolveCapacity(config, async () => {
      const info = (await this.executor.docker.info()) as { NCPU?: number; MemTotal?: number };
      return { cpuMillis: info.NCPU ? info.NCPU * 1000 : undefined, memoryMiB: info.MemTotal ? Math.floor(info.MemTotal / 2 ** 20) : undefined };
    });
    for (const warning of capacityWarnings(config.capacity, measureHost(config.dataDir))) {
      this.log.warn({ field: warning.path }, `${warning.path} (${config.source}): ${warning.message}`);
    }
    this.inventory = new Inventory(capacity, this.state);
    this.engine = new BidEngine({
      watcher: this.watcher,
      provider,
      signer,
      market,
      self: this.address,
      inventory: this.inventory,
      state: this.state,
      strategy: createPricingStrategy(config.pricing),
      attributes: config.attributes,
      maxConcurrentCharters: config.limits.maxConcurrentCharters,
      expiryGraceSeconds: config.timeouts.expiryGraceSeconds,
      rpcTimeoutMs: config.timeouts.rpcMs,
      txTimeoutMs: config.timeouts.transactionMs,
      metrics: this.metrics,
      logger: log("bidengine"),
    });
    this.charters = charters = new CharterManager({
      provider,
      signer,
      market,
      self: this.address,
      watcher: this.watcher,
      engine: this.engine,
      inventory: this.inventory,
      state: this.state,
      executor: this.executor,
      node: this.node,
      rpcTimeoutMs: config.timeouts.rpcMs,
      txTimeoutMs: config.timeouts.transactionMs,
      metrics: this.metrics,
      logger: log("charters"),
      ...chartersOptions,
    });
    // Subscribers before the watcher starts, so no batch is missed; the bid engine first, so charterWon precedes
    // the manager's own handling of the same batch.
    this.engine.start();
    this.stops.unshift(() => this.engine.stop());
    await this.charters.start();
    this.stops.unshift(() => this.charters.stop());
    this.watcher.start();
    this.stops.unshift(() => this.watcher.stop());

    if (listening !== undefined) {
      const app = createApi({
        provider,
        market,
        self: this.address,
        inventory: this.inventory,
        engine: this.engine,
        charters: this.charters,
        executor: this.executor,
        watcher: this.watcher,
        registry: this.metrics.registry,
        // Uploads go through the p2p node's checks into the same sink as a push (`onManifest` → charters.offer).
        node: this.node,
        chainId: deployment.chainId,
        registration: () => this.registration(),
      });
      listening.serve(app);
    }
  }

  /** Stop every part in reverse order of start-up; containers keep running (the next start adopts them). */
  async stop(): Promise<void> {
    if (this.status === "stopped" && this.stops.length === 0) return;
    this.status = "stopping";
    this.controller?.abort();
    for (const stop of this.stops.splice(0)) {
      try {
        await stop();
      } catch (error) {
        this.log.warn({ err: String(error) }, "a part did not stop cleanly");
      }
    }
    this.status = "stopped";
  }

  private logStake(status: StakeStatus): void {
    const fields = { field: "register.stake", configured: String(status.configured), held: String(status.held), code: status.code };
    if (status.ok) this.log.info(fields, `stake ${formatTokens(status.held)} in place (register.stake ${formatTokens(status.configured)})`);
    else this.log.warn({ ...fields, retryInMs: this.stakeKeeper?.retryDelayMs }, `${status.problem}`);
  }

  /**
   * A margin at least the market's start timeout would close every charter the moment it is won: refuse to start,
   * naming the field (the start timeout is a market parameter, so only the chain can say).
   */
  private async checkWatchdogMargin(provider: Provider, market: string, marginSeconds: number): Promise<void> {
    const startTimeout = BigInt(await new Contract(market, marketAbi, provider).startTimeout());
    if (BigInt(marginSeconds) < startTimeout) return;
    throw new ProviderConfigError(
      [
        {
          path: "charters.watchdogMargin",
          message: `${marginSeconds} s is not shorter than the market's start timeout (${startTimeout} s): every charter would be closed before its workload could arrive`,
        },
      ],
      this.o.config.source,
    );
  }

  private async deploymentRecord(provider: Provider): Promise<Tom3Deployment> {
    const { chain } = this.o.config;
    if (chain.contracts) {
      const network = await provider.getNetwork();
      return {
        chainId: Number(network.chainId),
        deployedAtBlock: chain.contracts.deployedAtBlock,
        contracts: {
          market: chain.contracts.market,
          registry: chain.contracts.registry,
          token: chain.contracts.token ?? ZeroAddress,
          certificates: ZeroAddress,
          usage: ZeroAddress,
        },
      };
    }
    const chainId = (await provider.getNetwork()).chainId;
    const fail = (problem: string, cause?: unknown): never => {
      throw new ProviderConfigFieldError("chain.deployments", this.o.config.source, problem, { cause });
    };
    let record: Tom3Deployment;
    try {
      record = readDeployment(chainId, chain.deploymentsDir);
    } catch (error) {
      const command = deployCommand({ chainId, rpcUrl: chain.rpcUrl, deploymentsDir: customDir(chain.deploymentsDir) });
      return fail(`${(error as Error).message}; deploy the suite to this node with \`${command}\`, or give chain.contracts`, error);
    }
    const missing = await contractsWithoutCode(record, (address) => provider.getCode(address), ["market", "registry"]);
    if (missing.length > 0) {
      const source = join(chain.deploymentsDir ?? DEFAULT_DEPLOYMENTS_DIR, `${chainId}.json`);
      fail(
        staleDeploymentMessage({ chainId, rpcUrl: chain.rpcUrl, deploymentsDir: customDir(chain.deploymentsDir), source, missing }) +
          `, or point chain.rpcUrl at the node it was deployed to`,
      );
    }
    return record;
  }
}

/**
 * The daemon's JSON-RPC provider. No response cache: two transactions sent within its 250 ms window would read the
 * same nonce. No batch stall: ethers waits 10 ms by default to batch requests, and a bid's sends are sequential
 * round trips, so under a burst that wait was a large part of each bid's latency; requests made in the same tick
 * (the engine's parallel checks) are still batched.
 */
export function chainProvider(rpcUrl: string): JsonRpcProvider {
  return new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1, batchStallTime: 0 });
}

/**
 * One `eth_chainId` round trip before anything else, so an unreachable node is one sentence naming the field (ethers
 * would otherwise retry its network detection forever). Only http(s): the daemon's provider speaks JSON-RPC over HTTP.
 */
export async function probeRpc(rpcUrl: string, timeoutMs: number, source: string): Promise<void> {
  if (!/^https?:/.test(rpcUrl)) return;
  const fail = (problem: string, cause?: unknown): never => {
    throw new ProviderConfigFieldError("chain.rpcUrl", source, `cannot reach ${rpcUrl} (${problem}): is the node running? Or set chain.rpcUrl to its JSON-RPC URL`, { cause });
  };
  try {
    await requestChainId(rpcUrl, timeoutMs);
  } catch (error) {
    if ((error as Error).name === "TimeoutError") return fail(`no answer within ${timeoutMs / 1000} s; timeouts.rpc sets the limit`, error);
    if (error instanceof RpcAnswerError) return fail(`HTTP ${error.status}, not a JSON-RPC answer to eth_chainId`, error);
    return fail(reasonOf(error), error);
  }
}

/** A network error's short cause: `connect ECONNREFUSED`, `getaddrinfo ENOTFOUND`, `listen EADDRINUSE`. */
function reasonOf(error: unknown): string {
  const cause = ((error as { cause?: unknown }).cause ?? error) as NodeJS.ErrnoException & { errors?: NodeJS.ErrnoException[] };
  const inner = cause.code === undefined && cause.errors?.[0] ? cause.errors[0] : cause;
  if (inner.code) return [inner.syscall, inner.code].filter(Boolean).join(" ");
  return (error as Error).message ?? String(error);
}

/** The entries of `o` that are set: a config's absent field must not override a default with `undefined`. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The endpoint registered on chain: `endpoints.announce` as written (a multiaddr gets the node's peer id), or, when
 * it is empty, the addresses the node really listens on plus the API's URL (a wildcard bind is announced on the
 * first IPv4 address the p2p node listens on, which is loopback on a development machine).
 */
export function registeredEndpoint(announce: readonly string[], peerId: string, multiaddrs: readonly string[], apiUrl: string | undefined): string {
  if (announce.length > 0) return announce.map((a) => (a.includes("/p2p/") || !a.startsWith("/") ? a : `${a}/p2p/${peerId}`)).join(" ");
  const entries = [...multiaddrs];
  if (apiUrl !== undefined) {
    const url = new URL(apiUrl);
    if (url.hostname === "0.0.0.0" || url.hostname === "[::]") {
      const ip4 = multiaddrs.map((m) => /^\/ip4\/([\d.]+)\//.exec(m)?.[1]).find((ip) => ip !== undefined && ip !== "0.0.0.0");
      if (ip4 !== undefined) entries.push(`http://${ip4}:${url.port}`);
    } else {
      entries.push(apiUrl);
    }
  }
  return entries.join(" ");
}

/** A deployments directory other than the repository's default, which a deploy command must name. */
function customDir(dir: string | undefined): string | undefined {
  return dir === undefined || resolve(dir) === resolve(DEFAULT_DEPLOYMENTS_DIR) ? undefined : dir;
}
