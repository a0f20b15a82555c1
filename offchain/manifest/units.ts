/**
 * Units of the workload manifest, parsed exactly (decimal arithmetic on bigints, never through floating point):
 * cpu → millicores, memory and storage → bytes, bandwidth → bits per second, durations → seconds.
 *
 * A value that is not a whole number of the base unit (0.0001 CPU = 0.1 millicore, 0.5s) is refused rather than
 * rounded, so one manifest has exactly one meaning. Results are JavaScript integers no larger than
 * `Number.MAX_SAFE_INTEGER` (2^53 - 1: 8 PiB of memory, or 285 million years), far above what an order can carry.
 */
import { quoteWithHint } from "./errors";

/** A unit value was refused; the message says what was wrong and which forms are accepted. */
export class UnitError extends Error {
  override name = "UnitError" as const;
}

/** What a parser accepts: text as written in the manifest, or a number (integers may be bigints). */
export type UnitInput = string | number | bigint;

// One decimal number: digits, optionally a fraction. No sign, no exponent, no thousands separators.
const DECIMAL = "([0-9]+)(?:\\.([0-9]+))?";

const CPU_FORMS = "a number of CPUs (0.5, 2) or millicores (250m)";
const SIZE_FORMS = "a size in binary units Ki, Mi, Gi, Ti (64Mi, 1.5Gi) or plain bytes (134217728)";
const BANDWIDTH_FORMS = "a bandwidth in bps, Kbps, Mbps or Gbps (500Kbps, 10Mbps, 1Gbps)";
const DURATION_FORMS = "a duration in d, h, m, s, largest unit first (30s, 15m, 1h, 1h30m, 7d)";

const SIZE_UNITS: Record<string, bigint> = { "": 1n, Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n };
const BANDWIDTH_UNITS: Record<string, bigint> = { bps: 1n, Kbps: 1_000n, Mbps: 1_000_000n, Gbps: 1_000_000_000n };
const DURATION_UNITS: [suffix: string, seconds: bigint][] = [
  ["d", 86_400n],
  ["h", 3_600n],
  ["m", 60n],
  ["s", 1n],
];

const CPU_RE = new RegExp(`^${DECIMAL}(m?)$`);
const SIZE_RE = new RegExp(`^${DECIMAL}(Ki|Mi|Gi|Ti)?$`);
const BANDWIDTH_RE = new RegExp(`^${DECIMAL}(bps|Kbps|Mbps|Gbps)$`);
const DURATION_RE = new RegExp(`^${DURATION_UNITS.map(([unit]) => `(?:${DECIMAL}${unit})?`).join("")}$`);

/** CPU as a number of CPUs (`0.5`, `"2"`) or millicores (`"250m"`) → millicores. */
export function parseCpu(value: UnitInput): number {
  const text = asText(value, CPU_FORMS);
  const match = CPU_RE.exec(text);
  if (!match) throw new UnitError(`expected ${CPU_FORMS}, got ${show(value)}`);
  const [, whole, fraction, milli] = match;
  const scale = milli === "m" ? 1n : 1000n;
  const result = scaled(whole, fraction, scale);
  if (result === undefined) {
    throw new UnitError(`${text} is not a whole number of millicores (1 CPU = 1000m); use at most 3 decimals of a CPU`);
  }
  return safe(result, text);
}

/** Memory or storage in binary units (`"128Mi"`, `"1.5Gi"`) or plain bytes (`134217728`) → bytes. */
export function parseBytes(value: UnitInput): number {
  const text = asText(value, SIZE_FORMS);
  const match = SIZE_RE.exec(text);
  if (!match) throw new UnitError(`expected ${SIZE_FORMS}, got ${show(value)}${sizeHint(text)}`);
  const [, whole, fraction, unit = ""] = match;
  const result = scaled(whole, fraction, SIZE_UNITS[unit]);
  if (result === undefined) throw new UnitError(`${text} is not a whole number of bytes`);
  return safe(result, text);
}

