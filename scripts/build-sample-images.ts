/**
 * Builds the sample workload images (`tom3/hello:local`, `tom3/api:local`) into the local Docker engine from
 * /bin/busybox, with no registry. Skips images already present unless `--force`.
 *
 *   npx ts-node scripts/build-sample-images.ts [--force]
 */
import { buildSampleImages } from "../offchain/provider/executor/images";

async function main(): Promise<void> {
  const force = process.argv.includes("--force");
  const built = await buildSampleImages({ force });
  console.log(built.length === 0 ? "sample images already present" : `built ${built.join(", ")}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
