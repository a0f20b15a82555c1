/**
 * What every `tom3` command needs from the global options: the node (`--rpc`), the deployment record
 * (`--deployments`), the tenant's key (from an environment variable or an encrypted keystore, never from the
 * command line), and a `Tom3Client` built from them.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { DEFAULT_DEPLOYMENTS_DIR } from "../chain/addresses";
import { requestChainId } from "../chain/rpc";
import { EnvFileError, loadDotEnv } from "../env";
import type { DeliveryTransport, OnProgress, Tom3Client } from "../sdk";
import { CliError } from "./errors";

export interface GlobalOptions {
  rpc: string;
  deployments: string;
  keyEnv: string;
  keystore?: string;
  json: boolean;
  quiet: boolean;
}

export const DEFAULT_RPC_URL = "http://127.0.0.1:8545";
export const DEFAULT_KEY_ENV = "TOM3_PRIVATE_KEY";

/**
 * Read `.env` from the working directory, as the Hardhat tasks do (offchain/env.ts): variables already in the
 * environment win, empty ones mean unset. Call it before reading any option default. A malformed file comes back
 * as the error to report (it names the file and line), so the caller can print it the usual way.
 */
export function loadCliEnv(dir: string = process.cwd()): CliError | undefined {
  try {
    loadDotEnv(dir);
    return undefined;
  } catch (error) {
    if (error instanceof EnvFileError) return new CliError(error.message);
    throw error;
  }
}

/** `--rpc` default: TOM3_RPC_URL, else the local node. */
export function defaultRpcUrl(): string {
  return process.env.TOM3_RPC_URL || DEFAULT_RPC_URL;
}

/** `--deployments` default: TOM3_DEPLOYMENTS_DIR, else the repository's deployments/. */
export function defaultDeploymentsDir(): string {
  return process.env.TOM3_DEPLOYMENTS_DIR || DEFAULT_DEPLOYMENTS_DIR;
}

/**
 * Connect to the node: one JSON-RPC round trip first, so a dead node is one clear error, not endless retries. No
 * response cache: a balance read right after a transaction must see it.
 */
export async function connectProvider(rpcUrl: string): Promise<JsonRpcProvider> {
  let chainId: bigint;
  try {
    chainId = await requestChainId(rpcUrl, 10_000);
  } catch (error) {
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new CliError(`cannot reach the node at ${rpcUrl} (${reason}); set --rpc or TOM3_RPC_URL`);
  }
  const provider = new JsonRpcProvider(rpcUrl, Network.from(chainId), { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = pollIntervalMs();
  return provider;
}

/** How often waits poll: TOM3_POLL_MS, default 1000. */
export function pollIntervalMs(): number {
  const value = Number(process.env.TOM3_POLL_MS || 1000);
  return Number.isSafeInteger(value) && value > 0 ? value : 1000;
}

/**
 * The tenant's signer: the private key in the environment variable `--key-env` names (default TOM3_PRIVATE_KEY),
 * or the keystore `--keystore` (password in TOM3_KEYSTORE_PASSWORD). Undefined when neither is set and the
 * command can do without; `required` makes that an error.
 */
export function loadSigner(options: GlobalOptions, required: boolean): Wallet | undefined {
  if (options.keystore) {
    const password = process.env.TOM3_KEYSTORE_PASSWORD;
    if (password === undefined) throw new CliError(`--keystore ${options.keystore}: set its password in TOM3_KEYSTORE_PASSWORD`);
    let json: string;
    try {
      json = readFileSync(resolve(options.keystore), "utf8");
    } catch {
      throw new CliError(`--keystore ${options.keystore}: cannot read the file`);
    }
    try {
      return Wallet.fromEncryptedJsonSync(json, password) as Wallet;
    } catch {
      throw new CliError(`--keystore ${options.keystore}: not a keystore, or TOM3_KEYSTORE_PASSWORD is wrong`);
    }
  }
  const key = process.env[options.keyEnv];
  if (!key) {
    if (!required) return undefined;
    throw new CliError(
      `no key: set ${options.keyEnv} to the account's private key` +
        (options.keyEnv === DEFAULT_KEY_ENV ? " (or name another variable with --key-env)" : "") +
        `, or use --keystore <file> with TOM3_KEYSTORE_PASSWORD`,
    );
  }
  const normalised = key.trim().startsWith("0x") ? key.trim() : `0x${key.trim()}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(normalised)) {
    // Never echo the value: it may be a key with a typo.
    throw new CliError(`${options.keyEnv} does not hold a private key (0x and 64 hex digits)`);
  }
  return new Wallet(normalised);
}

/** A client for the command: with a signer when `needsKey` (or when a key is set anyway). */
export async function createClient(
  options: GlobalOptions,
  needsKey: boolean,
  extra: { onProgress?: OnProgress; deliver?: DeliveryTransport | false; cleanups?: (() => Promise<void>)[] } = {},
): Promise<Tom3Client> {
  // The key first: a missing key is the user's to fix before any network round trip.
  const wallet = loadSigner(options, needsKey);
  const provider = await connectProvider(options.rpc);
  extra.cleanups?.push(async () => provider.destroy());
  const { Tom3Client } = await import("../sdk");
  const settings = { pollIntervalMs: pollIntervalMs(), onProgress: extra.onProgress };
  const client = await Tom3Client.connect({
    runner: wallet ? wallet.connect(provider) : provider,
    deploymentsDir: resolve(options.deployments),
    ...settings,
  });
  if (!extra.deliver || !wallet) return client;
  const { createDelivery } = await import("./delivery");
  const { delivery, stop } = await createDelivery(wallet, provider, client.deployment, extra.deliver);
  extra.cleanups?.unshift(stop);
  return new Tom3Client({ runner: client.signer!, deployment: client.deployment, delivery, ...settings });
}