/** Bandwidth in `bps`, `Kbps`, `Mbps` or `Gbps` (decimal multiples) → bits per second. */
export function parseBandwidth(value: UnitInput): number {
  const text = asText(value, BANDWIDTH_FORMS);
  const match = BANDWIDTH_RE.exec(text);
  if (!match) throw new UnitError(`expected ${BANDWIDTH_FORMS}, got ${show(value)}${bandwidthHint(text)}`);
  const [, whole, fraction, unit] = match;
  const result = scaled(whole, fraction, BANDWIDTH_UNITS[unit]);
  if (result === undefined) throw new UnitError(`${text} is not a whole number of bits per second`);
  return safe(result, text);
}

/** A duration such as `30s`, `15m`, `1h30m`, `1.5h` or `7d` → seconds. */
export function parseDuration(value: UnitInput): number {
  const text = asText(value, DURATION_FORMS);
  const match = text === "" ? null : DURATION_RE.exec(text);
  if (!match) {
    const hint = /^[0-9]+$/.test(text) ? ` (a unit is required: ${text}s?)` : "";
    throw new UnitError(`expected ${DURATION_FORMS}, got ${show(value)}${hint}`);
  }
  let total = 0n;
  DURATION_UNITS.forEach(([unit, seconds], i) => {
    const whole = match[1 + 2 * i];
    if (whole === undefined) return;
    const part = scaled(whole, match[2 + 2 * i], seconds);
    if (part === undefined) throw new UnitError(`${whole}.${match[2 + 2 * i]}${unit} is not a whole number of seconds`);
    total += part;
  });
  return safe(total, text);
}

/**
 * The decimal `whole.fraction` times `scale`, exactly; undefined when that is not an integer.
 * E.g. ("1", "5", 1024n) → 1536n; ("0", "0001", 1000n) → undefined.
 */
function scaled(whole: string, fraction: string | undefined, scale: bigint): bigint | undefined {
  const digits = fraction ?? "";
  const denominator = 10n ** BigInt(digits.length);
  const numerator = BigInt(whole + digits) * scale;
  return numerator % denominator === 0n ? numerator / denominator : undefined;
}

function safe(value: bigint, text: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnitError(`${text} is too large`);
  return Number(value);
}

/** Longer than any value worth parsing (2^53 has 16 digits); keeps a hostile manifest from costly bigint parsing. */
const MAX_TEXT = 100;

function asText(value: unknown, forms: string): string {
  if (typeof value === "string") {
    if (value.length > MAX_TEXT) throw new UnitError(`expected ${forms}, got ${value.length} characters`);
    return value;
  }
  if (typeof value === "bigint") return value.toString();
  // String() of a finite number is its shortest exact decimal form, or an exponent form the grammar refuses.
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new UnitError(`expected ${forms}, got ${show(value)}`);
}

function show(value: unknown): string {
  if (typeof value === "string") return quoteWithHint(value);
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "object") return Array.isArray(value) ? "a list" : "a map";
  return String(value);
}

function sizeHint(text: string): string {
  const match = /^[0-9.]+\s*([a-zA-Z]+)$/.exec(text);
  if (!match) return "";
  const letter = match[1][0].toUpperCase();
  if ("KMGT".includes(letter)) return ` (sizes are binary: did you mean ${letter}i, e.g. ${text.replace(/\s*[a-zA-Z]+$/, `${letter}i`)}?)`;
  return "";
}

function bandwidthHint(text: string): string {
  const match = /^([0-9.]+)\s*([a-zA-Z/]+)$/.exec(text);
  if (!match) return /^[0-9.]+$/.test(text) ? ` (a unit is required: ${text}Mbps?)` : "";
  const letter = match[2][0].toUpperCase();
  if ("KMG".includes(letter)) return ` (did you mean ${match[1]}${letter}bps?)`;
  return "";
}
