/**
 * Deploy the TOM3 suite with the Ignition module to the node the network names, check that every contract holds
 * code there, and write `deployments/<chainId>.json`, which the tasks, SDK, provider daemon and web app read.
 *
 *   npm run deploy -- --network localhost                  # local variant: the deployer owns the parameters
 *   TOM3_GOVERNED=1 npm run deploy -- --network remote     # governed variant: Governor + timelock own them
 *   TOM3_PARAMETERS=params.json npm run deploy -- ...      # module parameters ({"Tom3": {...}, "Tom3Governed": {...}})
 *   TOM3_DEPLOYMENTS_DIR=/tmp/d npm run deploy -- ...      # write the addresses file there (as the tasks read it)
 *   TOM3_IGNITION_DIR=/tmp/i npm run deploy -- ...         # keep Ignition's journal there, not in ignition/
 *
 * The journal is keyed by the chain id and the node's first block (deploy/journal.ts): a second node with the same
 * chain id (a restarted `hardhat node`, anvil) gets a deployment of its own. Re-running against the same node
 * resumes or reuses its deployment; the addresses file names the block of the suite's first transaction.
 */
import hre from "hardhat";
import { existsSync, readFileSync } from "node:fs";
import Tom3Module, { Tom3GovernedModule } from "../deploy/modules/Tom3";
import { chooseJournal, journalFirstBlock, missingCode, type JournalChoice, type Variant } from "../deploy/journal";
import {
  DEFAULT_DEPLOYMENTS_DIR,
  deploymentFile,
  readDeployment,
  writeDeployment,
  type Tom3Addresses,
} from "../offchain/chain/addresses";
import { networkProblem } from "../tasks/lib";

/** The command the user ran, with the variables that shaped it: what a refusal tells them to run again. */
function rerunCommand(): string {
  const vars = ["TOM3_GOVERNED", "TOM3_PARAMETERS", "TOM3_DEPLOYMENTS_DIR", "TOM3_IGNITION_DIR"];
  if (hre.network.name === "localhost") vars.push("TOM3_LOCAL_RPC_URL");
  const env = vars.filter((v) => process.env[v]).map((v) => `${v}=${process.env[v]}`);
  return `${env.length > 0 ? `${env.join(" ")} ` : ""}npm run deploy -- --network ${hre.network.name}`;
}

async function main(): Promise<void> {
  // `||`: an empty variable (as .env.example leaves it) means the default.
  const deploymentsDir = process.env.TOM3_DEPLOYMENTS_DIR || DEFAULT_DEPLOYMENTS_DIR;
  if (process.env.TOM3_IGNITION_DIR) hre.config.paths.ignition = process.env.TOM3_IGNITION_DIR;
  const variant: Variant = process.env.TOM3_GOVERNED === "1" ? "governed" : "local";
  const parametersFile = process.env.TOM3_PARAMETERS;
  const parameters = parametersFile ? JSON.parse(readFileSync(parametersFile, "utf8")) : {};
  const provider = hre.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  const genesis = await provider.getBlock(0);
  if (!genesis?.hash) throw new Error(`the node of network ${hre.network.name} does not return its first block (eth_getBlockByNumber 0x0)`);
  const startBlock = (await provider.getBlockNumber()) + 1;
  const hasCode = async (address: string) => (await provider.getCode(address)) !== "0x";

  console.log(`Deploying the ${variant} TOM3 suite to ${hre.network.name} (chain ${chainId}, first block ${genesis.hash.slice(0, 10)}…)`);
  const inProcess = hre.network.name === "hardhat";
  const journal: JournalChoice | undefined = inProcess
    ? undefined
    : await chooseJournal({ ignitionDir: hre.config.paths.ignition, variant, chainId, genesisHash: genesis.hash, hasCode, command: rerunCommand() });
  for (const note of journal?.notes ?? []) console.log(note);

  const result = await hre.ignition.deploy(variant === "governed" ? Tom3GovernedModule : Tom3Module, {
    parameters,
    displayUi: false,
    deploymentId: journal?.deploymentId,
  });
  const contracts: Record<string, string> = {};
  for (const [name, contract] of Object.entries(result)) contracts[name] = await contract.getAddress();

  // Ignition trusts its journal; the record must only ever name contracts that this node holds.
  const missing = await missingCode(Object.values(contracts), hasCode);
  if (missing.length > 0) {
    throw new Error(
      `Ignition reports the suite at ${missing.join(", ")}, but the node has no code there; nothing was written. ` +
        `Set the journal ${journal?.dir ?? ""} aside and deploy again: \`mv ${journal?.dir} ${journal?.dir}-stale && ${rerunCommand()}\``,
    );
  }

  if (inProcess) {
    console.log("(in-process network: nothing is written; use --network localhost or --network remote)");
  } else {
    const file = deploymentFile(chainId, deploymentsDir);
    const previous = existsSync(file) ? safeRead(chainId, deploymentsDir) : undefined;
    // Where event scans start: the journal's first transaction (a reused journal deployed before this run), never
    // later than an earlier record of the same suite says.
    const candidates = [journal ? journalFirstBlock(journal.dir) : undefined, startBlock];
    if (previous?.contracts.market === contracts.market) candidates.push(previous.deployedAtBlock);
    writeDeployment({
      chainId,
      deployedAtBlock: Math.min(...candidates.filter((b): b is number => b !== undefined)),
      contracts: contracts as unknown as Tom3Addresses,
    }, deploymentsDir);
    console.log(`Code checked at every address; addresses written to ${file}`);
  }
  for (const [name, address] of Object.entries(contracts)) console.log(`  ${name.padEnd(12)} ${address}`);
}

/** The previous record, or undefined when it cannot be read (it is about to be replaced anyway). */
function safeRead(chainId: number, dir: string): ReturnType<typeof readDeployment> | undefined {
  try {
    return readDeployment(chainId, dir);
  } catch {
    return undefined;
  }
}

main().catch((err: unknown) => {
  const message = networkProblem(err, hre) ?? (err instanceof Error ? err.message : String(err));
  console.error(`deploy failed: ${message}`);
  process.exitCode = 1;
});
