/**
 * A manifest as it travels: bytes in one of two encodings (`ManifestEncoding`), read into a verified
 * `ParsedManifest`. The canonical encoding is checked against the expected version by its hash alone, before any
 * parsing; YAML has to be parsed before its version is known. Every receiver (p2p push and fetch, the provider's
 * HTTP upload, the store at start-up) reads through here, so all check the same way.
 */
import { isAscii } from "node:buffer";
import { keccak256Bytes, ManifestError, parseCanonicalManifest, parseManifest, type ParsedManifest } from "../manifest";
import { ManifestProtocolError, type ManifestEncoding } from "./protocol";

/**
 * Read `bytes` written in `encoding`. With `expected`, a version that differs is a VERSION_MISMATCH; for the
 * canonical encoding it is found before parsing. Refusals are `ManifestProtocolError`s (INVALID_MANIFEST,
 * VERSION_MISMATCH).
 */
export function readManifestBytes(
  bytes: Uint8Array,
  encoding: ManifestEncoding,
  options: {
    expected?: string;
    source?: string;
    /**
     * Canonical encoding: keccak256 of exactly `bytes`, when the caller hashed them as they arrived
     * (`readBody` with a `keccak256Hasher`), so they are not hashed twice. Never a hash someone else announced.
     */
    hash?: string;
  } = {},
): ParsedManifest {
  const source = options.source ?? "manifest";
  const mismatch = (got: string) =>
    new ManifestProtocolError(
      "VERSION_MISMATCH",
      `the manifest hashes to ${got}; the deployment is at ${options.expected?.toLowerCase()}`,
    );
  let hash: string | undefined;
  if (encoding === "canonical") {
    hash = options.hash?.toLowerCase() ?? keccak256Bytes(bytes);
    if (options.expected !== undefined && hash !== options.expected.toLowerCase()) throw mismatch(hash);
  }
  let text: string;
  try {
    text = utf8Text(bytes);
  } catch {
    throw new ManifestProtocolError("INVALID_MANIFEST", "the manifest is not UTF-8 text");
  }
  let parsed: ParsedManifest;
  try {
    parsed =
      encoding === "canonical" ? parseCanonicalManifest(text, { source, version: hash }) : parseManifest(text, { source });
  } catch (error) {
    if (error instanceof ManifestError) {
      throw new ManifestProtocolError("INVALID_MANIFEST", error.message, { issues: [...error.issues] });
    }
    throw error;
  }
  if (options.expected !== undefined && parsed.version !== options.expected.toLowerCase()) throw mismatch(parsed.version);
  return parsed;
}

/**
 * The text of UTF-8 bytes; throws when they are not UTF-8. ASCII (a canonical manifest usually is) is read as it
 * is, one byte per character, without a decoding pass: the same string, in a third less time for a MiB.
 */
export function utf8Text(bytes: Uint8Array): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isAscii(view)) return view.toString("latin1");
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/**
 * What a sender puts on the wire for a manifest given as text bytes (YAML, or already canonical JSON) or parsed:
 * its canonical bytes and version. Text that starts with `{` is tried as canonical JSON first.
 */
export function canonicalPayload(manifest: Uint8Array | ParsedManifest): { bytes: Uint8Array; version: string } {
  if (!(manifest instanceof Uint8Array)) {
    return { bytes: new TextEncoder().encode(manifest.canonical), version: manifest.version };
  }
  if (manifest[0] === 0x7b /* { */) {
    try {
      return { bytes: manifest, version: readManifestBytes(manifest, "canonical").version };
    } catch {
      // A YAML flow mapping, or not a manifest at all: the YAML reader says which.
    }
  }
  const parsed = readManifestBytes(manifest, "yaml");
  return { bytes: new TextEncoder().encode(parsed.canonical), version: parsed.version };
}
