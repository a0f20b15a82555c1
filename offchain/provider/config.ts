/**
 * The provider daemon's configuration file (YAML, documented by `config.schema.json` and `provider.example.yaml`).
 *
 * Reading reuses the manifest's YAML reader (`manifest/source.ts`): YAML 1.2 core, and every field's line and
 * column, so each problem is reported as `file:line:col: path: message` (never a stack trace), like a manifest's.
 * The key never lives in the file: the file names an environment variable, or a keystore plus the variable that
 * holds its password.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import Ajv, { type ErrorObject } from "ajv";
import { Wallet, getAddress } from "ethers";
import { attributeId } from "../chain/attributes";
import { UnitError, parseCpuMillis, parseDurationSeconds, parseMbps, parseMiB, parseTokenAmount } from "../chain/units";
import type { Resources } from "../chain/units";
import { formatIssue, formatPath, type ManifestIssue, type PathSegment } from "../manifest/errors";
import { readManifestSource, type Data } from "../manifest/source";
import schema from "./config.schema.json";
import { pricingStrategyNames, type PricingConfig } from "./pricing";
import { isApiUrl } from "../chain/endpoint";

export interface ProviderConfig {
  source: string;
  chain: {
    rpcUrl: string;
    /** Directory of `deployments/<chainId>.json` (used when `contracts` is not given). */
    deploymentsDir?: string;
    contracts?: { market: string; registry: string; token?: string; deployedAtBlock: number };
    confirmations: number;
    reorgDepth: number;
    pollIntervalMs: number;
    maxBlockRange: number;
  };
  key: { keyEnv?: string; keystore?: string; passwordEnv?: string };
  endpoints: { listen: string[]; announce: string[]; api?: string };
  /** keccak256("key=value") → "key=value". */
  attributes: Map<string, string>;
  /** What the file says; the rest comes from the Docker engine (`resolveCapacity`). */
  capacity: Partial<Resources>;
  pricing: PricingConfig;
  limits: { maxConcurrentCharters?: number };
  timeouts: { rpcMs: number; transactionMs: number; expiryGraceSeconds: number };
  /** `retryMs`: the first retry of a short stake (doubling each time, up to 30 min). */
  register: { enabled: boolean; stake: bigint; retryMs: number };
  /** Where containers' published ports bind and when images are pulled (executor defaults when left out). */
  executor: { publishAddress?: string; pullPolicy?: "never" | "if-missing" | "always" };
  /** The charter manager's timings (its defaults when left out). */
  charters: {
    /** How often running charters' accrued payment is claimed. */
    claimIntervalMs?: number;
    /** The watchdog closes a charter whose workload has not arrived this long before acknowledgeBy. */
    watchdogMarginSeconds?: number;
    /** How long a won charter waits for the tenant's push before asking the deployment's other providers. */
    peerFetchDelayMs?: number;
  };
  dataDir: string;
}

/** A refused configuration: every problem, located. `format()` gives one line per problem. */
export class ProviderConfigError extends Error {
  override readonly name = "ProviderConfigError";
  constructor(
    readonly issues: readonly ManifestIssue[],
    readonly source: string,
  ) {
    super(issues.length === 0 ? `${source}: invalid configuration` : formatIssue(issues[0], source) + (issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""));
  }

  format(): string {
    return this.issues.map((issue) => formatIssue(issue, this.source)).join("\n");
  }
}

/**
 * A configured value that the world refused at start-up (a node that does not answer, a port in use, a deployment
 * record that does not match the chain): `field (file): what happened`, so the operator knows which line to change.
 */
