/** The manifest an action takes: YAML text (parsed here) or the result of `parseManifest`. */
import { parseManifest } from "../../manifest";
import type { ParsedManifest } from "../../manifest";

export type ManifestInput = string | ParsedManifest;

/** Parse (or pass through) a manifest; a bad one throws `ManifestError` with every located issue. */
export function resolveManifest(manifest: ManifestInput, source?: string): ParsedManifest {
  return typeof manifest === "string" ? parseManifest(manifest, { source: source ?? "manifest" }) : manifest;
}

/** The bytes delivered to providers: the UTF-8 text the tenant wrote, or the canonical form when only that is known. */
export function manifestBytes(manifest: string | Uint8Array | ParsedManifest): Uint8Array {
  if (manifest instanceof Uint8Array) return manifest;
  return new TextEncoder().encode(typeof manifest === "string" ? manifest : manifest.canonical);
}
