/**
 * `npm run demo -- --network <name>`: the chain, the suite and the accounts of a configured network instead of the
 * embedded chain. Everything a user can get wrong fails here, before anything is sent, with what to do about it:
 * an unknown network, a node that does not answer, a chain without a deployment record (or a stale one), no keys for
 * the demo's accounts, accounts without funds.
 *
 * Where things come from:
 * - the network: `hardhat.config.ts` (`localhost` takes TOM3_LOCAL_RPC_URL, `remote` appears with TOM3_RPC_URL);
 * - the suite: `<TOM3_DEPLOYMENTS_DIR or deployments/>/<chainId>.json`, written by `npm run deploy`;
 * - the tenant and the three providers (the daemons need their private keys): TOM3_DEMO_KEYS
 *   (`<tenant>,<alpha>,<bravo>,<charlie>`), or accounts 1-4 of TOM3_DEMO_MNEMONIC, or of the network's own HD
 *   mnemonic, or keys 1-4 of its `accounts` list;
 * - the funder, who tops the four up with TOM3 when they hold too little: the network's first account (its
 *   TOM3_DEPLOYER_KEY or TOM3_KEYSTORE), else account 0 of TOM3_DEMO_MNEMONIC, else the node's first unlocked
 *   account (`hardhat node`). Gas (ETH) is never sent for the user: an account without it is an error.
 */
import {
  Contract,
  HDNodeWallet,
  JsonRpcProvider,
  JsonRpcSigner,
  Mnemonic,
  Wallet,
  formatEther,
  getAddress,
  type Signer,
} from "ethers";
import { DEFAULT_DEPLOYMENTS_DIR, DeploymentFileError, deploymentFile, readDeployment } from "../offchain/chain/addresses";
import { contractsWithoutCode, deployCommand, staleDeploymentMessage, type Tom3Deployment } from "../offchain/chain/deployment";
import { tom3TokenAbi } from "../offchain/chain/abis";
import { formatTokenAmount } from "../offchain/chain/units";

/** The demo's accounts besides the funder, in this order. */
export const DEMO_ROLES = ["tenant", "alpha", "bravo", "charlie"] as const;

/** What `--network` needs from a Hardhat network entry (`hre.config.networks[name]`). */
export interface NetworkEntry {
  url?: string;
  chainId?: number;
  accounts?: unknown;
}

/** A `--network` problem the user can fix: the message says how. */
export class DemoNetworkError extends Error {
  override readonly name = "DemoNetworkError";
}

export interface DemoNetwork {
  name: string;
  rpcUrl: string;
  chainId: number;
  deployment: Tom3Deployment;
  deploymentsDir: string;
  /** Private keys of the tenant, alpha, bravo and charlie. */
  keys: string[];
  /** Tops the others up with TOM3; undefined when none is configured. */
  funder: Funder | undefined;
}

/** A key we hold, or an account the node holds unlocked (`hardhat node`). */
export type Funder = { kind: "key"; wallet: Wallet | HDNodeWallet } | { kind: "unlocked"; address: string };

export interface ConnectNetworkOptions {
  /** Hardhat's resolved networks (`hre.config.networks`). */
  networks: Record<string, NetworkEntry>;
  env?: NodeJS.ProcessEnv;
  /** Time limit of the reachability check (default 5 s). */
  timeoutMs?: number;
}

