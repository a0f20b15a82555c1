/**
 * What every `tom3:*` task shares: the `--from` and `--json` options, the deployment of the current chain, typed
 * contracts, transactions whose reverts read as sentences, event scans, and printing (one line per fact, or JSON).
 *
 * Addresses come from `deployments/<chainId>.json` (or `$TOM3_DEPLOYMENTS_DIR/<chainId>.json`), the chain id from the
 * node. Contracts are TypeChain bindings of the interfaces (`IMarket__factory`, ...): each implementation has its
 * interface's ABI. TypeChain output is loaded when a task runs, not when the config loads, so `npx hardhat compile`
 * still works on a clean checkout where `typechain-types/` does not exist yet.
 */
import { join } from "node:path";
import { task } from "hardhat/config";
import { HardhatPluginError } from "hardhat/plugins";
import { HardhatError } from "hardhat/internal/core/errors";
import { HARDHAT_PARAM_DEFINITIONS } from "hardhat/internal/core/params/hardhat-params";
import type { ConfigurableTaskDefinition, HardhatRuntimeEnvironment, TaskDefinition } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Interface, getAddress, isAddress } from "ethers";
import type { ContractTransactionResponse, Result, TransactionReceipt } from "ethers";
import type {
  ICertificateRegistry,
  IGovernor,
  IMarket,
  IProviderRegistry,
  ITOM3Token,
  IUsageLedger,
} from "../typechain-types";
import type { TypedContractEvent } from "../typechain-types/common";
import {
  DeploymentFileError,
  contractsWithoutCode,
  deploymentFile,
  readDeployment,
  staleDeploymentMessage,
} from "../offchain/chain/addresses";
import type { Tom3Deployment } from "../offchain/chain/addresses";
import { tom3Abis, tom3ContractNames } from "../offchain/chain/abis";
import { Tom3ContractError, decodeContractError } from "../offchain/chain/errors";
import type { Tom3ContractKey } from "../offchain/chain/errors";
import {
  UnitError,
  formatResources,
  formatTime,
  formatTokens,
  parseDurationSeconds,
  parseTokenAmount,
} from "../offchain/chain/units";
import type { Resources } from "../offchain/chain/units";
import { DEV_CHAIN_IDS } from "../offchain/chain/deployment";
import { journalAddresses, journalDir, journalId } from "../deploy/journal";

export const PLUGIN = "tom3";

// ------------------------------------------------------------------ task definition

export interface CommonArgs {
  from?: string;
  json: boolean;
}

/**
 * Define a `tom3:*` task: `params` adds its own options, `--from` and `--json` are added here, and `action` gets a
 * ready context. Whatever the action returns is printed (and returned in JSON form to `hre.run` callers); any error
 * is turned into a one-sentence HardhatPluginError, reverts decoded.
 */
/** The names of every task tom3Task registered: hardhat.config.ts refuses a mistyped `tom3:` name in one sentence. */
export const registeredTom3Tasks = new Set<string>();

export function tom3Task<A extends object>(
  name: string,
  description: string,
  params: (definition: ConfigurableTaskDefinition) => ConfigurableTaskDefinition,
  action: (args: A & CommonArgs, ctx: Tom3Context) => Promise<Report>,
): void {
  registeredTom3Tasks.add(name);
  const definition = params(task(name, description))
    .addOptionalParam("from", "Account to act as: an index into the network's accounts (default 0) or an address")
    .addFlag("json", "Print the result as JSON");
  checkRequiredFlags(name, definition as TaskDefinition);
  definition.setAction(async (args: A & CommonArgs, hre) => {
    let account: string | undefined;
    try {
      const ctx = await createContext(hre, args.from);
      account = ctx.signer.address;
      const report = await action(args, ctx);
      const json = toJson(report) as Record<string, unknown>;
      console.log(args.json ? JSON.stringify(json, null, 2) : formatReport(report));
      return json;
    } catch (error) {
      const taskError = asTaskError(error, hre, account);
      if (args.json) console.log(JSON.stringify({ error: errorJson(taskError) }, null, 2));
      if (!isCommandLineTask(name) || !isExpected(taskError)) throw taskError;
      // Run from the command line: one line on stderr and exit code 1. Thrown, Hardhat would print a stack trace
      // on any Linux shell without DISPLAY (it takes that for CI); here the stack only comes when asked for.
      console.error(`error: ${taskError.message}`);
      const { verbose, showStackTraces } = hre.hardhatArguments;
      if (verbose || showStackTraces) console.error(taskError);
      process.exitCode = 1;
      return { error: errorJson(taskError) };
    }
  });
}

