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