/** The configured network `name`, checked: answers, holds the suite, and gives four keys. */
export async function connectNetwork(name: string, options: ConnectNetworkOptions): Promise<DemoNetwork> {
  const env = options.env ?? process.env;
  const entry = options.networks[name];
  if (!entry) {
    const known = Object.keys(options.networks).filter((n) => n !== "hardhat");
    throw new DemoNetworkError(
      `unknown network "${name}": hardhat.config.ts defines ${known.map((n) => `"${n}"`).join(", ") || "none"} ` +
        '(a network "remote" appears when TOM3_RPC_URL is set, see .env.example)',
    );
  }
  if (entry.url === "") {
    const variable = name === "localhost" ? "TOM3_LOCAL_RPC_URL" : name === "remote" ? "TOM3_RPC_URL" : undefined;
    throw new DemoNetworkError(
      `network "${name}" has an empty URL${variable ? `: ${variable} is set but empty (in .env?)` : " in hardhat.config.ts"}; ` +
        (name === "localhost"
          ? "set TOM3_LOCAL_RPC_URL=http://127.0.0.1:<port> to the node's address, or delete the line to use http://127.0.0.1:8545"
          : `set ${variable ?? "its url"} to the node's JSON-RPC URL`),
    );
  }
  if (!entry.url) {
    throw new DemoNetworkError(
      `network "${name}" is Hardhat's in-process chain, which the provider daemons (separate processes) cannot reach: ` +
        "run `npm run demo` without --network for an embedded chain, or start `npx hardhat node` and use --network localhost",
    );
  }
  const where = redact(entry.url);
  const chainId = await rpcChainId(entry.url, options.timeoutMs ?? 5000).catch((error: unknown) => {
    const hint =
      name === "localhost"
        ? "start one that makes blocks by itself, `npx anvil --port <port> --block-time 1`, set " +
          "TOM3_LOCAL_RPC_URL=http://127.0.0.1:<port> and deploy the suite there (`npm run deploy -- --network localhost`)"
        : "check the RPC URL (TOM3_RPC_URL for `remote`) and that the node is up";
    throw new DemoNetworkError(`network "${name}" at ${where} is not reachable (${(error as Error).message}): ${hint}`, { cause: error });
  });
  if (entry.chainId !== undefined && entry.chainId !== chainId) {
    throw new DemoNetworkError(`network "${name}" at ${where} is chain ${chainId}, but hardhat.config.ts expects chain ${entry.chainId}`);
  }

  const deploymentsDir = env.TOM3_DEPLOYMENTS_DIR || DEFAULT_DEPLOYMENTS_DIR;
  let deployment: Tom3Deployment;
  try {
    deployment = readDeployment(chainId, deploymentsDir);
  } catch (error) {
    if (!(error instanceof DeploymentFileError)) throw error;
    throw new DemoNetworkError(
      `no usable TOM3 deployment record for chain ${chainId} (${error.message}): deploy the suite first with ` +
        `\`${deployCommand({ chainId, network: name, rpcUrl: entry.url, deploymentsDir: env.TOM3_DEPLOYMENTS_DIR || undefined })}\``,
      { cause: error },
    );
  }
  const rpc = new JsonRpcProvider(entry.url, chainId, { staticNetwork: true });
  try {
    const missing = await contractsWithoutCode(deployment, (address) => rpc.getCode(address));
    if (missing.length > 0) {
      throw new DemoNetworkError(
        staleDeploymentMessage({
          source: deploymentFile(chainId, deploymentsDir),
          chainId,
          network: name,
          rpcUrl: entry.url,
          deploymentsDir: env.TOM3_DEPLOYMENTS_DIR || undefined,
          missing,
        }),
      );
    }
    const keys = demoKeys(name, entry, env);
    const funder = await funderOf(entry, env, rpc);
    return { name, rpcUrl: entry.url, chainId, deployment, deploymentsDir, keys, funder };
  } finally {
    rpc.destroy();
  }
}

/** The four private keys of the demo's accounts (see the file header for the order of the sources). */
export function demoKeys(name: string, entry: NetworkEntry, env: NodeJS.ProcessEnv): string[] {
  if (env.TOM3_DEMO_KEYS) {
    const keys = env.TOM3_DEMO_KEYS.split(",").map((k) => k.trim());
    if (keys.length !== DEMO_ROLES.length) {
      throw new DemoNetworkError(`TOM3_DEMO_KEYS holds ${keys.length} key(s); it needs ${DEMO_ROLES.length}: ${DEMO_ROLES.join(",")}`);
    }
    return keys.map((key, i) => {
      try {
        return new Wallet(key).privateKey;
      } catch {
        throw new DemoNetworkError(`TOM3_DEMO_KEYS item ${i + 1} (${DEMO_ROLES[i]}) is not a private key (0x + 64 hex digits)`);
      }
    });
  }
  const mnemonic = env.TOM3_DEMO_MNEMONIC ?? hdMnemonic(entry.accounts);
  if (mnemonic) return DEMO_ROLES.map((_, i) => fromMnemonic(mnemonic, i + 1, "TOM3_DEMO_MNEMONIC").privateKey);
  if (Array.isArray(entry.accounts) && entry.accounts.length > DEMO_ROLES.length) {
    return (entry.accounts as string[]).slice(1, 1 + DEMO_ROLES.length);
  }
  throw new DemoNetworkError(
    `--network ${name} needs the keys of four accounts (the tenant and three providers, whose daemons sign): set ` +
      `TOM3_DEMO_MNEMONIC (its accounts 1-4 are used) or TOM3_DEMO_KEYS=<tenant>,<alpha>,<bravo>,<charlie>`,
  );
}

async function funderOf(entry: NetworkEntry, env: NodeJS.ProcessEnv, rpc: JsonRpcProvider): Promise<Funder | undefined> {
  if (Array.isArray(entry.accounts) && entry.accounts.length > 0) return { kind: "key", wallet: new Wallet(entry.accounts[0] as string) };
  const mnemonic = hdMnemonic(entry.accounts) ?? env.TOM3_DEMO_MNEMONIC;
  if (mnemonic) return { kind: "key", wallet: fromMnemonic(mnemonic, 0, "TOM3_DEMO_MNEMONIC") };
  // "remote": the node's own unlocked accounts (a `hardhat node` has twenty).
  const unlocked = (await rpc.send("eth_accounts", []).catch(() => [])) as string[];
  return unlocked.length > 0 ? { kind: "unlocked", address: getAddress(unlocked[0]) } : undefined;
}