/**
 * Run from the command line without a required flag, Hardhat would print HH306 with a stack trace on a shell without
 * DISPLAY. Checked here, as the tasks load, so the user gets one line naming every missing flag.
 */
function checkRequiredFlags(name: string, definition: TaskDefinition): void {
  if (!isCommandLineTask(name) || process.argv.includes("--help") || process.argv.includes("help")) return;
  const params = Object.values(definition.paramDefinitions);
  const known = new Set([...params, ...Object.values(HARDHAT_PARAM_DEFINITIONS)].map((param) => flagOf(param.name)));
  const unknown = process.argv.slice(2).filter((arg) => arg.startsWith("--") && !known.has(arg));
  const missing = params
    .filter((param) => !param.isOptional && !param.isFlag)
    .map((param) => flagOf(param.name))
    .filter((flag) => !process.argv.includes(flag));
  const problems = [
    ...(unknown.length > 0 ? [`does not take ${unknown.join(", ")}`] : []),
    ...(missing.length > 0 ? [`needs ${missing.join(", ")}`] : []),
  ];
  if (problems.length === 0) return;
  console.error(`error: ${name} ${problems.join(" and ")}; \`npx hardhat help ${name}\` describes its flags`);
  process.exit(1);
}

/** "versionHash" → "--version-hash", as Hardhat spells a parameter on the command line. */
function flagOf(param: string): string {
  return `--${param.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Whether this process is the `hardhat` command running task `name` itself (not `hardhat test` calling it). */
function isCommandLineTask(name: string): boolean {
  return process.argv.slice(2).includes(name);
}

/** Errors worded for the user (ours, and Hardhat's own such as a bad flag); anything else keeps its stack. */
function isExpected(error: Error): boolean {
  return HardhatPluginError.isHardhatPluginError(error) || HardhatError.isHardhatError(error);
}

/** A task failure the user can act on, as a single sentence. */
export function fail(message: string, cause?: Error): HardhatPluginError {
  return new HardhatPluginError(PLUGIN, message, cause);
}

function asTaskError(error: unknown, hre: HardhatRuntimeEnvironment, account?: string): Error {
  if (error instanceof HardhatPluginError) return error;
  if (error instanceof UnitError || error instanceof DeploymentFileError) return fail(error.message, error);
  const network = hre.network.name;
  const unreachable = networkProblem(error, hre);
  if (unreachable) return fail(unreachable, error as Error);
  // ethers says INSUFFICIENT_FUNDS; a node that got a signed transaction (a configured key) says it in words.
  const message = error instanceof Error ? error.message : "";
  if ((error as { code?: string }).code === "INSUFFICIENT_FUNDS" || /insufficient funds|doesn't have enough funds/i.test(message)) {
    return fail(
      `${account ? `account ${account}` : "the account"} has not enough ETH on network ${network} to pay for gas: ` +
        `fund it, or pick another account with --from`,
      error instanceof Error ? error : undefined,
    );
  }
  const decoded = decodeContractError(error);
  if (decoded) return fail(`reverted: ${sentence(decoded)}`, decoded);
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Hardhat's "HH108: Cannot connect to the network" and "HH101: ... set to use chain id" as a sentence naming the URL
 * and the next step; undefined for any other error. The tasks and `npm run deploy` share it.
 */
export function networkProblem(error: unknown, hre: HardhatRuntimeEnvironment): string | undefined {
  if (!HardhatError.isHardhatError(error) || (error.number !== 108 && error.number !== 101)) return undefined;
  const network = hre.network.name;
  const url = (hre.network.config as { url?: string }).url;
  const where = url ? ` at ${redactUrl(url)}` : "";
  if (error.number === 101) {
    const actual = /connected to a chain with id (\d+)/.exec(error.message)?.[1] ?? "another chain";
    const variable = network === "remote" ? "TOM3_CHAIN_ID" : "the network's chainId in hardhat.config.ts";
    return (
      `network ${network}${where} is chain ${actual}, but ${variable} says ${hre.network.config.chainId}: ` +
      `point the URL at that chain, or correct ${variable}`
    );
  }
  const next =
    network === "localhost"
      ? "start one with `npx hardhat node` (another port: `--port <port>` and TOM3_LOCAL_RPC_URL=http://127.0.0.1:<port>)"
      : network === "remote"
        ? "check TOM3_RPC_URL and that the node is up"
        : "check the network's url in hardhat.config.ts";
  return `cannot reach network ${network}${where}: ${next}`;
}

/** A URL without path, query or credentials: RPC URLs often carry an API key. */
function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(an invalid URL)";
  }
}

function errorJson(error: Error): Record<string, unknown> {
  const parent = (error as HardhatPluginError).parent;
  const revert = parent instanceof Tom3ContractError ? parent.toJSON() : undefined;
  return { message: error.message, ...(revert ? { revert } : {}) };
}

function sentence(error: Tom3ContractError): string {
  return `${error.message} (${error.code})`;
}

// ------------------------------------------------------------------ context

export interface Tom3Contracts {
  token: ITOM3Token;
  registry: IProviderRegistry;
  certificates: ICertificateRegistry;
  market: IMarket;
  usage: IUsageLedger;
  governor?: IGovernor;
}

export interface Tom3Context {
  hre: HardhatRuntimeEnvironment;
  signer: HardhatEthersSigner;
  deployment: Tom3Deployment;
  contracts: Tom3Contracts;
  /** The governor, or a clear error on a deployment without governance. */
  governor(): IGovernor;
  /** Send a transaction; a revert becomes an error naming `Contract.method` and the decoded reason. */
  send(contract: Tom3ContractKey, method: string, call: () => Promise<ContractTransactionResponse>): Promise<SentTx>;
  /** A read whose revert is decoded like a transaction's. */
  read<T>(contract: Tom3ContractKey, method: string, call: () => Promise<T>): Promise<T>;
  /** Run an event query over every block since the deployment, in ranges a public node accepts. */
  scan<E>(query: (fromBlock: number, toBlock: number) => Promise<E[]>): Promise<E[]>;
  /** Timestamp of the latest block: "now" as the contracts see it. */
  now(): Promise<bigint>;
}

export interface SentTx {
  hash: string;
  blockNumber: number;
  gasUsed: bigint;
  /** Events of TOM3 contracts in the receipt, in log order. */
  events: { contract: string; name: string; args: Result }[];
  /** Arguments of the first `name` event of `contract`, typed by TypeChain; an error if there is none. */
  event<K extends keyof Tom3Contracts, N extends EventName<K>>(contract: K, name: N): EventArgs<K, N>;
}

type Filters<K extends keyof Tom3Contracts> = NonNullable<Tom3Contracts[K]>["filters"];
type EventName<K extends keyof Tom3Contracts> = keyof Filters<K> & string;
type EventArgs<K extends keyof Tom3Contracts, N extends EventName<K>> =
  Filters<K>[N] extends TypedContractEvent<infer _In, infer _Out, infer O> ? O : never;

async function createContext(hre: HardhatRuntimeEnvironment, from: string | undefined): Promise<Tom3Context> {
  const provider = hre.ethers.provider;
  const signer = await resolveSigner(hre, from);
  const { chainId } = await provider.getNetwork();
  // `||`: an empty variable (as .env.example leaves it) means the default.
  const dir = process.env.TOM3_DEPLOYMENTS_DIR || join(hre.config.paths.root, "deployments");
  const deployment = readDeployment(chainId, dir);
  await assertDeployed(hre, deployment, deploymentFile(chainId, dir));

  // Loaded here, not at the top: typechain-types/ exists only after the first compile.
  const typechain = await import("../typechain-types");
  const addresses = deployment.contracts;
  const contracts: Tom3Contracts = {
    token: typechain.ITOM3Token__factory.connect(addresses.token, signer),
    registry: typechain.IProviderRegistry__factory.connect(addresses.registry, signer),
    certificates: typechain.ICertificateRegistry__factory.connect(addresses.certificates, signer),
    market: typechain.IMarket__factory.connect(addresses.market, signer),
    usage: typechain.IUsageLedger__factory.connect(addresses.usage, signer),
    governor: addresses.governor ? typechain.IGovernor__factory.connect(addresses.governor, signer) : undefined,
  };

  // Logs are decoded with the ABI of the contract that emitted them.
  const interfaces = new Map<string, { name: string; iface: Interface }>();
  for (const [key, address] of Object.entries(addresses) as [Tom3ContractKey, string][]) {
    interfaces.set(address.toLowerCase(), { name: tom3ContractNames[key], iface: new Interface(tom3Abis[key]) });
  }

  const label = (contract: Tom3ContractKey, method: string): string => `${tom3ContractNames[contract]}.${method}`;
  const reverted = (error: unknown, contract: Tom3ContractKey, method: string): unknown => {
    const decoded = decodeContractError(error, { contract });
    return decoded ? fail(`${label(contract, method)} reverted: ${sentence(decoded)}`, decoded) : error;
  };

  const sentTx = (receipt: TransactionReceipt, what: string): SentTx => {
    const events: SentTx["events"] = [];
    for (const log of receipt.logs) {
      const source = interfaces.get(log.address.toLowerCase());
      const parsed = source?.iface.parseLog(log);
      if (source && parsed) events.push({ contract: source.name, name: parsed.name, args: parsed.args });
    }
    return {
      hash: receipt.hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      events,
      event<K extends keyof Tom3Contracts, N extends EventName<K>>(contract: K, name: N): EventArgs<K, N> {
        const found = events.find((e) => e.contract === tom3ContractNames[contract] && e.name === name);
        if (!found) throw fail(`${what} emitted no ${name} event (transaction ${receipt.hash})`);
        // A plain object by parameter name (on the Result itself, names like `values` would hit Array methods).
        return found.args.toObject(true) as EventArgs<K, N>;
      },
    };
  };

  return {
    hre,
    signer,
    deployment,
    contracts,
    governor() {
      if (!contracts.governor) {
        throw fail(
          `the deployment on chain ${chainId} has no governor: in the local variant the deployer owns the ` +
            `parameters and calls the setters directly`,
        );
      }
      return contracts.governor;
    },
    async send(contract, method, call) {
      let response: ContractTransactionResponse;
      try {
        response = await call();
      } catch (error) {
        throw reverted(error, contract, method);
      }
      let receipt: TransactionReceipt | null;
      try {
        receipt = await response.wait();
      } catch (error) {
        // Mined but reverted: the receipt has no revert data, so replay the call on the state before its block.
        throw reverted((await replay(hre, response, error)) ?? error, contract, method);
      }
      if (!receipt) throw fail(`${label(contract, method)}: transaction ${response.hash} was dropped`);
      return sentTx(receipt, label(contract, method));
    },
    async read(contract, method, call) {
      try {
        return await call();
      } catch (error) {
        throw reverted(error, contract, method);
      }
    },
    async scan(query) {
      const latest = await provider.getBlockNumber();
      const range = logRange();
      const found = [];
      for (let fromBlock = deployment.deployedAtBlock; fromBlock <= latest; fromBlock += range) {
        found.push(...(await query(fromBlock, Math.min(fromBlock + range - 1, latest))));
      }
      return found;
    },
    async now() {
      const block = await provider.getBlock("latest");
      if (!block) throw fail("the node returned no latest block");
      return BigInt(block.timestamp);
    },
  };
}

/** Blocks per eth_getLogs call: TOM3_LOG_RANGE, default 10000. */
function logRange(): number {
  const text = process.env.TOM3_LOG_RANGE || "10000";
  const range = Number(text);
  if (!Number.isSafeInteger(range) || range < 1) throw fail(`TOM3_LOG_RANGE: "${text}" is not a positive integer`);
  return range;
}

async function replay(
  hre: HardhatRuntimeEnvironment,
  tx: ContractTransactionResponse,
  error: unknown,
): Promise<unknown | undefined> {
  const receipt = (error as { receipt?: TransactionReceipt }).receipt;
  if (!receipt) return undefined;
  try {
    await hre.ethers.provider.call({
      from: tx.from,
      to: tx.to,
      data: tx.data,
      value: tx.value,
      blockTag: receipt.blockNumber - 1,
    });
    return undefined;
  } catch (replayed) {
    return replayed;
  }
}

async function resolveSigner(hre: HardhatRuntimeEnvironment, from: string | undefined): Promise<HardhatEthersSigner> {
  const signers = await hre.ethers.getSigners();
  const network = hre.network.name;
  if (from === undefined || /^\d+$/.test(from)) {
    const index = from === undefined ? 0 : Number(from);
    if (index >= signers.length) {
      const has =
        signers.length === 0 ? "no accounts" : `${signers.length} account${signers.length === 1 ? "" : "s"} (0..${signers.length - 1})`;
      const what = from === undefined ? `network ${network} has no accounts` : `--from ${from}: network ${network} has ${has}`;
      throw fail(`${what}; ${accountSources(hre)}`);
    }
    return signers[index];
  }
  if (!isAddress(from)) throw fail(`--from: "${from}" is neither an account index nor an address`);
  const signer = signers.find((s) => s.address.toLowerCase() === from.toLowerCase());
  if (signer) return signer;
  // The in-process network can act as any address (tests impersonate); a real node only signs for its accounts.
  if (network === "hardhat") return hre.ethers.getSigner(getAddress(from));
  throw fail(`--from ${from}: not one of network ${network}'s accounts; ${accountSources(hre)}`);
}

