/**
 * RFC 8785 (JSON Canonicalization Scheme) text of the normal form, and the check a receiver makes on a manifest
 * sent in that form: the text must be exactly the canonical serialisation of the manifest it parses to.
 *
 * The check runs on every delivery of a workload that may be megabytes long, so it has a fast path. Serialising
 * the normal form with `canonicalize` spends nearly all its time in `JSON.stringify` of each string, scanning for
 * characters to escape (about 3 ms per MiB here), then in building and comparing a second copy of the text. When
 * the text holds no backslash at all and is well-formed Unicode, no string in it can need an escape (a quote or a
 * control character would have to be escaped, and a lone surrogate could only be written as one), so each string's
 * JSON is simply the string between quotes. The fast path then proves the same equality in two cheap steps:
 *
 *   1. the data read from the text, serialised canonically, is the text: walked in canonical order (keys sorted),
 *      each piece is compared in place with the text (no escape scan, no second copy), and the walk must end
 *      exactly at the text's end;
 *   2. the normal form is the same JSON value as that data (same keys, same strings, same numbers), so the two
 *      serialise alike and the text is the canonical form of the normal form.
 *
 * When either step fails, or the text has a backslash, the exact comparison with `canonicalize` decides: the fast
 * path can only say yes when the slow one would, never no in its place.
 */
import canonicalize from "canonicalize";

/** The RFC 8785 serialisation of a JSON value (what a deployment version is the keccak256 of). */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("only JSON values have a canonical form");
  return text;
}

/**
 * Whether `text` is exactly `canonicalJson(value)`, where `read` is `JSON.parse(text)` (the caller has it already).
 * Same answer as the comparison, faster when the text needs no escapes.
 */
export function isCanonicalTextOf(text: string, read: unknown, value: unknown): boolean {
  if (!text.includes("\\") && text.isWellFormed() && sameJson(value, read) && matchUnescaped(text, read, 0) === text.length) {
    return true;
  }
  try {
    return canonicalize(value) === text;
  } catch {
    return false; // not a JSON value (NaN, Infinity, a bigint): it has no canonical form
  }
}

const QUOTE = 0x22;

/**
 * Where the canonical serialisation of `value`, written at `at` in `text`, would end, if `text` holds exactly that
 * there; -1 otherwise. For data whose strings need no escaping (see the file header): keys sorted by UTF-16 code
 * units, no whitespace, numbers as ECMAScript writes them, strings between quotes. Compares in place: nothing as
 * long as the text is built.
 */
function matchUnescaped(text: string, value: unknown, at: number): number {
  if (typeof value === "string") {
    const end = at + 1 + value.length;
    return text.charCodeAt(at) === QUOTE && text.startsWith(value, at + 1) && text.charCodeAt(end) === QUOTE ? end + 1 : -1;
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    if (typeof value === "number" && !Number.isFinite(value)) return -1;
    const written = JSON.stringify(value);
    return text.startsWith(written, at) ? at + written.length : -1;
  }
  if (Array.isArray(value)) {
    if (text[at] !== "[") return -1;
    let next = at + 1;
    for (let i = 0; i < value.length; i++) {
      if (i > 0 && text[next++] !== ",") return -1;
      next = matchUnescaped(text, value[i], next);
      if (next < 0) return -1;
    }
    return text[next] === "]" ? next + 1 : -1;
  }
  if (typeof value !== "object") return -1;
  if (text[at] !== "{") return -1;
  const record = value as Record<string, unknown>;
  let next = at + 1;
  let first = true;
  for (const key of Object.keys(record).sort()) {
    if (!first && text[next++] !== ",") return -1;
    first = false;
    next = matchUnescaped(text, key, next);
    if (next < 0 || text[next++] !== ":") return -1;
    next = matchUnescaped(text, record[key], next);
    if (next < 0) return -1;
  }
  return text[next] === "}" ? next + 1 : -1;
}

/**
 * Whether `a` (built by the normaliser) and `b` (read by `JSON.parse`) are the same JSON value, so that they
 * serialise alike: strictly, plain objects with exactly the same keys, arrays item by item, primitives by `===`
 * (0 and -0 both serialise as 0). Anything `canonicalize` would treat specially (`toJSON`, undefined, symbols,
 * bigints, NaN) makes them differ, and the exact comparison decides.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return typeof a !== "number" || Number.isFinite(a);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const prototype = Object.getPrototypeOf(a);
  if ((prototype !== Object.prototype && prototype !== null) || typeof (a as { toJSON?: unknown }).toJSON === "function") {
    return false;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = Object.keys(ra);
  if (keys.length !== Object.keys(rb).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(rb, key) || !sameJson(ra[key], rb[key])) return false;
  }
  return true;
}
