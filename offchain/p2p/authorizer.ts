/**
 * Who may send or receive a deployment's manifest, read from the chain; a peer's own claims are never trusted.
 *
 * The charter participants of a deployment are its owner, the owner's operators (`Market.isOperator`, which holds
 * the expiry and revocation rules) and every provider holding a Pending or Active charter in it. Charters are found
 * from `CharterCreated` logs (provider indexed, deployment id in the data), scanned incrementally from the
 * deployment record's `deployedAtBlock`; their states are read with `Market.charter(id)`. Answers are cached for a
 * short TTL; the deployment's version is read afresh for every verification, so an update on chain takes effect at
 * once.
 */
import { Contract, getAddress, Interface, ZeroAddress, type Provider } from "ethers";
import { marketAbi, providerRegistryAbi } from "../chain/abis";
import type { Tom3Deployment } from "../chain/deployment";

/** The on-chain state of a deployment that the protocol needs. */
export interface DeploymentInfo {
  owner: string;
  version: string;
  closed: boolean;
}

export interface ManifestAuthorizer {
  readonly chainId: number;
  readonly market: string;
  /** The deployment as it is on chain now (never cached), or undefined when there is none with that id. */
  deployment(deploymentId: bigint): Promise<DeploymentInfo | undefined>;
  /** Owner, operator of the owner, or provider holding a Pending or Active charter in the deployment. */
  isParticipant(deploymentId: bigint, account: string, deployment: DeploymentInfo): Promise<boolean>;
  /** Whether `provider` holds a Pending or Active charter in the deployment. */
  holdsCharter(deploymentId: bigint, provider: string): Promise<boolean>;
  /** Providers holding a Pending or Active charter in the deployment. */
  charterProviders(deploymentId: bigint): Promise<string[]>;
  /** A provider's registered endpoint (space-separated entries), "" when none. */
  endpointOf(provider: string): Promise<string>;
  /** Unix seconds: the later of the local clock and the chain's latest block. */
  now(): Promise<number>;
}

export interface ChainAuthorizerOptions {
  provider: Provider;
  deployment: Tom3Deployment;
  /** How long charter lists, charter states, operator answers and endpoints are reused, ms (default 5000). */
  cacheTtlMs?: number;
  /** Time limit of each RPC call, ms (default 5000). */
  callTimeoutMs?: number;
}

/** CharterState of IMarket: Pending = 1, Active = 2. */
const LIVE_CHARTER_STATES = new Set([1n, 2n]);

interface CharterEntry {
  charterId: bigint;
  provider: string;
  deploymentId: bigint;
}

/** The authorizer of a real deployment: every answer comes from the chain. */
export class ChainAuthorizer implements ManifestAuthorizer {
  readonly chainId: number;
  readonly market: string;
  private readonly provider: Provider;
  private readonly marketContract: Contract;
  private readonly registry: Contract;
  private readonly marketInterface = new Interface(marketAbi);
  private readonly ttl: number;
  private readonly callTimeout: number;
  private readonly cache = new Map<string, { at: number; value: Promise<unknown> }>();
  /** Charters seen in logs, by deployment; filled incrementally. */
  private readonly charters = new Map<bigint, CharterEntry[]>();
  private scannedTo: number;
  private scanning: Promise<void> | undefined;
  private scannedAt = -Infinity;

  constructor(options: ChainAuthorizerOptions) {
    this.provider = options.provider;
    this.chainId = options.deployment.chainId;
    this.market = getAddress(options.deployment.contracts.market);
    this.marketContract = new Contract(this.market, marketAbi, options.provider);
    this.registry = new Contract(options.deployment.contracts.registry, providerRegistryAbi, options.provider);
    this.ttl = options.cacheTtlMs ?? 5_000;
    this.callTimeout = options.callTimeoutMs ?? 5_000;
    this.scannedTo = options.deployment.deployedAtBlock - 1;
  }

  async deployment(deploymentId: bigint): Promise<DeploymentInfo | undefined> {
    const d = (await this.call(this.marketContract.deployment(deploymentId))) as {
      owner: string;
      closedAt: bigint;
      version: string;
    };
    if (d.owner === ZeroAddress) return undefined;
    return { owner: getAddress(d.owner), version: d.version.toLowerCase(), closed: d.closedAt !== 0n };
  }