/** Where a network's accounts come from, and which variable adds more (see hardhat.config.ts). */
function accountSources(hre: HardhatRuntimeEnvironment): string {
  const network = hre.network.name;
  const configured = Array.isArray(hre.network.config.accounts);
  if (network === "localhost") {
    return configured
      ? "its accounts are TOM3_LOCAL_KEYS or TOM3_LOCAL_MNEMONIC: add keys there"
      : "these are the node's own unlocked accounts: set TOM3_LOCAL_KEYS=<key>,<key>,... or TOM3_LOCAL_MNEMONIC to use others";
  }
  if (network === "remote") {
    return (
      "account 0 is the deployer (TOM3_DEPLOYER_KEY or TOM3_KEYSTORE), the next ones come from " +
      "TOM3_KEYS=<key>,<key>,... or TOM3_MNEMONIC: add accounts there"
    );
  }
  if (network === "hardhat") return "the in-process network has Hardhat's default accounts";
  return "add accounts to the network in hardhat.config.ts";
}

async function assertDeployed(hre: HardhatRuntimeEnvironment, deployment: Tom3Deployment, file: string): Promise<void> {
  const missing = await contractsWithoutCode(deployment, (address) => hre.ethers.provider.getCode(address));
  if (missing.length === 0) return;
  if (hre.network.name === "hardhat") {
    // The usual cause: `--network localhost` left out. The record is most likely fine on the node it was made for.
    throw fail(
      `no TOM3 contract at the addresses of ${file} on Hardhat's in-process network, which a task uses without ` +
        "--network and which starts empty on every run: add `--network localhost` (the node at TOM3_LOCAL_RPC_URL, " +
        "default http://127.0.0.1:8545, where `npm run deploy -- --network localhost` puts the suite) or `--network remote`",
    );
  }
  throw fail(
    staleDeploymentMessage({
      source: file,
      chainId: deployment.chainId,
      network: hre.network.name,
      rpcUrl: (hre.network.config as { url?: string }).url,
      deploymentsDir: process.env.TOM3_DEPLOYMENTS_DIR || undefined,
      staleJournal: await refusedJournal(hre, deployment.chainId),
      missing,
    }),
  );
}

