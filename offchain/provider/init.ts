/**
 * `tom3 provider init`: a configuration that works as written. Paths are written relative to the config file (the
 * loader resolves them from there), capacity is what this host measures (a value asked for above it is kept, with a
 * warning), the key is named, never written: an environment variable (TOM3_PROVIDER_KEY) or a keystore plus the
 * variable holding its password. The text is validated by the same loader `tom3 provider start` uses before it is
 * written, and an existing file is never replaced without `force`.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { parseCpuMillis, parseMbps, parseMiB, parseTokenAmount } from "../chain/units";
import { parseProviderConfig, type ProviderConfig } from "./config";
import { capacityWarnings, measureHost, mib, type CapacityWarning, type HostCapacity } from "./host";

export const DEFAULT_PROVIDER_KEY_ENV = "TOM3_PROVIDER_KEY";
export const DEFAULT_KEYSTORE_PASSWORD_ENV = "TOM3_PROVIDER_KEYSTORE_PASSWORD";

export interface InitProviderOptions {
  /** The file to write. */
  config: string;
  rpcUrl: string;
  /** Directory of deployment records (`<chainId>.json`); written relative to the config file. */
  deploymentsDir: string;
  /** The variable holding the private key (default TOM3_PROVIDER_KEY); ignored with `keystore`. */
  keyEnv?: string;
  keystore?: string;
  passwordEnv?: string;
  /** Default: `tom3-provider-data` next to the config file. */
  dataDir?: string;
  /** Default `0.0.0.0:8443`. */
  api?: string;
  /** libp2p listen address (default `/ip4/0.0.0.0/tcp/4001`). */
  listen?: string;
  /** What peers dial; default: the addresses the node listens on. */
  announce?: string[];
  attributes?: Record<string, string>;
  /** Override what is measured: "4", "2000m", "8Gi", "100Gi", "1Gbps". */
  cpu?: string;
  memory?: string;
  storage?: string;
  bandwidth?: string;
  /** TOM3 ("1000") or wei ("5wei"); default 1000. */
  stake?: string;
  /** Where containers' published ports bind (default 0.0.0.0). */
  publishAddress?: string;
  /** When images are pulled (default if-missing). */
  pullPolicy?: "never" | "if-missing" | "always";
  force?: boolean;
}

export interface InitProviderResult {
  file: string;
  config: ProviderConfig;
  host: HostCapacity;
  warnings: CapacityWarning[];
}

export class ProviderInitError extends Error {
  override readonly name = "ProviderInitError";
}

/** Bandwidth cannot be measured without traffic: a modest default, said so in the file. */
const DEFAULT_BANDWIDTH = "100Mbps";

export function initProviderConfig(o: InitProviderOptions): InitProviderResult {
  const file = resolve(o.config);
  if (existsSync(file) && !o.force) {
    throw new ProviderInitError(`${o.config} already exists: keep it, or pass --force to replace it`);
  }
  const base = dirname(file);
  const dataDir = resolve(base, o.dataDir ?? "tom3-provider-data");
  const host = measureHost(dataDir);
  const asked = (value: string | undefined, parse: (v: string, field: string) => number, field: string) => {
    if (value === undefined) return undefined;
    try {
      return parse(value, field);
    } catch (error) {
      throw new ProviderInitError(`--${field}: ${(error as Error).message.replace(/^[^:]+: /, "")}`, { cause: error });
    }
  };
  const cpuMillis = asked(o.cpu, parseCpuMillis, "cpu") ?? host.cpuMillis;
  const memoryMiB = asked(o.memory, parseMiB, "memory") ?? host.memoryMiB;
  // Free disk moves (logs, images, other programs): offer 90 % of it, so the next start does not already warn
  // that the configured storage is above what is free.
  const storageMiB = asked(o.storage, parseMiB, "storage") ?? (host.storageMiB === undefined ? undefined : Math.floor(host.storageMiB * 0.9));
  if (storageMiB === undefined) throw new ProviderInitError(`cannot measure free disk under ${dataDir}: pass --storage`);
  const bandwidth = o.bandwidth ?? DEFAULT_BANDWIDTH;
  asked(bandwidth, parseMbps, "bandwidth");
  const stake = o.stake ?? "1000";
  try {
    parseTokenAmount(stake, "stake");
  } catch (error) {
    throw new ProviderInitError(`--stake: ${(error as Error).message.replace(/^[^:]+: /, "")}`, { cause: error });
  }

  const text = renderConfig({
    ...o,
    deployments: pathFrom(base, o.deploymentsDir),
    dataDir: pathFrom(base, dataDir),
    keystore: o.keystore === undefined ? undefined : pathFrom(base, resolve(o.keystore)),
    cpu: cpuMillis % 1000 === 0 ? String(cpuMillis / 1000) : `${cpuMillis}m`,
    memory: mib(memoryMiB),
    storage: mib(storageMiB),
    bandwidth,
    stake,
  });
  // What start will read: a file init writes always loads (the environment is checked at start).
  const config = parseProviderConfig(text, o.config, base);
  mkdirSync(base, { recursive: true });
  writeFileSync(file, text, { mode: 0o644 });
  const warnings = capacityWarnings(config.capacity, host);
  const records = deploymentsWarning(config.chain.deploymentsDir);
  if (records) warnings.unshift(records);
  return { file, config, host, warnings };
}