function hdMnemonic(accounts: unknown): string | undefined {
  const mnemonic = (accounts as { mnemonic?: unknown } | undefined)?.mnemonic;
  return typeof mnemonic === "string" && mnemonic !== "" ? mnemonic : undefined;
}

function fromMnemonic(phrase: string, index: number, source: string): HDNodeWallet {
  try {
    return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(phrase), `m/44'/60'/0'/0/${index}`);
  } catch (error) {
    throw new DemoNetworkError(`${source} is not a valid BIP-39 mnemonic (${(error as Error).message})`, { cause: error });
  }
}

/** The URL without path, query or credentials: RPC URLs often carry an API key. */
export function redact(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(an invalid URL)";
  }
}

async function rpcChainId(url: string, timeoutMs: number): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((error: unknown) => {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(cause ?? (error as Error).message);
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const body = (await response.json()) as { result?: string; error?: { message: string } };
  if (!body.result) throw new Error(body.error?.message ?? "no chain id in the answer");
  return Number(BigInt(body.result));
}

export interface FundingPlan {
  /** Gas each account should hold (in gas units; priced at the node's current fee). */
  gasPerAccount: bigint;
  /** TOM3 (wei) each role should hold; the funder tops up what is missing. */
  tom3: Record<(typeof DEMO_ROLES)[number], bigint>;
}

/**
 * Checks that every demo account can pay its gas and that the funder covers the TOM3 top-ups, then makes them.
 * One error lists every account that falls short.
 */
export async function fundDemoAccounts(options: {
  network: string;
  rpc: JsonRpcProvider;
  token: string;
  accounts: { role: string; address: string }[];
  funder: Funder | undefined;
  plan: FundingPlan;
  log: (line: string) => void;
}): Promise<void> {
  const { rpc, plan } = options;
  const fee = await rpc.getFeeData();
  const gasPrice = fee.maxFeePerGas ?? fee.gasPrice ?? 1_000_000_000n;
  const gasNeeded = plan.gasPerAccount * gasPrice;
  const token = new Contract(options.token, tom3TokenAbi, rpc);
  const problems: string[] = [];
  const topUps: { role: string; address: string; amount: bigint }[] = [];
  for (const a of options.accounts) {
    const eth = await rpc.getBalance(a.address);
    if (eth < gasNeeded) {
      problems.push(`${a.role} ${a.address} holds ${ethAmount(eth)} ETH; it needs about ${ethAmount(gasNeeded)} ETH for gas`);
    }
    const held = (await token.balanceOf(a.address)) as bigint;
    const wanted = plan.tom3[a.role as keyof FundingPlan["tom3"]] ?? 0n;
    if (held < wanted) topUps.push({ role: a.role, address: a.address, amount: wanted - held });
  }
  const total = topUps.reduce((s, t) => s + t.amount, 0n);
  const funderAddress = options.funder && (options.funder.kind === "key" ? options.funder.wallet.address : options.funder.address);
  if (total > 0n) {
    const short = topUps.map((t) => `${t.role} needs ${formatTokenAmount(t.amount)} more`).join(", ");
    if (!funderAddress) {
      problems.push(`${short}, and no funder is configured (TOM3_DEPLOYER_KEY / TOM3_KEYSTORE, or TOM3_DEMO_MNEMONIC)`);
    } else {
      const has = (await token.balanceOf(funderAddress)) as bigint;
      if (has < total) problems.push(`${short}; the funder ${funderAddress} holds only ${formatTokenAmount(has)}`);
      const eth = await rpc.getBalance(funderAddress);
      if (eth < gasNeeded) problems.push(`the funder ${funderAddress} holds ${ethAmount(eth)} ETH; it needs about ${ethAmount(gasNeeded)} ETH for gas`);
    }
  }
  if (problems.length > 0) {
    throw new DemoNetworkError(`the demo's accounts on "${options.network}" lack funds:\n  - ${problems.join("\n  - ")}`);
  }
  if (topUps.length === 0) {
    options.log("every account already holds enough TOM3 and gas");
    return;
  }
  const signer = funderSigner(options.funder!, rpc);
  const funded = new Contract(options.token, tom3TokenAbi, signer);
  for (const t of topUps) {
    await (await funded.transfer(t.address, t.amount)).wait();
    options.log(`${t.role} ${t.address}: +${formatTokenAmount(t.amount)} from ${funderAddress}`);
  }
}

/** Wei as ETH without ethers' trailing ".0": "0", "10000", "0.003". */
function ethAmount(wei: bigint): string {
  return formatEther(wei).replace(/\.0$/, "");
}

/** The funder as a signer on `rpc`. */
export function funderSigner(funder: Funder, rpc: JsonRpcProvider): Signer {
  return funder.kind === "key" ? funder.wallet.connect(rpc) : new JsonRpcSigner(rpc, funder.address);
}