/**
 * The Ignition journal `npm run deploy` would refuse on this node (deploy/journal.ts): one of this chain id and
 * first block whose addresses hold no code, on a chain that is not a development one (there the deploy moves it
 * aside itself). Undefined when there is none.
 */
async function refusedJournal(hre: HardhatRuntimeEnvironment, chainId: number): Promise<string | undefined> {
  if (DEV_CHAIN_IDS.includes(chainId)) return undefined;
  const genesis = await hre.ethers.provider.getBlock(0);
  if (!genesis?.hash) return undefined;
  const ignitionDir = process.env.TOM3_IGNITION_DIR || hre.config.paths.ignition;
  for (const variant of ["local", "governed"] as const) {
    const dir = journalDir(ignitionDir, journalId(variant, chainId, genesis.hash));
    const recorded = Object.values(journalAddresses(dir));
    const codes = await Promise.all(recorded.map((address) => hre.ethers.provider.getCode(address)));
    if (recorded.length > 0 && codes.every((code) => code === "0x")) return dir;
  }
  return undefined;
}

// ------------------------------------------------------------------ flag parsing

/** A token amount flag: "10" (TOM3) or "10wei". */
export function amountFlag(flag: string, value: string): bigint {
  return parseTokenAmount(value, `--${flag}`);
}