export class ProviderConfigFieldError extends Error {
  override readonly name = "ProviderConfigFieldError";
  constructor(
    readonly field: string,
    readonly source: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${field} (${source}): ${problem}`, options);
  }
}

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: false, verbose: true });
const validate = ajv.compile(schema);

export const CONFIG_DEFAULTS = {
  confirmations: 2,
  reorgDepth: 64,
  pollIntervalMs: 2_000,
  maxBlockRange: 2_000,
  rpcMs: 10_000,
  transactionMs: 120_000,
  expiryGraceSeconds: 300,
  stakeRetryMs: 30_000,
} as const;

export interface ParseProviderConfigOptions {
  /**
   * Also check what the file points at in the environment: the key's variable (set, and a key), the keystore's
   * password variable. `loadProviderConfig` passes `process.env` unless told otherwise.
   */
  env?: NodeJS.ProcessEnv;
  /** Also check that the paths the file names exist (`chain.deployments`, `key.keystore`). */
  checkFiles?: boolean;
}

/**
 * Read and validate the file at `file`: every problem of the file itself, of the environment it names and of the
 * paths it names, reported together. Relative paths are relative to the file's directory.
 */
export function loadProviderConfig(file: string, options: ParseProviderConfigOptions = { env: process.env }): ProviderConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ProviderConfigError([{ path: "", message: `cannot be read (${(error as NodeJS.ErrnoException).code ?? error})` }], file);
  }
  return parseProviderConfig(text, file, dirname(resolve(file)), { checkFiles: true, ...options });
}

/**
 * Validate configuration text; relative paths resolve against `baseDir`. Every problem is collected (schema,
 * units, combinations, and with `options` the environment and files) and thrown as one `ProviderConfigError`.
 */
export function parseProviderConfig(
  text: string,
  source = "provider.yaml",
  baseDir = process.cwd(),
  options: ParseProviderConfigOptions = {},
): ProviderConfig {
  const read = readManifestSource(text);
  const issues: ManifestIssue[] = [...read.issues];
  // A field the schema already refused gets no second, derived complaint.
  const refused = new Set<string>();
  const at = (path: PathSegment[], message: string, where: "key" | "value" = "value") => {
    const name = formatPath(path);
    if (refused.has(name)) return;
    issues.push({ path: name, ...read.locate(path, where), message });
  };
  if (read.fatal) throw new ProviderConfigError(issues, source);

  if (!validate(read.data)) {
    for (const error of validate.errors ?? []) {
      schemaIssue(error, read.data, (path, message, where) => {
        issues.push({ path: formatPath(path), ...read.locate(path, where), message });
        refused.add(formatPath(path));
      });
    }
    if (typeof read.data !== "object" || read.data === null || Array.isArray(read.data)) {
      throw new ProviderConfigError(sortIssues(issues), source);
    }
  }
  try {
    return semantics();
  } catch (error) {
    if (error instanceof ProviderConfigError) throw error;
    // A shape the schema refused broke a derived check: the schema's issues say what is wrong.
    throw new ProviderConfigError(sortIssues(issues), source);
  }

  // The checks beyond the schema, then the typed result when nothing is wrong.
  function semantics(): ProviderConfig {
    const data = read.data as Record<string, Record<string, Data> & Data>;
    const chain = (data.chain ?? {}) as Record<string, Data>;
    const key = (data.key ?? {}) as Record<string, string>;
    const pricing = (data.pricing ?? {}) as Record<string, Data>;
    const capacityIn = (data.capacity ?? {}) as Record<string, string | number>;
    const timeouts = (data.timeouts ?? {}) as Record<string, string | number>;
    const executorIn = (data.executor ?? {}) as Record<string, string>;
    const chartersIn = (data.charters ?? {}) as Record<string, string | number>;

    const guard = <T>(path: PathSegment[], fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (error) {
        if (error instanceof UnitError) at(path, error.message.replace(/^[^:]+: /, ""));
        else at(path, (error as Error).message);
        return undefined;
      }
    };

    if (key.keyEnv === undefined && key.keystore === undefined) at(["key"], "name keyEnv, or keystore and passwordEnv");
    if (key.keyEnv !== undefined && key.keystore !== undefined) at(["key", "keystore"], "give keyEnv or keystore, not both", "key");
    if (key.keystore !== undefined && key.passwordEnv === undefined) at(["key"], "a keystore needs passwordEnv (the variable holding its password)");

    if (options.env) environmentIssues(key, options.env, at);
    if (options.checkFiles && typeof key.keystore === "string" && !existsSync(resolve(baseDir, key.keystore))) {
      at(["key", "keystore"], `${resolve(baseDir, key.keystore)} does not exist${relativeNote(key.keystore, source)}`);
    }

    const contractsIn = chain.contracts as Record<string, string | number> | undefined;
    if (contractsIn && chain.deployments !== undefined) at(["chain", "contracts"], "give deployments or contracts, not both", "key");
    if (options.checkFiles && !contractsIn) {
      const dir = resolve(baseDir, String(chain.deployments ?? "deployments"));
      if (!existsSync(dir)) {
        at(
          ["chain", "deployments"],
          `${dir} does not exist${relativeNote(String(chain.deployments ?? "deployments"), source)}: it holds the <chainId>.json that \`npm run deploy\` writes`,
          chain.deployments === undefined ? "key" : "value",
        );
      }
    }

    const api = data.endpoints?.api;
    const apiPort = typeof api === "string" ? /:(\d+)$/.exec(api)?.[1] : undefined;
    if (apiPort !== undefined && Number(apiPort) > 65535) at(["endpoints", "api"], `port ${apiPort} is above 65535`);
    const announce = (data.endpoints?.announce as Data[] | undefined) ?? [];
    announce.forEach((entry, i) => {
      if (typeof entry === "string" && /^http:\/\//i.test(entry) && !isApiUrl(entry)) {
        at(["endpoints", "announce", i], `${entry}: a public API is announced as https:// (http:// only on a loopback host such as 127.0.0.1)`);
      }
    });

    const attributes = new Map<string, string>();
    for (const [k, v] of Object.entries((data.attributes ?? {}) as Record<string, Data>)) {
      const pair = `${k}=${String(v)}`;
      const id = guard(["attributes", k], () => attributeId(pair, `attributes.${k}`));
      if (id) attributes.set(id.toLowerCase(), pair);
    }

    const capacity: Partial<Resources> = {};
    const parsers = { cpu: parseCpuMillis, memory: parseMiB, storage: parseMiB, bandwidth: parseMbps } as const;
    const fields = { cpu: "cpuMillis", memory: "memoryMiB", storage: "storageMiB", bandwidth: "bandwidthMbps" } as const;
    for (const name of ["cpu", "memory", "storage", "bandwidth"] as const) {
      if (capacityIn[name] === undefined) continue;
      const value = guard(["capacity", name], () => parsers[name](String(read.textAt(["capacity", name]) ?? capacityIn[name]), name));
      if (value !== undefined) capacity[fields[name]] = value;
    }

    const strategy = String(pricing.strategy ?? "linear");
    if (!pricingStrategyNames().includes(strategy)) {
      at(["pricing", "strategy"], `unknown strategy "${strategy}" (known: ${pricingStrategyNames().join(", ")})`);
    }
    const interval = (path: PathSegment[], value: string | number | undefined, fallbackMs: number): number => {
      if (value === undefined) return fallbackMs;
      if (typeof value === "number") return value * 1000;
      const ms = /^(\d+)ms$/.exec(value);
      if (ms) return Number(ms[1]);
      return (guard(path, () => parseDurationSeconds(value, formatPath(path))) ?? 0) * 1000;
    };
    const stake = data.register?.stake;
    const stakeWei = stake === undefined ? 0n : (guard(["register", "stake"], () => parseTokenAmount(String(stake), "stake")) ?? 0n);
    const stakeRetryMs = interval(["register", "retry"], data.register?.retry as string | number | undefined, CONFIG_DEFAULTS.stakeRetryMs);
    if (stakeRetryMs <= 0) at(["register", "retry"], "must be longer than 0s");

    const claimIntervalMs = interval(["charters", "claimInterval"], chartersIn.claimInterval, 0);
    const watchdogMarginMs = chartersIn.watchdogMargin === undefined ? undefined : interval(["charters", "watchdogMargin"], chartersIn.watchdogMargin, 0);
    if (watchdogMarginMs !== undefined && (watchdogMarginMs < 1000 || watchdogMarginMs % 1000 !== 0)) {
      at(["charters", "watchdogMargin"], "must be a whole number of seconds, at least 1s (it is compared with the chain's clock)");
    }

    if (issues.length > 0) throw new ProviderConfigError(sortIssues(issues), source);

    return {
      source,
      chain: {
        rpcUrl: String(chain.rpcUrl),
        deploymentsDir: contractsIn ? undefined : resolve(baseDir, String(chain.deployments ?? "deployments")),
        contracts: contractsIn
          ? {
              market: getAddress(String(contractsIn.market)),
              registry: getAddress(String(contractsIn.registry)),
              token: contractsIn.token === undefined ? undefined : getAddress(String(contractsIn.token)),
              deployedAtBlock: Number(contractsIn.deployedAtBlock),
            }
          : undefined,
        confirmations: (chain.confirmations as number | undefined) ?? CONFIG_DEFAULTS.confirmations,
        reorgDepth: (chain.reorgDepth as number | undefined) ?? CONFIG_DEFAULTS.reorgDepth,
        pollIntervalMs: interval(["chain", "pollInterval"], chain.pollInterval as string | number | undefined, CONFIG_DEFAULTS.pollIntervalMs),
        maxBlockRange: (chain.maxBlockRange as number | undefined) ?? CONFIG_DEFAULTS.maxBlockRange,
      },
      key: { ...key, keystore: key.keystore === undefined ? undefined : resolve(baseDir, key.keystore) },
      endpoints: {
        listen: (data.endpoints?.listen as string[] | undefined) ?? [],
        announce: (data.endpoints?.announce as string[] | undefined) ?? [],
        api: data.endpoints?.api as string | undefined,
      },
      attributes,
      capacity,
      pricing: {
        strategy,
        cpu: BigInt(String(pricing.cpu ?? 0)),
        memory: BigInt(String(pricing.memory ?? 0)),
        storage: BigInt(String(pricing.storage ?? 0)),
        bandwidth: BigInt(String(pricing.bandwidth ?? 0)),
        marginBps: (pricing.marginBps as number | undefined) ?? 0,
        floor: BigInt(String(pricing.floor ?? 1)),
      },
      limits: { maxConcurrentCharters: data.limits?.maxConcurrentCharters as number | undefined },
      timeouts: {
        rpcMs: interval(["timeouts", "rpc"], timeouts.rpc, CONFIG_DEFAULTS.rpcMs),
        transactionMs: interval(["timeouts", "transaction"], timeouts.transaction, CONFIG_DEFAULTS.transactionMs),
        expiryGraceSeconds: interval(["timeouts", "expiryGrace"], timeouts.expiryGrace, CONFIG_DEFAULTS.expiryGraceSeconds * 1000) / 1000,
      },
      executor: {
        publishAddress: executorIn.publishAddress,
        pullPolicy: executorIn.pullPolicy as ProviderConfig["executor"]["pullPolicy"],
      },
      charters: {
        claimIntervalMs: chartersIn.claimInterval === undefined ? undefined : claimIntervalMs,
        watchdogMarginSeconds: watchdogMarginMs === undefined ? undefined : watchdogMarginMs / 1000,
        peerFetchDelayMs: chartersIn.peerFetchDelay === undefined ? undefined : interval(["charters", "peerFetchDelay"], chartersIn.peerFetchDelay, 0),
      },
      register: { enabled: (data.register?.enabled as boolean | undefined) ?? data.register !== undefined, stake: stakeWei, retryMs: stakeRetryMs },
      dataDir: resolve(baseDir, String(data.dataDir)),
    };
  }
}

