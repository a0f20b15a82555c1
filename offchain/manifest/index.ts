/**
 * The workload manifest: the YAML file a tenant writes, its normal form, its deployment version (the bytes32 on
 * chain) and the orders it makes. See README.md beside this file.
 */
export { ManifestError, formatIssue, type ManifestIssue } from "./errors";
export {
  MANIFEST_SCHEMA_ID,
  parseCanonicalManifest,
  parseManifest,
  type ParseCanonicalManifestOptions,
  type ParseManifestOptions,
} from "./manifest";
export { keccak256Bytes, keccak256Hasher, type Keccak256Hasher } from "./hash";
export { attributeHash, requirementSpecs, type GroupRequirement, type RequirementSpec, type Resources } from "./spec";
export type {
  NormalisedExpose,
  NormalisedGroup,
  NormalisedManifest,
  NormalisedResources,
  NormalisedService,
  ParsedManifest,
} from "./types";
export { parseBandwidth, parseBytes, parseCpu, parseDuration, UnitError, type UnitInput } from "./units";
