/**
 * A real local chain for integration and end-to-end tests: a `hardhat node` child process on a free port, with the
 * TOM3 suite deployed by `scripts/deploy.ts` (the same script as on a real network) into a temporary directory.
 *
 *   const chain = await startLocalChain();
 *   // chain.rpcUrl, chain.deployment, chain.deploymentsDir, chain.accounts[i].privateKey
 *   await chain.stop();
 *
 * The node runs in its own process group, so `stop()` ends it and everything it started; the temporary directory
 * (addresses file and Ignition journal) goes with it. A failed start cleans up the same way before throwing, with
 * the failing step's own error line first and a few lines of its output after it. Nothing a node prints is echoed:
 * its output goes to `output()` and to a log file, without the "Private Key" lines of a `hardhat node`'s banner.
 *
 * `startNode` (a bare `hardhat node` or anvil), `compileContracts` and `deploySuite` are the steps on their own.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { HDNodeWallet, JsonRpcProvider, Mnemonic } from "ethers";
import { readDeployment } from "../../offchain/chain/addresses";
import type { Tom3Deployment } from "../../offchain/chain/deployment";
import { requestChainId } from "../../offchain/chain/rpc";

export const REPO_ROOT = resolve(__dirname, "..", "..");
/** Hardhat's default accounts: `hardhat node` funds the first 20 with 10000 ETH each. */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
export const HARDHAT_CLI = join(REPO_ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
/** `npx anvil` (the npm package's launcher; it runs the platform's binary). */
const ANVIL_BIN = join(REPO_ROOT, "node_modules", "@foundry-rs", "anvil", "bin.mjs");
const CHAIN_ID = 31337;

export interface LocalChainAccount {
  address: string;
  privateKey: string;
}

export interface LocalChain {
  rpcUrl: string;
  chainId: number;
  deployment: Tom3Deployment;
  /** Holds `<chainId>.json`: pass as `TOM3_DEPLOYMENTS_DIR` or `deploymentsDir`. */
  deploymentsDir: string;
  /** The node's funded accounts; account 0 deployed the suite and holds the whole TOM3 supply. */
  accounts: LocalChainAccount[];
  /** The node's log file, when a `logDir` was given. */
  logFile: string | undefined;
  /** What the node printed ("Private Key" lines left out). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartLocalChainOptions {
  /** Give up on start-up after this long (default 60 s). */
  timeoutMs?: number;
  /** Run `hardhat compile` first (what changed only): a fresh clone has no artifacts. Tests compile before. */
  compile?: boolean;
  /** Keep the logs here (compile.log, chain.log, deploy.log) instead of the temporary directory `stop()` removes. */
  logDir?: string;
  /** Extra environment of the deploy (TOM3_PARAMETERS, ...). */
  deployEnv?: NodeJS.ProcessEnv;
}

/** Start a node, deploy the suite, and return its coordinates. */
export async function startLocalChain(options: StartLocalChainOptions = {}): Promise<LocalChain> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const dir = mkdtempSync(join(tmpdir(), "tom3-chain-"));
  const deploymentsDir = join(dir, "deployments");
  const logDir = options.logDir ?? dir;
  let node: RunningNode | undefined;

  const stop = async (): Promise<void> => {
    await node?.stop();
    node = undefined;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    if (options.compile) await compileContracts({ logFile: join(logDir, "compile.log"), deadline });
    node = await startNode({ kind: "hardhat", logFile: join(logDir, "chain.log"), timeoutMs: Math.max(1000, deadline - Date.now()) });
    await deploySuite({
      rpcUrl: node.rpcUrl,
      deploymentsDir,
      ignitionDir: join(dir, "ignition"),
      logFile: join(logDir, "deploy.log"),
      env: options.deployEnv,
      deadline,
    });
    const deployment = readDeployment(CHAIN_ID, deploymentsDir);
    const running = node;
    return {
      rpcUrl: running.rpcUrl,
      chainId: CHAIN_ID,
      deployment,
      deploymentsDir,
      accounts: hardhatAccounts(20),
      logFile: running.logFile,
      output: () => running.output(),
      stop,
    };
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`local chain did not start: ${message}`, { cause: error });
  }
}

/** A node process: `hardhat node` or anvil, on a free port of 127.0.0.1, in its own process group. */
export interface RunningNode {
  rpcUrl: string;
  /** Where the node's output goes ("Private Key" lines left out). */
  logFile: string | undefined;
  /** The node's output so far ("Private Key" lines left out). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  kind?: "hardhat" | "anvil";
  /** Extra arguments (anvil: `--timestamp`, `--chain-id`...). */
  args?: string[];
  logFile?: string;
  timeoutMs?: number;
}