/**
 * Capacity: what the file gives, the rest from `detectCapacity` (the executor supplies the Docker engine's
 * `NCPU` / `MemTotal`). A resource neither gives is an error naming it.
 */
export async function resolveCapacity(
  config: ProviderConfig,
  detectCapacity?: () => Promise<Partial<Resources>> | Partial<Resources>,
): Promise<Resources> {
  const missing = (["cpuMillis", "memoryMiB", "storageMiB", "bandwidthMbps"] as const).filter((k) => config.capacity[k] === undefined);
  const detected = missing.length > 0 && detectCapacity ? await detectCapacity() : {};
  const out = { ...detected, ...config.capacity } as Partial<Resources>;
  const still = missing.filter((k) => out[k] === undefined);
  if (still.length > 0) {
    const names = still.map((k) => ({ cpuMillis: "cpu", memoryMiB: "memory", storageMiB: "storage", bandwidthMbps: "bandwidth" })[k]);
    throw new ProviderConfigError(
      names.map((n) => ({ path: `capacity.${n}`, message: "is not set and the Docker engine did not report it" })),
      config.source,
    );
  }
  return out as Resources;
}

/** The provider's key, from the environment or an encrypted keystore; never from the file. */
export async function loadProviderKey(config: ProviderConfig, env: NodeJS.ProcessEnv = process.env): Promise<Wallet> {
  const fail = (path: string, message: string): never => {
    throw new ProviderConfigError([{ path, message }], config.source);
  };
  if (config.key.keyEnv !== undefined) {
    const value = env[config.key.keyEnv];
    if (!value) return fail("key.keyEnv", `the environment variable ${config.key.keyEnv} is not set`);
    try {
      return new Wallet(value.startsWith("0x") ? value : `0x${value}`);
    } catch {
      return fail("key.keyEnv", `${config.key.keyEnv} does not hold a valid private key`);
    }
  }
  const password = env[config.key.passwordEnv!];
  if (password === undefined) return fail("key.passwordEnv", `the environment variable ${config.key.passwordEnv} is not set`);
  let json: string;
  try {
    json = readFileSync(config.key.keystore!, "utf8");
  } catch {
    return fail("key.keystore", `${config.key.keystore} cannot be read`);
  }
  try {
    return (await Wallet.fromEncryptedJson(json, password)) as Wallet;
  } catch {
    return fail("key.keystore", "the keystore does not open with that password");
  }
}

