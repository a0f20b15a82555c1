/**
 * The workload manifest: the YAML file a tenant writes, its normal form, its deployment version (the bytes32 on
 * chain) and the orders it makes. See README.md beside this file.
 */
export { ManifestError, formatIssue, quote, unusualCharacter, type ManifestIssue } from "./errors";
export { firstInvalidUtf8, readManifestFile, type ReadManifestFileOptions } from "./file";
export { aboveLimit, formatLimit, formatSize, MAX_MANIFEST_BYTES, utf8Length } from "./limits";
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
