/**
 * Hardhat configuration for TOM3.
 *
 * The Solidity compiler comes from the pinned `solc` npm package (solcjs): Hardhat never downloads a compiler,
 * so builds work offline and are reproducible. Remote networks are configured from the environment (see
 * `.env.example`); nothing secret lives in this file.
 */
import "dotenv/config";
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

/** A remote network from the environment: TOM3_RPC_URL plus either TOM3_DEPLOYER_KEY or nothing (keystore). */
function remoteNetwork(): Record<string, NetworkUserConfig> {
  const url = process.env.TOM3_RPC_URL;
  if (!url) return {};
  const key = process.env.TOM3_DEPLOYER_KEY;
  return {
    remote: {
      url,
      chainId: process.env.TOM3_CHAIN_ID ? Number(process.env.TOM3_CHAIN_ID) : undefined,
      accounts: key ? [key] : [],
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
