/**
 * Writes `offchain/chain/abis.ts`: the ABI of every TOM3 contract as an `as const` array (the integrators' API, typed
 * for viem and usable by ethers), plus the OpenZeppelin errors our contracts can revert with.
 *
 * Each contract's ABI comes from its implementation artifact when it is compiled, otherwise from its stand-in (the
 * interface in `contracts/interfaces`, or for the governor and timelock the OpenZeppelin contracts they are built
 * from); the script prints which one it used. It runs after every `npx hardhat compile` (see `tasks/compile.ts`) and
 * on its own with `npx hardhat run scripts/export-abis.ts`.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "../offchain/chain/atomic-write";

type AbiEntry = { type: string; name?: string; inputs?: { type: string }[] } & Record<string, unknown>;

/** Where an ABI came from: a project artifact (`contracts/...sol:Name`) or OpenZeppelin's build artifacts. */
type StandIn = { project: string } | { openZeppelin: string[] };

interface ExportedContract {
  /** Key of the contract in `deployments/<chainId>.json`. */
  key: string;
  exportName: string;
  implementation: string;
  standIn: StandIn;
}

export const EXPORTED_CONTRACTS: readonly ExportedContract[] = [
  { key: "token", exportName: "tom3TokenAbi", implementation: "TOM3Token", standIn: { project: "ITOM3Token" } },
  {
    key: "registry",
    exportName: "providerRegistryAbi",
    implementation: "ProviderRegistry",
    standIn: { project: "IProviderRegistry" },
  },
  {
    key: "certificates",
    exportName: "certificateRegistryAbi",
    implementation: "CertificateRegistry",
    standIn: { project: "ICertificateRegistry" },
  },
  { key: "market", exportName: "marketAbi", implementation: "Market", standIn: { project: "IMarket" } },
  { key: "usage", exportName: "usageLedgerAbi", implementation: "UsageLedger", standIn: { project: "IUsageLedger" } },
  {
    key: "governor",
    exportName: "tom3GovernorAbi",
    implementation: "TOM3Governor",
    // TOM3Governor is composed of these; the union of their ABIs is its ABI.
    standIn: {
      openZeppelin: [
        "GovernorSettings",
        "GovernorCountingSimple",
        "GovernorVotesQuorumFraction",
        "GovernorTimelockControl",
      ],
    },
  },
  {
    key: "timelock",
    exportName: "tom3TimelockAbi",
    implementation: "TOM3Timelock",
    standIn: { openZeppelin: ["TimelockController"] },
  },
];

/**
 * OpenZeppelin contracts and libraries the TOM3 contracts build on: their custom errors go into
 * `openZeppelinErrorsAbi`, so a revert from inherited code decodes even while only the interfaces are compiled.
 */
const OPENZEPPELIN_ERROR_SOURCES = [
  "Ownable2Step",
  "ReentrancyGuard",
  "ReentrancyGuardTransient",
  "SafeERC20",
  "ERC20Permit",
  "Votes",
  "GovernorSettings",
  "GovernorCountingSimple",
  "GovernorVotesQuorumFraction",
  "GovernorTimelockControl",
  "TimelockController",
  "Address",
  "Errors",
  "SafeCast",
  "Strings",
  "ECDSA",
];

export interface ExportReport {
  outFile: string;
  changed: boolean;
  sources: { exportName: string; source: string; standIn: boolean }[];
}

export interface ExportOptions {
  /** Hardhat's artifacts directory. */
  artifactsDir: string;
  /** The generated module. */
  outFile: string;
}

const ROOT = resolve(__dirname, "..");

export const DEFAULT_EXPORT_OPTIONS: ExportOptions = {
  artifactsDir: join(ROOT, "artifacts"),
  outFile: join(ROOT, "offchain", "chain", "abis.ts"),
};

