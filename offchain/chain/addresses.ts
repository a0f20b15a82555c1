/**
 * Deployment files (Node only): `deployments/<chainId>.json`, one per chain, read by every off-chain part and
 * written by the deployment module. The record's shape and validation live in `deployment.ts`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "./atomic-write";
import { DeploymentFileError, parseDeployment } from "./deployment";
import type { Tom3Deployment } from "./deployment";

export * from "./deployment";

/**
 * Run from the sources of a checkout (hardhat.config.ts two levels up): `<repo>/deployments`, where `npm run
 * deploy` writes. Run from the compiled code of an installed package (dist/offchain/chain/): `deployments/` in
 * the working directory, since the package's own folder is no place for records.
 */
export const DEFAULT_DEPLOYMENTS_DIR = existsSync(resolve(__dirname, "..", "..", "hardhat.config.ts"))
  ? resolve(__dirname, "..", "..", "deployments")
  : resolve("deployments");

/** The file of a chain's deployment. */
export function deploymentFile(chainId: number | bigint, dir: string = DEFAULT_DEPLOYMENTS_DIR): string {
  return join(dir, `${chainId}.json`);
}

/** Read and validate the deployment of `chainId`; errors name the file and the field. */
export function readDeployment(chainId: number | bigint, dir: string = DEFAULT_DEPLOYMENTS_DIR): Tom3Deployment {
  const file = deploymentFile(chainId, dir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new DeploymentFileError(
      file,
      undefined,
      missing ? `not found: nothing is deployed on chain ${chainId} (or it was deployed elsewhere)` : `cannot be read`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DeploymentFileError(file, undefined, `is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseDeployment(json, file, chainId);
}

/**
 * Validate and write a deployment record crash-safely (temporary file, fsync, rename): a reader never sees half a
 * file, and a crash leaves the previous record. Returns the file written.
 */
export function writeDeployment(record: Tom3Deployment, dir: string = DEFAULT_DEPLOYMENTS_DIR): string {
  const file = deploymentFile(record.chainId, dir);
  const valid = parseDeployment(record, file);
  writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`);
  return file;
}
