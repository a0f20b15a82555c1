/**
 * The deployment record: where a TOM3 suite lives on one chain, as written to `deployments/<chainId>.json` by the
 * deployment module and read by tasks, SDK, daemon and web app. Pure (no file system), so a browser can validate a
 * fetched record too; `addresses.ts` reads and writes the files.
 */
import { getAddress, isAddress, ZeroAddress } from "ethers";

/** Addresses of the suite; `governor` and `timelock` only in the governed variant. */
export interface Tom3Addresses {
  token: string;
  registry: string;
  certificates: string;
  market: string;
  usage: string;
  governor?: string;
  timelock?: string;
}

export interface Tom3Deployment {
  chainId: number;
  /** Block of the first deployment transaction: where event scans start. */
  deployedAtBlock: number;
  contracts: Tom3Addresses;
}

export const REQUIRED_CONTRACTS = ["token", "registry", "certificates", "market", "usage"] as const;
export const OPTIONAL_CONTRACTS = ["governor", "timelock"] as const;

/** A record that is missing a field or holds a wrong value; `field` is its path (e.g. `contracts.market`). */
export class DeploymentFileError extends Error {
  override readonly name = "DeploymentFileError";
  constructor(
    /** The file (or other source) the record came from. */
    readonly source: string,
    readonly field: string | undefined,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${field === undefined ? "" : `${field} `}${problem}`, options);
  }
}

/**
 * Validate `json` as a deployment record and return it with checksummed addresses. Unknown keys are ignored, so a
 * newer record still reads. `source` names the record in errors; `expectedChainId`, when given, must match.
 */
export function parseDeployment(json: unknown, source: string, expectedChainId?: number | bigint): Tom3Deployment {
  const fail = (field: string | undefined, problem: string): never => {
    throw new DeploymentFileError(source, field, problem);
  };
  if (!isObject(json)) return fail(undefined, "is not a JSON object");

  const chainId = json.chainId;
  if (!isCount(chainId) || chainId === 0) return fail("chainId", `must be a positive integer, got ${show(chainId)}`);
  if (expectedChainId !== undefined && BigInt(chainId) !== BigInt(expectedChainId)) {
    fail("chainId", `is ${chainId}, but this is chain ${expectedChainId}`);
  }
  const deployedAtBlock = json.deployedAtBlock;
  if (!isCount(deployedAtBlock)) {
    return fail("deployedAtBlock", `must be a block number, got ${show(deployedAtBlock)}`);
  }
  if (!isObject(json.contracts))
    return fail("contracts", `must be an object of addresses, got ${show(json.contracts)}`);

  const given = json.contracts;
  const contracts: Partial<Tom3Addresses> = {};
  for (const key of [...REQUIRED_CONTRACTS, ...OPTIONAL_CONTRACTS]) {
    const value = given[key];
    if (value === undefined) {
      if ((REQUIRED_CONTRACTS as readonly string[]).includes(key)) fail(`contracts.${key}`, "is missing");
      continue;
    }
    // isAddress also rejects a mixed-case address whose checksum is wrong (a typo).
    if (typeof value !== "string" || !isAddress(value) || getAddress(value) === ZeroAddress) {
      fail(`contracts.${key}`, `must be a non-zero address, got ${show(value)}`);
    }
    contracts[key] = getAddress(value as string);
  }
  return { chainId, deployedAtBlock, contracts: contracts as Tom3Addresses };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function show(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

/** A contract of a record (`market`, `token`, ...) and its address. */
export interface RecordedContract {
  key: string;
  address: string;
}

/**
 * The contracts of `deployment` (all of them, or only `keys`) that hold no code on the chain `getCode` reads. A
 * record whose addresses hold no code is stale: the node was restarted or replaced since the deploy.
 */
export async function contractsWithoutCode(
  deployment: Tom3Deployment,
  getCode: (address: string) => Promise<string>,
  keys: readonly string[] = Object.keys(deployment.contracts),
): Promise<RecordedContract[]> {
  const entries = keys
    .map((key) => ({ key, address: (deployment.contracts as unknown as Record<string, string | undefined>)[key] }))
    .filter((e): e is RecordedContract => e.address !== undefined);
  const codes = await Promise.all(entries.map((e) => getCode(e.address)));
  return entries.filter((_, i) => codes[i] === "0x");
}

/** Where a stale record was found, for the command that rewrites it. */
export interface DeployCommandOptions {
  chainId: number | bigint;
  /** The Hardhat network name the user deploys with, when known (`localhost`, `remote`). */
  network?: string;
  /** The node's RPC URL, when known: a local node other than the default needs TOM3_LOCAL_RPC_URL. */
  rpcUrl?: string;
  /** The deployments directory, when it is not the default one (it must be given to the deploy too). */
  deploymentsDir?: string;
  /**
   * An Ignition journal of the lost suite that the deploy would refuse (same chain id and first block, not a
   * development chain): the command moves it aside first, as the deploy's own refusal says.
   */
  staleJournal?: string;
}

/** Chain ids of throwaway development nodes (`hardhat node`, anvil, ganache). */
export const DEV_CHAIN_IDS: readonly number[] = [31337, 1337];

/**
 * The command that deploys the suite to the node a record was meant for, rewriting its record, e.g.
 * `npm run deploy -- --network localhost` or `TOM3_LOCAL_RPC_URL=http://127.0.0.1:8600 npm run deploy -- --network
 * localhost`. Without a network name, a development chain id means `localhost` and any other `remote`.
 */
export function deployCommand(options: DeployCommandOptions): string {
  const network = options.network ?? (DEV_CHAIN_IDS.includes(Number(options.chainId)) ? "localhost" : "remote");
  const env: string[] = [];
  if (options.deploymentsDir) env.push(`TOM3_DEPLOYMENTS_DIR=${options.deploymentsDir}`);
  if (network === "localhost" && options.rpcUrl && !isDefaultLocalUrl(options.rpcUrl)) {
    env.push(`TOM3_LOCAL_RPC_URL=${originOf(options.rpcUrl)}`);
  }
  if (network === "remote" && options.network === undefined) env.push("TOM3_RPC_URL=<this node's URL>");
  const setAside = options.staleJournal ? `mv ${options.staleJournal} ${options.staleJournal}-stale && ` : "";
  return `${setAside}${env.length > 0 ? `${env.join(" ")} ` : ""}npm run deploy -- --network ${network}`;
}

/**
 * The one sentence every reader of a record says when its addresses hold no code (tasks, SDK, demo):
 * `<file>: no TOM3 contract on chain 31337 at market 0x…, token 0x…: the record is stale (...); deploy the suite
 * there again with `<command>`, which rewrites this file`.
 */
export function staleDeploymentMessage(
  options: DeployCommandOptions & {
    /** The record's file (or other source). */
    source: string;
    missing: readonly RecordedContract[];
    /** Appended to the reason, e.g. a hint about the in-process network. */
    hint?: string;
  },
): string {
  const where = options.rpcUrl ? ` (node ${originOf(options.rpcUrl)})` : "";
  const named = options.missing.map((m) => `${m.key} ${m.address}`);
  const at = named.length <= 2 ? named.join(", ") : `${named[0]} and ${named.length - 1} more of its addresses`;
  return (
    `${options.source}: no TOM3 contract on chain ${options.chainId} at ${at}${where}: the record is stale (the node ` +
    `was restarted or replaced since the deploy, or the record belongs to another node)${options.hint ?? ""}; ` +
    `deploy the suite there again with \`${deployCommand(options)}\`, which rewrites this file`
  );
}

function isDefaultLocalUrl(url: string): boolean {
  return /^https?:\/\/(127\.0\.0\.1|localhost):8545\/?$/.test(url);
}

/** Scheme, host and port only: an RPC URL's path or query often holds an API key. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(an invalid URL)";
  }
}
