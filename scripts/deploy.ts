/**
 * Deploy the TOM3 suite with the Ignition module and write `deployments/<chainId>.json`, which the tasks, SDK,
 * provider daemon and web app read.
 *
 *   npm run deploy -- --network localhost                  # local variant: the deployer owns the parameters
 *   TOM3_GOVERNED=1 npm run deploy -- --network remote     # governed variant: Governor + timelock own them
 *   TOM3_PARAMETERS=params.json npm run deploy -- ...      # module parameters ({"Tom3": {...}, "Tom3Governed": {...}})
 *   TOM3_DEPLOYMENTS_DIR=/tmp/d npm run deploy -- ...      # write the addresses file there (as the tasks read it)
 *   TOM3_IGNITION_DIR=/tmp/i npm run deploy -- ...         # keep Ignition's journal there, not in ignition/
 *
 * A throwaway node (tests, the demo harness) wants both: its chain id is always 31337, so a journal left in the
 * repository by an earlier node would make Ignition try to resume a deployment that the new node never saw.
 *
 * Re-running against the same chain resumes or reuses the Ignition deployment; the addresses file keeps the
 * block where the suite was first deployed.
 */
import hre from "hardhat";
import { existsSync, readFileSync } from "node:fs";
import Tom3Module, { Tom3GovernedModule } from "../deploy/modules/Tom3";
import {
  DEFAULT_DEPLOYMENTS_DIR,
  deploymentFile,
  readDeployment,
  writeDeployment,
  type Tom3Addresses,
} from "../offchain/chain/addresses";

async function main(): Promise<void> {
  // `||`: an empty variable (as .env.example leaves it) means the default.
  const deploymentsDir = process.env.TOM3_DEPLOYMENTS_DIR || DEFAULT_DEPLOYMENTS_DIR;
  if (process.env.TOM3_IGNITION_DIR) hre.config.paths.ignition = process.env.TOM3_IGNITION_DIR;
  const governed = process.env.TOM3_GOVERNED === "1";
  const parametersFile = process.env.TOM3_PARAMETERS;
  const parameters = parametersFile ? JSON.parse(readFileSync(parametersFile, "utf8")) : {};
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  const startBlock = (await hre.ethers.provider.getBlockNumber()) + 1;

  console.log(`Deploying the ${governed ? "governed" : "local"} TOM3 suite to ${hre.network.name} (chain ${chainId})`);
  const result = await hre.ignition.deploy(governed ? Tom3GovernedModule : Tom3Module, {
    parameters,
    displayUi: false,
    deploymentId: `tom3-${governed ? "governed" : "local"}-${chainId}`,
  });
  const contracts: Record<string, string> = {};
  for (const [name, contract] of Object.entries(result)) contracts[name] = await contract.getAddress();

  if (hre.network.name === "hardhat") {
    console.log("(in-process network: nothing is written; use --network localhost or --network remote)");
  } else {
    const file = deploymentFile(chainId, deploymentsDir);
    const previous = existsSync(file) ? readDeployment(chainId, deploymentsDir) : undefined;
    const sameSuite = previous?.contracts.market === contracts.market;
    writeDeployment({
      chainId,
      deployedAtBlock: sameSuite ? previous!.deployedAtBlock : startBlock,
      contracts: contracts as unknown as Tom3Addresses,
    }, deploymentsDir);
    console.log(`Addresses written to ${file}`);
  }
  for (const [name, address] of Object.entries(contracts)) console.log(`  ${name.padEnd(12)} ${address}`);
}

main().catch((err: unknown) => {
  console.error(`deploy failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