/** Regenerate the ABI module; writes only when its content changed. */
export function exportAbis(options: ExportOptions = DEFAULT_EXPORT_OPTIONS): ExportReport {
  const project = indexProjectArtifacts(join(options.artifactsDir, "contracts"));
  const sources: ExportReport["sources"] = [];
  const blocks: string[] = [];

  for (const contract of EXPORTED_CONTRACTS) {
    let abi: AbiEntry[];
    let source: string;
    let standIn = false;
    const implementation = project.get(contract.implementation);
    if (implementation) {
      ({ abi, source } = implementation);
    } else if ("project" in contract.standIn) {
      const found = project.get(contract.standIn.project);
      if (!found) {
        throw new Error(
          `export-abis: neither ${contract.implementation} nor ${contract.standIn.project} is compiled ` +
            `under ${options.artifactsDir}; run \`npx hardhat compile\``,
        );
      }
      ({ abi, source } = found);
      standIn = true;
    } else {
      abi = mergeAbis(contract.standIn.openZeppelin.map((name) => readOpenZeppelinAbi(name)));
      source = `@openzeppelin/contracts ${contract.standIn.openZeppelin.join(" + ")}`;
      standIn = true;
    }
    sources.push({ exportName: contract.exportName, source, standIn });
    blocks.push(
      `/** ${contract.implementation}: from ${source}${standIn ? " (stand-in until the implementation is compiled)" : ""}. */\n` +
        `export const ${contract.exportName} = ${JSON.stringify(abi, null, 2)} as const;\n`,
    );
  }

  const ozErrors = mergeAbis(OPENZEPPELIN_ERROR_SOURCES.map((name) => readOpenZeppelinAbi(name))).filter(
    (entry) => entry.type === "error",
  );
  blocks.push(
    `/** Custom errors of the OpenZeppelin code the TOM3 contracts inherit (${OPENZEPPELIN_ERROR_SOURCES.join(", ")}). */\n` +
      `export const openZeppelinErrorsAbi = ${JSON.stringify(ozErrors, null, 2)} as const;\n`,
  );

  const byKey = EXPORTED_CONTRACTS.map((c) => `  ${c.key}: ${c.exportName},`).join("\n");
  const names = EXPORTED_CONTRACTS.map((c) => `  ${c.key}: ${JSON.stringify(c.implementation)},`).join("\n");
  const sourceLines = sources.map((s) => `  ${s.exportName}: ${JSON.stringify(s.source)},`).join("\n");
  const content =
    `// Generated by scripts/export-abis.ts from the Hardhat artifacts (runs after \`npx hardhat compile\`): do not edit.\n\n` +
    blocks.join("\n") +
    `\n/** Every TOM3 contract's ABI by its key in \`deployments/<chainId>.json\`. */\n` +
    `export const tom3Abis = {\n${byKey}\n} as const;\n\n` +
    `/** Contract name of each key. */\n` +
    `export const tom3ContractNames = {\n${names}\n} as const;\n\n` +
    `/** The artifact each ABI was taken from. */\n` +
    `export const abiSources = {\n${sourceLines}\n} as const;\n`;

  const previous = existsSync(options.outFile) ? readFileSync(options.outFile, "utf8") : undefined;
  const changed = previous !== content;
  if (changed) writeFileAtomic(options.outFile, content);
  return { outFile: options.outFile, changed, sources };
}

/** Human summary of an export, one line per ABI. */
export function describeExport(report: ExportReport): string {
  const lines = report.sources.map((s) => `  ${s.exportName.padEnd(24)} ${s.source}${s.standIn ? "  [stand-in]" : ""}`);
  const verb = report.changed ? "Wrote" : "Unchanged:";
  return `${verb} ${relative(process.cwd(), report.outFile) || report.outFile}\n${lines.join("\n")}`;
}

/** Contract name → its artifact under `artifacts/contracts`, excluding test fixtures. */
function indexProjectArtifacts(dir: string): Map<string, { abi: AbiEntry[]; source: string }> {
  const found = new Map<string, { abi: AbiEntry[]; source: string }>();
  if (!existsSync(dir)) return found;
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (relative(dir, path).split(sep)[0] !== "test") walk(path);
      } else if (entry.name.endsWith(".json") && !entry.name.endsWith(".dbg.json")) {
        const artifact = JSON.parse(readFileSync(path, "utf8")) as {
          contractName: string;
          sourceName: string;
          abi: AbiEntry[];
        };
        const source = `${artifact.sourceName}:${artifact.contractName}`;
        const clash = found.get(artifact.contractName);
        if (clash) {
          throw new Error(`export-abis: two contracts are named ${artifact.contractName}: ${clash.source}, ${source}`);
        }
        found.set(artifact.contractName, { abi: artifact.abi, source });
      }
    }
  };
  walk(dir);
  return found;
}

function readOpenZeppelinAbi(name: string): AbiEntry[] {
  const buildDir = join(dirname(require.resolve("@openzeppelin/contracts/package.json")), "build", "contracts");
  return (JSON.parse(readFileSync(join(buildDir, `${name}.json`), "utf8")) as { abi: AbiEntry[] }).abi;
}

/** Union of several ABIs, each entry once, in a stable order (by kind, then name, then signature). */
function mergeAbis(abis: AbiEntry[][]): AbiEntry[] {
  const bySignature = new Map<string, AbiEntry>();
  for (const entry of abis.flat()) {
    const signature = `${entry.type} ${entry.name ?? ""}(${(entry.inputs ?? []).map((i) => i.type).join(",")})`;
    if (!bySignature.has(signature)) bySignature.set(signature, entry);
  }
  return [...bySignature.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => entry);
}

if (require.main === module) {
  console.log(describeExport(exportAbis()));
}