/**
 * `tom3 provider start` refuses a deployments directory that does not exist or holds no `<chainId>.json`: say so
 * now, while the flag that fixes it is at hand (an installed `tom3` defaults to `deployments/` of the working
 * directory, where there usually is none).
 */
function deploymentsWarning(dir: string | undefined): CapacityWarning | undefined {
  if (dir === undefined) return undefined;
  const fix =
    "`tom3 provider start` needs the chain's <chainId>.json there (`npm run deploy` writes it): pass --deployments " +
    "<dir> (or TOM3_DEPLOYMENTS_DIR) naming the folder that holds it, or copy the file there";
  if (!existsSync(dir)) return { path: "chain.deployments", message: `${dir} does not exist: ${fix}` };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    return { path: "chain.deployments", message: `${dir} cannot be read (${(error as NodeJS.ErrnoException).code}): ${fix}` };
  }
  if (!names.some((name) => /^\d+\.json$/.test(name))) {
    return { path: "chain.deployments", message: `${dir} holds no <chainId>.json: ${fix}` };
  }
  return undefined;
}

/** `target` as the config writes it: `./x` below the config's directory, else absolute. */
function pathFrom(base: string, target: string): string {
  const absolute = resolve(target);
  const rel = relative(base, absolute);
  if (rel === "") return ".";
  // Inside the config's directory: relative, so the two move together; elsewhere: absolute, so a copy still works.
  if (isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`)) return absolute;
  return `./${rel}`;
}

const yaml = (value: string): string => JSON.stringify(value);

function renderConfig(v: InitProviderOptions & { deployments: string; dataDir: string; cpu: string; memory: string; storage: string; bandwidth: string; stake: string }): string {
  const key =
    v.keystore !== undefined
      ? `  keystore: ${yaml(v.keystore)}\n  passwordEnv: ${v.passwordEnv ?? DEFAULT_KEYSTORE_PASSWORD_ENV}   # the keystore's password, from the environment`
      : `  keyEnv: ${v.keyEnv ?? DEFAULT_PROVIDER_KEY_ENV}   # the variable holding the private key (hex); never this file`;
  const attributes = Object.entries(v.attributes ?? {});
  return `# TOM3 provider daemon configuration, written by \`tom3 provider init\`. Every field is explained in
# offchain/provider/provider.example.yaml, and checked against config.schema.json (offchain/provider/ of the tom3
# repository, dist/offchain/provider/ of an installed tom3 package). Relative paths are relative to this file.
# Start with: tom3 provider start --config ${v.config}

chain:
  rpcUrl: ${yaml(v.rpcUrl)}
  deployments: ${yaml(v.deployments)}   # holds <chainId>.json, written by \`npm run deploy\`
  confirmations: 2
  pollInterval: 2s

key:
${key}

endpoints:
  listen: [${yaml(v.listen ?? "/ip4/0.0.0.0/tcp/4001")}]
${v.announce && v.announce.length > 0 ? `  announce: [${v.announce.map(yaml).join(", ")}]\n` : "  # announce: [/dns4/provider.example.com/tcp/4001, https://provider.example.com]   # what peers dial and the API's public URL; default: the listen addresses and http://<first IPv4>:<api port>\n"}  api: ${yaml(v.api ?? "0.0.0.0:8443")}

${attributes.length > 0 ? `attributes:\n${attributes.map(([k, val]) => `  ${k}: ${yaml(val)}`).join("\n")}\n` : "# attributes: { region: eu-west }   # each becomes keccak256(\"key=value\") on chain; orders may require them\n"}
# Measured on this host by \`tom3 provider init\`: CPUs, memory, 90 % of the free disk under dataDir. Bandwidth is not measured:
# set your uplink. Offering more than the host has is warned about at every start.
capacity:
  cpu: ${v.cpu}
  memory: ${v.memory}
  storage: ${v.storage}
  bandwidth: ${v.bandwidth}

# TOM3 wei per second, per unit (per CPU, per GiB, per GiB, per Mbps), plus the margin, at least the floor.
pricing:
  strategy: linear
  cpu: 100
  memory: 20
  storage: 1
  bandwidth: 1
  marginBps: 1000
  floor: 10

executor:
  publishAddress: ${yaml(v.publishAddress ?? "0.0.0.0")}
  pullPolicy: ${v.pullPolicy ?? "if-missing"}   # never | if-missing | always

# Every start registers (or updates the endpoint and attributes) and brings the stake up to this amount (TOM3, or
# "...wei"); a stake the wallet cannot cover is logged, shown in /status and retried.
register:
  enabled: true
  stake: ${yaml(v.stake)}
  retry: 30s   # first retry of a stake the wallet could not cover; doubles each time, up to 30 minutes

dataDir: ${yaml(v.dataDir)}
`;
}
