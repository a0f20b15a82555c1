/**
 * How large a manifest may be: the one limit that validation and delivery share. A provider refuses a manifest
 * above it (`TOO_LARGE`: p2p push and fetch, the HTTP upload's body limit), so `parseManifest` and
 * `readManifestFile` refuse it first, before any escrow is locked.
 */

/**
 * The largest manifest a provider accepts, in bytes: the canonical form's UTF-8 bytes (what is delivered), and the
 * file a tenant writes (read before parsing, so that memory stays bounded). p2p's `DEFAULT_LIMITS.maxManifestBytes`
 * and the provider API's upload limit are this number.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * The longest string a process can be started with, bytes: Linux's MAX_ARG_STRLEN (32 pages), counting the
 * terminating NUL, for each argument and each `NAME=value` of the environment. Longer, and the container fails to
 * start with "argument list too long", after the workload was delivered.
 */
export const MAX_EXEC_STRING_BYTES = 128 * 1024;

/** The next step after a size refusal. */
export const TOO_LARGE_ADVICE =
  "keep large data out of the manifest (put it in the image, or have the service fetch it when it starts)";

const KIB = 1024;
const MIB = 1024 * 1024;

/** Bytes of the UTF-8 encoding of `text`, without encoding it (a lone surrogate counts as U+FFFD: 3 bytes). */
export function utf8Length(text: string): number {
  let bytes = text.length; // one byte per UTF-16 code unit, plus what each wider character adds
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: two code units, four bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** A limit, exactly: `4 MiB`, `16 KiB`, `100 bytes`. */
export function formatLimit(bytes: number): string {
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MiB`;
  if (bytes >= KIB && bytes % KIB === 0) return `${bytes / KIB} KiB`;
  return `${bytes.toLocaleString("en-US")} bytes`;
}

/** A size as people read it: `10.0 GiB`, `50.0 MiB`, `12.5 KiB`, `100 bytes`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * MIB) return `${(bytes / (1024 * MIB)).toFixed(1)} GiB`;
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= KIB) return `${(bytes / KIB).toFixed(1)} KiB`;
  return `${bytes.toLocaleString("en-US")} bytes`;
}

/**
 * "50.0 MiB is above the 4 MiB limit a provider accepts": the size in bytes when rounding would make it read as
 * the limit itself (4,194,305 bytes, not "4.0 MiB").
 */
export function aboveLimit(bytes: number, limit = MAX_MANIFEST_BYTES, whose = "a provider accepts"): string {
  return overLimit(bytes, limit, whose).replace(", above", " is above");
}

/** "50.0 MiB, above the 4 MiB limit a provider accepts": `aboveLimit` for the middle of a sentence. */
export function overLimit(bytes: number, limit = MAX_MANIFEST_BYTES, whose = "a provider accepts"): string {
  const rounded = formatSize(bytes);
  const shown = rounded === formatSize(limit) || rounded === formatLimit(limit) ? `${bytes.toLocaleString("en-US")} bytes` : rounded;
  return `${shown}, above the ${formatLimit(limit)} limit ${whose}`;
}
