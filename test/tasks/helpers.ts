/**
 * Shared setup of the task integration tests: a deployment record in a fresh temporary directory that
 * `TOM3_DEPLOYMENTS_DIR` points at, and `runTask`, which runs a `tom3:*` task with `--json` and console output
 * captured. Deploy through the fixtures of test/fixtures/deploy.ts (what is tested is what is deployed).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { OPTIONAL_CONTRACTS, REQUIRED_CONTRACTS, writeDeployment } from "../../offchain/chain/addresses";
import type { Tom3Addresses } from "../../offchain/chain/addresses";

export const ONE = 10n ** 18n;
export const VERSION_1 = hre.ethers.id("manifest v1");
export const VERSION_2 = hre.ethers.id("manifest v2");

/** A task's JSON result (what `hre.run` returns): ids and wei as decimal strings, times as numbers. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskJson = Record<string, any>;

/**
 * Make `TOM3_DEPLOYMENTS_DIR` a fresh temporary directory for the enclosing `describe`, restoring the variable and
 * removing the directory afterwards. Returns a getter for the directory.
 */
export function useDeploymentsDir(): () => string {
  let dir = "";
  let previous: string | undefined;
  before(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-tasks-"));
    previous = process.env.TOM3_DEPLOYMENTS_DIR;
    process.env.TOM3_DEPLOYMENTS_DIR = dir;
  });
  after(function () {
    if (previous === undefined) delete process.env.TOM3_DEPLOYMENTS_DIR;
    else process.env.TOM3_DEPLOYMENTS_DIR = previous;
    rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/** Write the suite's record for chain 31337 into `dir`; event scans start at `deployedAtBlock`. */
export async function writeRecord(
  dir: string,
  suite: { [K in keyof Tom3Addresses]?: { getAddress(): Promise<string> } },
  deployedAtBlock: number,
): Promise<void> {
  const contracts: Partial<Tom3Addresses> = {};
  for (const key of [...REQUIRED_CONTRACTS, ...OPTIONAL_CONTRACTS]) {
    const contract = suite[key];
    if (contract) contracts[key] = await contract.getAddress();
  }
  writeDeployment({ chainId: 31337, deployedAtBlock, contracts: contracts as Tom3Addresses }, dir);
}

/** Run `fn` with console.log captured; returns the printed lines with the result or the error. */
export async function captured<T>(fn: () => Promise<T>): Promise<{ lines: string[]; result?: T; error?: Error }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(" "));
  try {
    return { lines, result: await fn() };
  } catch (error) {
    return { lines, error: error as Error };
  } finally {
    console.log = log;
  }
}

/** Run a task with `--json` (output captured and checked to be the returned JSON); its error is rethrown. */
export async function runTask(name: string, args: Record<string, unknown> = {}): Promise<TaskJson> {
  const { lines, result, error } = await captured(() => hre.run(name, { ...args, json: true }) as Promise<TaskJson>);
  if (error) throw error;
  const printed = JSON.parse(lines.join("\n")) as TaskJson;
  if (JSON.stringify(printed) !== JSON.stringify(result)) {
    throw new Error(`${name} printed ${JSON.stringify(printed)} but returned ${JSON.stringify(result)}`);
  }
  return result!;
}

/** The error a task fails with (and the JSON error it printed); fails the test if the task succeeds. */
export async function taskError(
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ error: Error; printed: TaskJson }> {
  const { lines, error } = await captured(() => hre.run(name, { ...args, json: true }));
  if (!error) throw new Error(`${name} succeeded; expected it to fail`);
  return { error, printed: lines.length > 0 ? (JSON.parse(lines.join("\n")) as TaskJson) : {} };
}
