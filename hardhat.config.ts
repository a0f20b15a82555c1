/**
 * Hardhat configuration for TOM3.
 *
 * The Solidity compiler comes from the pinned `solc` npm package (solcjs): Hardhat never downloads a compiler,
 * so builds work offline and are reproducible. Networks and their accounts are configured from the environment
 * or `.env` (see `.env.example` and the README's "Configuration"); nothing secret lives in this file.
 */
import { readFileSync } from "node:fs";
import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import { HardhatPluginError } from "hardhat/plugins";
import type { HardhatUserConfig, NetworkUserConfig } from "hardhat/types";
import "@nomicfoundation/hardhat-toolbox";
import { loadDotEnv } from "./offchain/env";
import "./tasks";
import { registeredTom3Tasks } from "./tasks/lib";

const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solcPackageVersion: string = require("solc/package.json").version;
  if (args.solcVersion !== SOLC_VERSION || solcPackageVersion !== SOLC_VERSION) {
    throw new Error(
      `TOM3 compiles offline with solc ${SOLC_VERSION} from npm only; requested ${args.solcVersion}, ` +
        `installed solc package ${solcPackageVersion}. Pin both to the same version.`,
    );
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: `${SOLC_VERSION}+commit.7893614a`,
  };
});

/**
 * A configuration problem, as one line: from the `hardhat` command it is printed and the process exits 1 (Hardhat
 * would add a stack trace on a shell without DISPLAY); loaded as a library (tests, the demo) it is thrown.
 */
function configProblem(message: string): never {
  if (isHardhatCommand()) {
    console.error(`error: ${message}`);
    process.exit(1);
  }
  throw new HardhatPluginError("tom3", message);
}

/** Whether this process is the `hardhat` command (not a script or test loading Hardhat as a library). */
function isHardhatCommand(): boolean {
  return /(^|[\\/])hardhat([\\/]internal[\\/]cli[\\/](cli|bootstrap)\.js)?$/.test(process.argv[1] ?? "");
}

/** The network the `hardhat` command was asked for (`--network <name>` or HARDHAT_NETWORK). */
function requestedNetwork(): string | undefined {
  const at = process.argv.indexOf("--network");
  return at === -1 ? process.env.HARDHAT_NETWORK : process.argv[at + 1];
}

try {
  loadDotEnv();
} catch (error) {
  configProblem((error as Error).message);
}

/** How many accounts a mnemonic gives (m/44'/60'/0'/0/0 .. 19), as Hardhat's own HD accounts. */
const MNEMONIC_ACCOUNTS = 20;

/** The deployer key of `remote`: TOM3_DEPLOYER_KEY, or an encrypted keystore file and its password. */
function deployerKeys(): string[] {
  const key = process.env.TOM3_DEPLOYER_KEY;
  if (key) return [privateKey(key, "TOM3_DEPLOYER_KEY")];
  const keystore = process.env.TOM3_KEYSTORE;
  if (!keystore) return [];
  const password = process.env.TOM3_KEYSTORE_PASSWORD;
  if (password === undefined) configProblem(`TOM3_KEYSTORE is set but TOM3_KEYSTORE_PASSWORD is not`);
  let json: string;
  try {
    json = readFileSync(keystore, "utf8");
  } catch {
    configProblem(`TOM3_KEYSTORE: cannot read ${keystore}`);
  }
  try {
    return [Wallet.fromEncryptedJsonSync(json, password).privateKey];
  } catch {
    configProblem(`TOM3_KEYSTORE: ${keystore} is not a keystore, or TOM3_KEYSTORE_PASSWORD is wrong`);
  }
}

