/**
 * Hardhat configuration for TOM3.
 *
 * The Solidity compiler comes from the pinned `solc` npm package (solcjs): Hardhat never downloads a compiler,
 * so builds work offline and are reproducible. Remote networks are configured from the environment (see
 * `.env.example`); nothing secret lives in this file.
 */
import "dotenv/config";
import { readFileSync } from "node:fs";
import { Wallet } from "ethers";
import { subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig, NetworkUserConfig } from "hardhat/types";
import "@nomicfoundation/hardhat-toolbox";
import "./tasks";

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

/** The deployer key of a remote network: TOM3_DEPLOYER_KEY, or an encrypted keystore file and its password. */
function remoteAccounts(): string[] {
  const key = process.env.TOM3_DEPLOYER_KEY;
  if (key) return [key];
  const keystore = process.env.TOM3_KEYSTORE;
  if (!keystore) return [];
  const password = process.env.TOM3_KEYSTORE_PASSWORD;
  if (password === undefined) throw new Error("TOM3_KEYSTORE is set but TOM3_KEYSTORE_PASSWORD is not");
  const wallet = Wallet.fromEncryptedJsonSync(readFileSync(keystore, "utf8"), password);
  return [wallet.privateKey];
}

/** A remote network named "remote" from the environment (see .env.example). */
function remoteNetwork(): Record<string, NetworkUserConfig> {
  const url = process.env.TOM3_RPC_URL;
  if (!url) return {};
  return {
    remote: {
      url,
      chainId: process.env.TOM3_CHAIN_ID ? Number(process.env.TOM3_CHAIN_ID) : undefined,
      accounts: remoteAccounts(),
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
    localhost: { url: process.env.TOM3_LOCAL_RPC_URL ?? "http://127.0.0.1:8545" },
    ...remoteNetwork(),
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: { enabled: process.env.REPORT_GAS === "true", offline: true, currency: "USD" },
  mocha: { timeout: 120_000 },
};

export default config;