/** Start a node and wait until it answers JSON-RPC. */
export async function startNode(options: StartNodeOptions = {}): Promise<RunningNode> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const [command, args] =
    options.kind === "anvil"
      ? [process.execPath, [ANVIL_BIN, "--host", "127.0.0.1", "--port", String(port), ...(options.args ?? [])]]
      : [process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port), ...(options.args ?? [])]];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  const log = new ProcessLog(options.logFile);
  log.follow(child);
  const node: RunningNode = { rpcUrl, logFile: options.logFile, output: () => log.text(), stop: () => killGroup(child) };
  try {
    await waitForRpc(rpcUrl, child, deadline);
  } catch (error) {
    await node.stop();
    const tail = log.tail(8);
    throw new Error(`${(error as Error).message}${options.logFile ? ` (its log: ${options.logFile})` : ""}${tail ? `\n${tail}` : ""}`, { cause: error });
  }
  return node;
}

/**
 * `npx hardhat compile`: Hardhat compiles what changed (nothing when the artifacts are current) and regenerates
 * what compiling produces (typechain-types/, offchain/chain/abis.ts). A failure names the first compiler error.
 */
export async function compileContracts(options: { logFile?: string; deadline?: number } = {}): Promise<string> {
  const output = await runStep("the contracts did not compile (`npx hardhat compile`)", process.execPath, [HARDHAT_CLI, "compile"], {
    env: { ...process.env, FORCE_COLOR: "0" },
    deadline: options.deadline ?? Date.now() + 600_000,
    logFile: options.logFile,
    tailLines: 8,
    cause: compilerError,
  });
  const summary = output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(Nothing to compile|Compiled \d+|Successfully generated|No need to generate|Unchanged:|Wrote )/.test(l))
    .map((l) => l.replace(/[.!]+$/, ""));
  return summary.join("; ") || "compiled";
}

export interface DeploySuiteOptions {
  rpcUrl: string;
  deploymentsDir: string;
  ignitionDir: string;
  /** Extra environment (TOM3_GOVERNED, TOM3_RPC_URL and TOM3_DEPLOYER_KEY for `remote`...). */
  env?: NodeJS.ProcessEnv;
  /** `localhost` (default; TOM3_LOCAL_RPC_URL is set to rpcUrl) or `remote`. */
  network?: string;
  logFile?: string;
  deadline?: number;
}

/**
 * `npm run deploy -- --network localhost --no-compile` (scripts/deploy.ts) against `rpcUrl`, with its addresses file
 * and Ignition journal in the given directories. Resolves with its output; a failure names the deploy's own error.
 */
export function deploySuite(options: DeploySuiteOptions): Promise<string> {
  const network = options.network ?? "localhost";
  return runStep(
    "the deployment (scripts/deploy.ts) failed",
    process.execPath,
    [HARDHAT_CLI, "run", "scripts/deploy.ts", "--network", network, "--no-compile"],
    {
      env: {
        ...process.env,
        TOM3_GOVERNED: "",
        ...(network === "localhost" ? { TOM3_LOCAL_RPC_URL: options.rpcUrl } : {}),
        ...options.env,
        TOM3_DEPLOYMENTS_DIR: options.deploymentsDir,
        TOM3_IGNITION_DIR: options.ignitionDir,
        FORCE_COLOR: "0",
      },
      deadline: options.deadline ?? Date.now() + 120_000,
      logFile: options.logFile,
      tailLines: 6,
    },
  );
}