/** For a relative path that was not found: where it was looked for. */
function relativeNote(path: string, source: string): string {
  return isAbsolute(path) ? "" : ` (relative paths are relative to the directory of ${source})`;
}

/** What the key settings name in the environment: a set variable holding a key, a set password variable. */
function environmentIssues(
  key: Record<string, string>,
  env: NodeJS.ProcessEnv,
  at: (path: PathSegment[], message: string, where?: "key" | "value") => void,
): void {
  if (typeof key.keyEnv === "string" && key.keystore === undefined) {
    const value = env[key.keyEnv]?.trim();
    if (!value) {
      at(["key", "keyEnv"], `the environment variable ${key.keyEnv} is not set: export the provider's private key there (or an EnvironmentFile under systemd)`);
    } else if (!/^(0x)?[0-9a-fA-F]{64}$/.test(value)) {
      // Never echo the value: it may be a key with a typo.
      at(["key", "keyEnv"], `${key.keyEnv} does not hold a private key (0x and 64 hex digits)`);
    }
  }
  if (typeof key.keystore === "string" && typeof key.passwordEnv === "string" && env[key.passwordEnv] === undefined) {
    at(["key", "passwordEnv"], `the environment variable ${key.passwordEnv} is not set: export the keystore's password there`);
  }
}

