/**
 * `npx hardhat compile` also regenerates `offchain/chain/abis.ts` (see scripts/export-abis.ts), so the ABI module
 * integrators import can never lag behind the contracts.
 */
import { join } from "node:path";
import { task } from "hardhat/config";
import { TASK_COMPILE } from "hardhat/builtin-tasks/task-names";
import { describeExport, exportAbis } from "../scripts/export-abis";

task(TASK_COMPILE, async (args: { quiet?: boolean }, hre, runSuper) => {
  const result: unknown = await runSuper(args);
  const report = exportAbis({
    artifactsDir: hre.config.paths.artifacts,
    outFile: join(hre.config.paths.root, "offchain", "chain", "abis.ts"),
  });
  if (report.changed || !args.quiet) console.log(describeExport(report));
  return result;
});