/** An id flag (order, bid, charter, deployment, proposal): a positive integer. */
export function idFlag(flag: string, value: string): bigint {
  if (!/^\d+$/.test(value.trim()) || BigInt(value.trim()) === 0n) {
    throw fail(`--${flag}: "${value}" is not an id (a positive integer)`);
  }
  return BigInt(value.trim());
}

/** An address flag, checksummed. */
export function addressFlag(flag: string, value: string): string {
  if (!isAddress(value)) throw fail(`--${flag}: "${value}" is not an address`);
  return getAddress(value);
}

/** A duration flag: "30s", "1h30m", "2d", or plain seconds (unlike in a manifest, a bare number is accepted). */
export function secondsFlag(flag: string, value: string): number {
  return /^\d+$/.test(value.trim()) ? Number(value.trim()) : parseDurationSeconds(value, `--${flag}`);
}

/** A 32-byte hex flag (a deployment version, a hash). */
export function bytes32Flag(flag: string, value: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) throw fail(`--${flag}: "${value}" is not 32 bytes of hex (0x + 64 digits)`);
  return value.toLowerCase();
}

// ------------------------------------------------------------------ reports

/** A token amount (or, with `perSecond`, a price), printed as TOM3 or wei and given in wei in JSON. */
export class Tokens {
  constructor(
    readonly wei: bigint,
    readonly perSecond = false,
  ) {}
}

