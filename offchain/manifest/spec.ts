/**
 * From a manifest to its orders: one on-chain `RequirementSpec` (contracts/interfaces/IMarket.sol) per placement
 * group, whose resources are the sum of the group's services' resources times their counts.
 */
import { keccak256, toUtf8Bytes } from "ethers";
import { ManifestError, type ManifestIssue } from "./errors";
import type { NormalisedManifest, ParsedManifest } from "./types";

import type { Resources } from "../chain/units";

export type { Resources };

/** `RequirementSpec` of IMarket.sol, ready for ethers (uint32/uint16 as numbers, uint64/uint128 as bigints). */
export interface RequirementSpec {
  resources: Resources;
  maxPricePerSecond: bigint;
  duration: bigint;
  biddingWindow: bigint;
  minReputation: number;
  /** keccak256("key=value") of each required attribute, sorted. */
  attributes: string[];
}

/** The order of one placement group. */
export interface GroupRequirement {
  group: string;
  /** The group's services, sorted. */
  services: string[];
  spec: RequirementSpec;
}

const UINT32_MAX = 2n ** 32n - 1n;
const MIB = 1n << 20n;
const MBPS = 1_000_000n;

/** The attribute hash a provider registers and an order requires: keccak256 of the UTF-8 bytes of `key=value`. */
export function attributeHash(key: string, value: string): string {
  return keccak256(toUtf8Bytes(`${key}=${value}`));
}

/**
 * One requirement spec per placement group, sorted by group name. Throws a `ManifestError` located at the group
 * when a summed resource does not fit the on-chain uint32 (never for a manifest `parseManifest` accepted, which
 * runs the same check).
 *
 * @example
 * import { parseManifest, requirementSpecs } from "./offchain/manifest";
 * for (const { group, spec } of requirementSpecs(parseManifest(text))) await market.createOrder(deploymentId, spec);
 */
export function requirementSpecs(manifest: ParsedManifest | NormalisedManifest): GroupRequirement[] {
  const parsed = "canonical" in manifest ? manifest : undefined;
  const { specs, issues } = groupRequirements(parsed ? parsed.manifest : (manifest as NormalisedManifest));
  if (issues.length > 0) {
    throw new ManifestError(
      issues.map((issue) => ({ ...issue, ...parsed?.locate(issue.path) })),
      parsed?.source,
    );
  }
  return specs;
}

/** The specs, or the groups whose sums overflow (unlocated issues). Shared by `parseManifest` and `requirementSpecs`. */
export function groupRequirements(manifest: NormalisedManifest): { specs: GroupRequirement[]; issues: ManifestIssue[] } {
  const specs: GroupRequirement[] = [];
  const issues: ManifestIssue[] = [];
  for (const group of Object.keys(manifest.placement).sort()) {
    const { attributes, maxPricePerSecond, minReputation, services } = manifest.placement[group];
    let cpu = 0n;
    let memory = 0n;
    let storage = 0n;
    let bandwidth = 0n;
    for (const name of services) {
      const { resources, count } = manifest.services[name];
      cpu += BigInt(resources.cpuMillis) * BigInt(count);
      memory += BigInt(resources.memoryBytes) * BigInt(count);
      storage += BigInt(resources.storageBytes) * BigInt(count);
      bandwidth += BigInt(resources.bandwidthBps) * BigInt(count);
    }
    const overflows: string[] = [];
    const fit = (value: bigint, what: string, unit: string): number => {
      if (value <= UINT32_MAX) return Number(value);
      overflows.push(`${what} ${value} ${unit}`);
      return 0;
    };
    const resources: Resources = {
      cpuMillis: fit(cpu, "CPU", "millicores"),
      memoryMiB: fit(ceilDiv(memory, MIB), "memory", "MiB"),
      storageMiB: fit(ceilDiv(storage, MIB), "storage", "MiB"),
      bandwidthMbps: fit(ceilDiv(bandwidth, MBPS), "bandwidth", "Mbps"),
    };
    if (overflows.length > 0) {
      issues.push({
        path: `placement.${group}`,
        message: `asks for more than one order can carry (at most ${UINT32_MAX} of each unit): ${overflows.join(", ")}`,
      });
    }
    specs.push({
      group,
      services: [...services],
      spec: {
        resources,
        maxPricePerSecond: BigInt(maxPricePerSecond),
        duration: BigInt(manifest.duration),
        biddingWindow: BigInt(manifest.biddingWindow),
        minReputation,
        attributes: Object.keys(attributes)
          .map((key) => attributeHash(key, attributes[key]))
          .sort(),
      },
    });
  }
  return { specs, issues };
}

/** Rounded up: an order never asks for less than its services need. */
function ceilDiv(value: bigint, unit: bigint): bigint {
  return (value + unit - 1n) / unit;
}