/** The node's first `count` accounts. */
export function hardhatAccounts(count: number): LocalChainAccount[] {
  const mnemonic = Mnemonic.fromPhrase(HARDHAT_MNEMONIC);
  return Array.from({ length: count }, (_, i) => {
    const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    return { address: wallet.address, privateKey: wallet.privateKey };
  });
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * A child's output, line by line: kept in memory and appended to a file, without "Private Key" lines (a `hardhat
 * node` prints its accounts' keys at start) and without colour codes.
 */
export class ProcessLog {
  private readonly lines: string[] = [];
  private partial = "";

  constructor(readonly file?: string) {
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, "");
    }
  }

  follow(child: ChildProcess): void {
    child.stdout?.on("data", (chunk: Buffer) => this.write(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => this.write(chunk.toString()));
    child.once("exit", () => this.flush());
  }

  write(text: string): void {
    const parts = (this.partial + text).split("\n");
    this.partial = parts.pop() ?? "";
    this.add(parts);
  }

  flush(): void {
    if (this.partial) this.add([this.partial]);
    this.partial = "";
  }

  text(): string {
    return this.lines.map((l) => `${l}\n`).join("") + this.partial;
  }

  /** The last `n` non-empty lines, indented, without the account banner of a `hardhat node`. */
  tail(n: number, without?: string): string {
    this.flush();
    return this.lines
      .filter((l) => l.trim() !== "" && l.trim() !== without && !BANNER.test(l) && !STACK.test(l))
      .slice(-n)
      .map((l) => `    | ${l}`)
      .join("\n");
  }

  private add(lines: string[]): void {
    const kept = lines.map((l) => l.replace(ANSI, "")).filter((l) => !PRIVATE_KEY.test(l));
    this.lines.push(...kept);
    if (this.file && kept.length > 0) appendFileSync(this.file, kept.map((l) => `${l}\n`).join(""));
  }
}

const ANSI = /\x1b\[[0-9;]*m/g;
const PRIVATE_KEY = /private key/i;
/** Stack frames and the error they belong to: Hardhat prints them when it believes it runs in CI. */
const STACK = /^\s+at |^HardhatError: /;
const BANNER = /^(Account #\d+:|Accounts$|========|WARNING: These accounts|Any funds sent to them)/;

async function waitForRpc(rpcUrl: string, node: ChildProcess, deadline: number): Promise<void> {
  let exited: number | null | undefined;
  node.once("exit", (code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`the node exited with code ${exited} before answering at ${rpcUrl}`);
    try {
      await requestChainId(rpcUrl, 1000);
      return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no JSON-RPC answer at ${rpcUrl} in time`);
}

/**
 * Run a child to its end. On a non-zero exit the error is `<what>: <the child's own error line>`, then the last
 * `tailLines` lines of its output ("Private Key" lines left out) and where its log is.
 */
function runStep(
  what: string,
  command: string,
  args: string[],
  options: {
    env: NodeJS.ProcessEnv;
    deadline: number;
    logFile?: string;
    tailLines: number;
    /** The failure's own line in the output, when the default (`errorLine`) does not find it. */
    cause?: (output: string) => string | undefined;
  },
): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const log = new ProcessLog(options.logFile);
    const child = spawn(command, args, { cwd: REPO_ROOT, env: options.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    log.follow(child);
    const fail = (cause: string) => {
      const tail = log.tail(options.tailLines, cause);
      const where = options.logFile ? `\n    (whole output: ${options.logFile})` : "";
      reject(new Error(`${what}: ${cause}${tail ? `\n${tail}` : ""}${where}`));
    };
    const timer = setTimeout(
      () => {
        void killGroup(child);
        fail(`no result in time`);
      },
      Math.max(0, options.deadline - Date.now()),
    );
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      log.flush();
      if (code === 0) resolveRun(log.text());
      else fail(options.cause?.(log.text()) ?? errorLine(log.text()) ?? `exited with code ${code}`);
    });
  });
}

/** The compiler's first error and where it is: "contracts/Market.sol:197:9: DeclarationError: Undeclared identifier." */
export function compilerError(output: string): string | undefined {
  const lines = output.split("\n");
  const i = lines.findIndex((l) => /^\w*Error: /.test(l) && !/^HardhatError: /.test(l));
  if (i === -1) return undefined;
  const at = /^\s*-->\s*(.+?):?\s*$/.exec(lines[i + 1] ?? "")?.[1];
  return `${at ? `${at}: ` : ""}${lines[i].trim()}`;
}

/** The line of a child's output that names its failure: a `deploy failed:` / `Error HH...` line, else the last one. */
export function errorLine(output: string): string | undefined {
  const lines = output.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !/^For more info go to/.test(l));
  const named = lines.filter((l) => /^(deploy failed: |Error HH\d+|Error: |\w*Error: )/.test(l)).pop();
  const line = named ?? lines.pop();
  return line?.replace(/^deploy failed: /, "").replace(/^Error (HH\d+)/, "$1");
}

/** SIGTERM the child's process group, SIGKILL it if it lingers. */
async function killGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // Already gone.
    }
  };
  signal("SIGTERM");
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000).unref());
  if ((await Promise.race([exited, timeout])) === "timeout") {
    signal("SIGKILL");
    await exited;
  }
}

/** A provider polling fast enough for tests. */
export function testProvider(rpcUrl: string): JsonRpcProvider {
  const provider = new JsonRpcProvider(rpcUrl, CHAIN_ID, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 100;
  return provider;
}