/** A unix time, printed as UTC and given in seconds in JSON. */
export class Time {
  constructor(readonly seconds: bigint) {}
}

/** A value printed as `text` and given as `json` in JSON (say, resources: a sentence, or their four numbers). */
export class Shown {
  constructor(
    readonly json: string | number | boolean | Record<string, number>,
    readonly text: string,
  ) {}
}

export const tokens = (wei: bigint): Tokens => new Tokens(wei);
export const price = (wei: bigint): Tokens => new Tokens(wei, true);
export const time = (seconds: bigint | number): Time => new Time(BigInt(seconds));
/** A duration: "3600 s", a number of seconds in JSON. */
export const seconds = (value: bigint | number): Shown => new Shown(Number(value), `${value} s`);
/** Resources in on-chain units: "cpu 500m, memory 256Mi, ...", the four numbers in JSON. */
export const resources = (value: { [K in keyof Resources]: number | bigint }): Shown =>
  new Shown(
    {
      cpuMillis: Number(value.cpuMillis),
      memoryMiB: Number(value.memoryMiB),
      storageMiB: Number(value.storageMiB),
      bandwidthMbps: Number(value.bandwidthMbps),
    },
    formatResources(value),
  );

export type Fact =
  string | number | bigint | boolean | null | undefined | Tokens | Time | Shown | Fact[] | { [key: string]: Fact };
/** A task's result: facts by camelCase key, printed one per line ("orderId" → "order id: 3"). */
export type Report = { [key: string]: Fact };

/** The facts of a transaction. */
export function txFacts(tx: SentTx): Report {
  return { tx: tx.hash, block: tx.blockNumber, gasUsed: tx.gasUsed };
}

/** JSON form: bigints and amounts in wei as decimal strings, times as unix seconds, undefined dropped. */
export function toJson(fact: Fact): unknown {
  if (typeof fact === "bigint") return fact.toString();
  if (fact instanceof Tokens) return fact.wei.toString();
  if (fact instanceof Time) return Number(fact.seconds);
  if (fact instanceof Shown) return fact.json;
  if (Array.isArray(fact)) return fact.map(toJson);
  if (fact !== null && typeof fact === "object") {
    return Object.fromEntries(
      Object.entries(fact)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => [key, toJson(value)]),
    );
  }
  return fact;
}

/** One line per fact; a list of records prints one indented line per record. */
export function formatReport(report: Report): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(report)) {
    if (value === undefined) continue;
    if (Array.isArray(value) && value.every(isRecord)) {
      lines.push(`${words(key)}: ${value.length}`);
      for (const item of value) lines.push(`  ${formatInline(item as Report)}`);
    } else {
      lines.push(`${words(key)}: ${formatValue(value)}`);
    }
  }
  return lines.join("\n");
}

function formatInline(record: Report): string {
  return Object.entries(record)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${words(key)} ${formatValue(value)}`)
    .join(", ");
}

function formatValue(value: Fact): string {
  if (value instanceof Tokens) return `${formatTokens(value.wei)}${value.perSecond ? "/s" : ""}`;
  if (value instanceof Shown) return value.text;
  if (value instanceof Time) {
    return value.seconds === 0n ? "never" : formatTime(value.seconds);
  }
  if (Array.isArray(value)) return value.length === 0 ? "none" : value.map(formatValue).join(", ");
  if (isRecord(value)) return `{ ${formatInline(value as Report)} }`;
  return String(value);
}

function isRecord(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Tokens) &&
    !(value instanceof Time) &&
    !(value instanceof Shown)
  );
}

/** "gasUsed" → "gas used". */
function words(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}