  async isParticipant(deploymentId: bigint, account: string, deployment: DeploymentInfo): Promise<boolean> {
    const who = getAddress(account);
    if (who === deployment.owner) return true;
    const operator = await this.cached(`operator:${deployment.owner}:${who}`, () =>
      this.call(this.marketContract.isOperator(deployment.owner, who)),
    );
    if (operator === true) return true;
    return this.holdsCharter(deploymentId, who);
  }

  async holdsCharter(deploymentId: bigint, provider: string): Promise<boolean> {
    return (await this.charterProviders(deploymentId)).includes(getAddress(provider));
  }

  async charterProviders(deploymentId: bigint): Promise<string[]> {
    await this.scan();
    const live = new Set<string>();
    for (const entry of this.charters.get(deploymentId) ?? []) {
      const state = await this.cached(`charter:${entry.charterId}`, async () => {
        const c = (await this.call(this.marketContract.charter(entry.charterId))) as { state: bigint };
        return BigInt(c.state);
      });
      if (LIVE_CHARTER_STATES.has(state as bigint)) live.add(entry.provider);
    }
    return [...live];
  }

  async endpointOf(provider: string): Promise<string> {
    const endpoint = await this.cached(`endpoint:${getAddress(provider)}`, () =>
      this.call(this.registry.endpointOf(getAddress(provider))),
    );
    return String(endpoint);
  }

  async now(): Promise<number> {
    const chain = (await this.cached(
      "now",
      async () => (await this.call(this.provider.getBlock("latest")))?.timestamp ?? 0,
    )) as number;
    return Math.max(Math.floor(Date.now() / 1000), chain);
  }

  /** Read `CharterCreated` logs from where the last scan stopped to the latest block (at most once per TTL). */
  private scan(): Promise<void> {
    if (Date.now() - this.scannedAt < this.ttl) return Promise.resolve();
    this.scanning ??= (async () => {
      try {
        const latest = await this.call(this.provider.getBlockNumber());
        if (latest > this.scannedTo) {
          const topic = this.marketInterface.getEvent("CharterCreated")!.topicHash;
          const logs = await this.call(
            this.provider.getLogs({
              address: this.market,
              topics: [topic],
              fromBlock: this.scannedTo + 1,
              toBlock: latest,
            }),
          );
          for (const log of logs) {
            const parsed = this.marketInterface.parseLog(log);
            if (!parsed) continue;
            const entry: CharterEntry = {
              charterId: parsed.args.charterId as bigint,
              provider: getAddress(parsed.args.provider as string),
              deploymentId: parsed.args.deploymentId as bigint,
            };
            const list = this.charters.get(entry.deploymentId) ?? [];
            list.push(entry);
            this.charters.set(entry.deploymentId, list);
          }
          this.scannedTo = latest;
        }
        this.scannedAt = Date.now();
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttl) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(key, { at: Date.now(), value });
    value.catch(() => this.cache.delete(key));
    return value;
  }

  private call<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`chain call timed out after ${this.callTimeout} ms`)),
        this.callTimeout,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/**
 * An authorizer that lets everyone do everything, with a fixed version per deployment: for transport benchmarks
 * and tests of the transport alone. Never use it where the chain matters.
 */
export function allowAllAuthorizer(options: {
  versions: Map<bigint, string>;
  chainId?: number;
  market?: string;
  endpoints?: Map<string, string>;
  providers?: Map<bigint, string[]>;
}): ManifestAuthorizer {
  return {
    chainId: options.chainId ?? 31337,
    market: options.market ?? "0x0000000000000000000000000000000000000001",
    deployment: async (id) => {
      const version = options.versions.get(id);
      return version === undefined ? undefined : { owner: ZeroAddress, version: version.toLowerCase(), closed: false };
    },
    isParticipant: async () => true,
    holdsCharter: async () => true,
    charterProviders: async (id) => options.providers?.get(id) ?? [],
    endpointOf: async (provider) => options.endpoints?.get(getAddress(provider)) ?? "",
    now: async () => Math.floor(Date.now() / 1000),
  };
}
