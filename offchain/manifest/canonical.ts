/**
 * RFC 8785 (JSON Canonicalization Scheme) text of the normal form, and the check a receiver makes on a manifest
 * sent in that form: the text must be exactly the canonical serialisation of the manifest it parses to.
 *
 * The check runs on every delivery of a workload that may be megabytes long, so it has a fast path. Serialising
 * the normal form with `canonicalize` spends nearly all its time in `JSON.stringify` of each string, scanning for
 * characters to escape (about 3 ms per MiB here). When the text holds no backslash at all and is well-formed
 * Unicode, no string in it can need an escape (a quote or a control character would have to be escaped, and a
 * lone surrogate could only be written as one), so each string's JSON is simply the string between quotes. The
 * fast path then proves the same equality in two cheap steps:
 *
 *   1. the data read from the text serialises back to the text (strings written without the escape scan), so the
 *      text is the canonical form of that data;
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
  if (!text.includes("\\") && text.isWellFormed() && sameJson(value, read) && serialiseUnescaped(read) === text) {
    return true;
  }
  try {
    return canonicalize(value) === text;
  } catch {
    return false; // not a JSON value (NaN, Infinity, a bigint): it has no canonical form
  }
}

/**
 * `canonicalize` for data whose strings need no escaping (see the file header): keys sorted by UTF-16 code units,
 * no whitespace, numbers as ECMAScript writes them. Built by concatenation, so V8 joins the pieces once, when the
 * result is compared.
 */
function serialiseUnescaped(value: unknown): string | undefined {
  if (typeof value === "string") return '"' + value + '"';
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : undefined;
  if (value === null || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const item = serialiseUnescaped(value[i]);
      if (item === undefined) return undefined;
      out += (i === 0 ? "" : ",") + item;
    }
    return out + "]";
  }
  if (typeof value !== "object") return undefined;
  const record = value as Record<string, unknown>;
  let out = "{";
  let first = true;
  for (const key of Object.keys(record).sort()) {
    const item = serialiseUnescaped(record[key]);
    if (item === undefined) return undefined;
    out += (first ? '"' : ',"') + key + '":' + item;
    first = false;
  }
  return out + "}";
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