/** A private key from a variable, 0x-prefixed; the error names the variable, never the value. */
function privateKey(value: string, where: string): string {
  const key = value.trim().startsWith("0x") ? value.trim() : `0x${value.trim()}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) configProblem(`${where} is not a private key (0x and 64 hex digits)`);
  return key;
}

/**
 * More accounts for `--from`, as the demo takes them: a comma-separated key list (`keysVar`) or the first
 * MNEMONIC_ACCOUNTS accounts of a BIP-39 mnemonic (`mnemonicVar`). Undefined when neither is set.
 */
function extraKeys(keysVar: string, mnemonicVar: string): string[] | undefined {
  const list = process.env[keysVar];
  const phrase = process.env[mnemonicVar];
  if (list && phrase) configProblem(`set ${keysVar} or ${mnemonicVar}, not both`);
  if (list) {
    return list
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "")
      .map((item, i) => privateKey(item, `${keysVar} item ${i + 1}`));
  }
  if (!phrase) return undefined;
  let mnemonic: Mnemonic;
  try {
    mnemonic = Mnemonic.fromPhrase(phrase.trim().replace(/\s+/g, " "));
  } catch {
    configProblem(`${mnemonicVar} is not a valid BIP-39 mnemonic`);
  }
  const root = HDNodeWallet.fromMnemonic(mnemonic, "m/44'/60'/0'/0");
  return Array.from({ length: MNEMONIC_ACCOUNTS }, (_, i) => root.deriveChild(i).privateKey);
}

/** Keys in order, each address once (the deployer may also be account 0 of the mnemonic). */
function unique(keys: string[]): string[] {
  const seen = new Set<string>();
  return keys.filter((key) => {
    const address = new Wallet(key).address;
    if (seen.has(address)) return false;
    seen.add(address);
    return true;
  });
}

/**
 * `localhost`: TOM3_LOCAL_RPC_URL (default http://127.0.0.1:8545); its accounts are TOM3_LOCAL_KEYS or
 * TOM3_LOCAL_MNEMONIC when set, else the node's own unlocked accounts (a `hardhat node` has twenty).
 */
function localNetwork(): NetworkUserConfig {
  const keys = extraKeys("TOM3_LOCAL_KEYS", "TOM3_LOCAL_MNEMONIC");
  return {
    // `||`: an empty variable means the default (loadDotEnv drops empty ones too).
    url: process.env.TOM3_LOCAL_RPC_URL || "http://127.0.0.1:8545",
    ...(keys ? { accounts: unique(keys) } : {}),
  };
}

/**
 * `remote`, present when TOM3_RPC_URL is set: the deployer (TOM3_DEPLOYER_KEY or TOM3_KEYSTORE) is account 0, then
 * TOM3_KEYS or the accounts of TOM3_MNEMONIC.
 */
function remoteNetwork(): Record<string, NetworkUserConfig> {
  const url = process.env.TOM3_RPC_URL;
  if (!url) {
    // Hardhat would answer "HH100: Network remote doesn't exist" (with a stack trace on a shell without DISPLAY).
    if (isHardhatCommand() && requestedNetwork() === "remote") {
      configProblem("--network remote needs TOM3_RPC_URL (the chain's JSON-RPC URL), in the environment or .env (see .env.example)");
    }
    return {};
  }
  const chainIdText = process.env.TOM3_CHAIN_ID;
  if (chainIdText && !/^\d+$/.test(chainIdText.trim())) configProblem(`TOM3_CHAIN_ID: "${chainIdText}" is not a chain id`);
  return {
    remote: {
      url,
      chainId: chainIdText ? Number(chainIdText) : undefined,
      accounts: unique([...deployerKeys(), ...(extraKeys("TOM3_KEYS", "TOM3_MNEMONIC") ?? [])]),
    },
  };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      viaIR: true,
      evmVersion: "cancun",
    },
  },
  networks: {
    hardhat: {
      // Property tests move time around a lot; deterministic timestamps keep failures reproducible.
      allowBlocksWithSameTimestamp: true,
    },
    localhost: localNetwork(),
    ...remoteNetwork(),
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: { enabled: process.env.REPORT_GAS === "true", offline: true, currency: "USD" },
  mocha: { timeout: 120_000 },
};

/**
 * From the `hardhat` command, an unknown `--network` or a mistyped `tom3:` task name is one sentence with the next
 * step (Hardhat's HH100 and HH303 come with a stack trace on a shell without DISPLAY).
 */
if (isHardhatCommand()) {
  const network = requestedNetwork();
  if (network !== undefined && !Object.keys(config.networks ?? {}).includes(network)) {
    const remote = process.env.TOM3_RPC_URL ? "remote (the chain at TOM3_RPC_URL)" : "remote (once TOM3_RPC_URL is set, see .env.example)";
    configProblem(
      `network "${network}" is not configured; use localhost (the node at TOM3_LOCAL_RPC_URL, default ` +
        `http://127.0.0.1:8545), ${remote} or hardhat (in-process, empty on every run)`,
    );
  }
  for (const arg of process.argv.slice(2)) {
    if (!arg.startsWith("tom3:") || registeredTom3Tasks.has(arg)) continue;
    const near = [...registeredTom3Tasks].filter((name) => closeTo(arg, name));
    configProblem(
      `there is no task ${arg}${near.length > 0 ? `; did you mean ${near.join(" or ")}?` : ""} ` +
        "`npx hardhat --help` lists every task",
    );
  }
}

/** Whether two task names differ by at most two single-character edits (a typo). */
function closeTo(a: string, b: string): boolean {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] <= 2;
}

export default config;
