/**
 * Reading a manifest file with bounded memory: its size is checked before its text is read (a 50 MiB file is
 * refused after a `stat`, not after YAML has built a 2 GB document), and the bytes must be UTF-8, as delivered.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { ManifestError } from "./errors";
import { aboveLimit, formatLimit, formatSize, MAX_MANIFEST_BYTES, overLimit, TOO_LARGE_ADVICE } from "./limits";

export interface ReadManifestFileOptions {
  /** Largest file read, bytes (default `MAX_MANIFEST_BYTES`, the limit a provider accepts). */
  maxBytes?: number;
  /** Name of the file in messages (default: `path` as given). */
  source?: string;
}

/**
 * The text of a manifest file, read only when it is at most `maxBytes` long: its size is checked first (`fstat`),
 * and the read stops one byte past the limit for what `fstat` cannot size (a pipe, `/dev/stdin`). Throws a
 * `ManifestError` for a file that is too large or not UTF-8 (located at the first bad byte), and the file
 * system's own error (`code` ENOENT, EISDIR, EACCES...) when it cannot be read.
 *
 * @example
 * import { parseManifest, readManifestFile } from "./offchain/manifest";
 * const parsed = parseManifest(readManifestFile("hello.yaml"), { source: "hello.yaml" });
 */
export function readManifestFile(path: string, options: ReadManifestFileOptions = {}): string {
  const maxBytes = options.maxBytes ?? MAX_MANIFEST_BYTES;
  const source = options.source ?? path;
  const fd = openSync(path, "r");
  const tooLarge = (size: number, regular: boolean): ManifestError => {
    // One line that makes most of the file (a value pasted in) is worth pointing at: found in a bounded scan.
    const longest = regular && size <= MAX_SCANNED_BYTES ? longestLine(fd) : undefined;
    if (longest && longest.bytes * 2 >= size) {
      const message = `the file is ${overLimit(size, maxBytes)}, and this line alone is ${formatSize(longest.bytes)}: ${TOO_LARGE_ADVICE}`;
      return new ManifestError([{ path: "", line: longest.line, column: 1, message }], source);
    }
    const message = regular
      ? `${aboveLimit(size, maxBytes)}: ${TOO_LARGE_ADVICE}`
      : `more than ${formatLimit(maxBytes)}, the limit a provider accepts: ${TOO_LARGE_ADVICE}`;
    return new ManifestError([{ path: "", message }], source);
  };
  let bytes: Buffer;
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw Object.assign(new Error(`EISDIR: ${path} is a directory`), { code: "EISDIR" });
    if (stat.isFile() && stat.size > maxBytes) throw tooLarge(stat.size, true);
    // Read at most one byte more than allowed (whatever `fstat` said: a file may grow meanwhile), enough to tell
    // "too large" without holding more.
    const buffer = Buffer.allocUnsafe(maxBytes + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) break;
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > maxBytes) throw tooLarge(stat.isFile() ? Math.max(stat.size, length) : length, stat.isFile());
    bytes = buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const at = Math.min(firstInvalidUtf8(bytes), bytes.length - 1);
    const line = countLines(bytes, at);
    const lineStart = at === 0 ? 0 : bytes.lastIndexOf(0x0a, at - 1) + 1;
    const column = new TextDecoder().decode(bytes.subarray(lineStart, at)).length + 1;
    throw new ManifestError(
      [{ path: "", line, column, message: `byte 0x${bytes[at].toString(16).padStart(2, "0")} is not UTF-8: save the file as UTF-8` }],
      source,
    );
  }
}

/** Files scanned for their longest line when refused (64 KiB at a time: memory stays flat, time ~1 ms/MiB). */
const MAX_SCANNED_BYTES = 256 * 1024 * 1024;

/** The 1-based number and length in bytes (newline excluded) of the file's longest line. */
function longestLine(fd: number): { line: number; bytes: number } {
  const chunk = Buffer.allocUnsafe(64 * 1024);
  let position = 0;
  let line = 1;
  let current = 0;
  let best = { line: 1, bytes: 0 };
  for (;;) {
    const read = readSync(fd, chunk, 0, chunk.length, position);
    if (read === 0) break;
    position += read;
    let start = 0;
    for (let newline = chunk.indexOf(0x0a, 0); newline !== -1 && newline < read; newline = chunk.indexOf(0x0a, start)) {
      current += newline - start;
      if (current > best.bytes) best = { line, bytes: current };
      line++;
      current = 0;
      start = newline + 1;
    }
    current += read - start;
  }
  if (current > best.bytes) best = { line, bytes: current };
  return best;
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: the sequence length and the range of its first continuation byte (RFC 3629 table 3-7).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (c === undefined || c < min || c > max) return i;
    }
    i += length;
  }
  return bytes.length;
}

function countLines(bytes: Uint8Array, end: number): number {
  let line = 1;
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