function schemaIssue(error: ErrorObject, data: Data, at: (path: PathSegment[], message: string, where?: "key" | "value") => void): void {
  const path = error.instancePath
    .split("/")
    .slice(1)
    .map((raw): PathSegment => (/^\d+$/.test(raw) ? Number(raw) : raw.replace(/~1/g, "/").replace(/~0/g, "~")));
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required":
      return at([...path, String(params.missingProperty)], "is required", "key");
    case "additionalProperties": {
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const key = String(params.additionalProperty);
      const near = known.find((k) => k.toLowerCase() === key.toLowerCase() || nearKey(k.toLowerCase(), key.toLowerCase()));
      const hint = near ? ` (did you mean ${near}?)` : known.length ? ` (expected one of: ${known.join(", ")})` : "";
      return at([...path, key], `unknown key${hint}`, "key");
    }
    case "type": {
      const value = valueOf(data, path);
      // A wei price written as a decimal (pricing.cpu: 1.5): say what is wrong with the value, not its JSON type.
      if (typeof value === "number" && !Number.isInteger(value) && String(params.type).includes("integer")) {
        return at(path, `${value} is not valid here (expected a whole number${String(params.type).includes("string") ? " of wei" : ""})`);
      }
      return at(path, `must be ${String(params.type).replace(",", " or ")}${value === null ? ", not empty" : ""}`);
    }
    case "enum":
      return at(path, `${JSON.stringify(valueOf(data, path))} is not one of: ${(params.allowedValues as unknown[]).map(String).join(", ")}`);
    case "pattern":
      return at(path, `${JSON.stringify(valueOf(data, path))} is not valid here (expected ${describePattern(String(params.pattern))})`);
    default:
      return at(path, error.message ?? `breaks the schema rule ${error.keyword}`);
  }
}

/** One edit apart (a typo, a missing or extra letter): what an unknown key's suggestion allows. */
function nearKey(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(i + 1) === b.slice(i + 1) || a.slice(i + 1) === b.slice(i) || a.slice(i) === b.slice(i + 1);
}

function describePattern(pattern: string): string {
  if (pattern.includes("0-9a-fA-F]{40}")) return "a 0x address";
  if (pattern.includes("ms|s|m|h|d")) return 'a duration like "2s", "500ms" or "5m"';
  if (pattern === "^[0-9]+$") return "a whole number of wei";
  if (pattern.startsWith("^(https?|wss?)")) return "an http(s):// or ws(s):// URL";
  if (pattern.includes("[A-Za-z_]")) return "an environment variable name";
  if (pattern.includes(":[0-9]{1,5}")) return "host:port";
  return `the pattern ${pattern}`;
}

function valueOf(data: Data, path: readonly PathSegment[]): Data | undefined {
  let node: Data | undefined = data;
  for (const key of path) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (node && typeof node === "object") node = (node as Record<string, Data>)[String(key)];
    else return undefined;
  }
  return node;
}

function sortIssues(issues: ManifestIssue[]): ManifestIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
