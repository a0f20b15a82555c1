/**
 * The normal form of a workload manifest: what the deployment version commits to. Same shape as the manifest,
 * with every unit in its base number (names say which), every default filled in and every list whose order means
 * nothing sorted. `README.md` beside this file is its specification.
 */

/** Resources of one container, in base units. */
export interface NormalisedResources {
  cpuMillis: number; // 1000 = one CPU
  memoryBytes: number;
  storageBytes: number;
  bandwidthBps: number; // bits per second
}

/** One exposed port. */
export interface NormalisedExpose {
  port: number; // container port
  as: number; // port the service is known by (defaults to `port`)
  to: string[]; // "global" and/or service names, sorted
}

export interface NormalisedService {
  image: string;
  command?: string[]; // omitted when the manifest leaves it out (the image's ENTRYPOINT stays)
  args?: string[]; // omitted when the manifest leaves it out (the image's CMD stays); [] means none
  env: Record<string, string>; // {} when absent
  expose: NormalisedExpose[]; // sorted by port; [] when absent
  resources: NormalisedResources;
  count: number; // 1 when absent
}

export interface NormalisedGroup {
  attributes: Record<string, string>; // {} when absent
  maxPricePerSecond: string; // TOM3 wei per second, decimal digits without leading zeros (up to 2^128 - 1)
  minReputation: number; // 0 when absent
  services: string[]; // sorted
}

export interface NormalisedManifest {
  version: "1.0"; // the manifest format's version
  services: Record<string, NormalisedService>;
  placement: Record<string, NormalisedGroup>;
  duration: number; // seconds
  biddingWindow: number; // seconds
  usageKeyHash?: string; // 0x + 64 lower-case hex digits; omitted when absent
}

/** A manifest that passed every rule. */
export interface ParsedManifest {
  /** The deployment version: keccak256 of the UTF-8 bytes of `canonical`, 0x-prefixed lower-case hex. */
  version: string;
  /** The normal form. */
  manifest: NormalisedManifest;
  /** The normal form serialised with RFC 8785 (JSON Canonicalization Scheme). */
  canonical: string;
  /** Where the manifest came from, as given to `parseManifest` (for messages). */
  source: string;
  /** Line and column of a field given by its path (`placement.eu.services`), or of its nearest ancestor. */
  locate(path: string): { line: number; column: number } | undefined;
}
