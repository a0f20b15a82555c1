/**
 * A real local chain for integration and end-to-end tests: a `hardhat node` child process on a free port, with the
 * TOM3 suite deployed by `scripts/deploy.ts` (the same script as on a real network) into a temporary directory.
 *
 *   const chain = await startLocalChain();
 *   // chain.rpcUrl, chain.deployment, chain.deploymentsDir, chain.accounts[i].privateKey
 *   await chain.stop();
 *
 * The node runs in its own process group, so `stop()` ends it and everything it started; the temporary directory
 * (addresses file and Ignition journal) goes with it. A failed start cleans up the same way before throwing.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { HDNodeWallet, JsonRpcProvider, Mnemonic } from "ethers";
import { readDeployment } from "../../offchain/chain/addresses";
import type { Tom3Deployment } from "../../offchain/chain/deployment";

export const REPO_ROOT = resolve(__dirname, "..", "..");
/** Hardhat's default accounts: `hardhat node` funds the first 20 with 10000 ETH each. */
export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
const HARDHAT_CLI = join(REPO_ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
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
  /** What the node and the deployment printed (for a failing test's message). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartLocalChainOptions {
  /** Give up on start-up after this long (default 60 s). */
  timeoutMs?: number;
}

/** Start a node, deploy the suite, and return its coordinates. */
export async function startLocalChain(options: StartLocalChainOptions = {}): Promise<LocalChain> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const dir = mkdtempSync(join(tmpdir(), "tom3-chain-"));
  const deploymentsDir = join(dir, "deployments");
  const log: string[] = [];
  let node: ChildProcess | undefined;

  const stop = async (): Promise<void> => {
    if (node) await killGroup(node);
    node = undefined;
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const port = await freePort();
    const rpcUrl = `http://127.0.0.1:${port}`;
    node = spawn(process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0" },
    });
    collect(node, log);
    await waitForRpc(rpcUrl, node, deadline, log);

    await run(
      process.execPath,
      [HARDHAT_CLI, "run", "scripts/deploy.ts", "--network", "localhost", "--no-compile"],
      {
        ...process.env,
        TOM3_LOCAL_RPC_URL: rpcUrl,
        TOM3_DEPLOYMENTS_DIR: deploymentsDir,
        TOM3_IGNITION_DIR: join(dir, "ignition"),
        TOM3_GOVERNED: "",
        FORCE_COLOR: "0",
      },
      deadline,
      log,
    );
    const deployment = readDeployment(CHAIN_ID, deploymentsDir);
    return {
      rpcUrl,
      chainId: CHAIN_ID,
      deployment,
      deploymentsDir,
      accounts: hardhatAccounts(20),
      output: () => log.join(""),
      stop,
    };
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`local chain did not start: ${message}\n${log.join("").slice(-4000)}`, { cause: error });
  }
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

function collect(child: ChildProcess, log: string[]): void {
  child.stdout?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
}

async function waitForRpc(rpcUrl: string, node: ChildProcess, deadline: number, log: string[]): Promise<void> {
  let exited: number | null | undefined;
  node.once("exit", (code) => (exited = code));
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`hardhat node exited with code ${exited}`);
    try {
      const response = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  log.push(`\n(no JSON-RPC answer at ${rpcUrl})\n`);
  throw new Error(`no JSON-RPC answer at ${rpcUrl} in time`);
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  deadline: number,
  log: string[],
): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    collect(child, log);
    const timer = setTimeout(
      () => {
        void killGroup(child);
        reject(new Error(`${args.slice(1, 3).join(" ")} timed out`));
      },
      Math.max(0, deadline - Date.now()),
    );
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRun();
      else reject(new Error(`${args.slice(1, 3).join(" ")} exited with code ${code}`));
    });
  });
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
