/**
 * Units of the TOM3 protocol (PROTOCOL.md, "Units" and the manifest rules), pure and exact (no floating point):
 * parsing text like "250m", "256Mi", "10Mbps", "1h", "10" TOM3 or "10wei" into base units (millicores, bytes, bits
 * per second, seconds, wei) and into the on-chain `Resources` units (cpuMillis, MiB, MiB, Mbps). Every error names
 * the field it is about (a CLI flag like `--memory` or a manifest path like `services.api.resources.memory`).
 *
 * On-chain units are whole MiB and whole Mbps; a value in between rounds up, the way a requirement reads
 * ("at least this much").
 */

/** A value that does not parse or does not fit; `field` says which input it was. */
export class UnitError extends Error {
  override readonly name = "UnitError";
  constructor(
    readonly field: string,
    readonly value: unknown,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** Resources as the contracts hold them (`Resources` in IMarket.sol), each a uint32. */
export interface Resources {
  cpuMillis: number;
  memoryMiB: number;
  storageMiB: number;
  bandwidthMbps: number;
}

export type UnitInput = string | number | bigint;

const UINT32_MAX = 2 ** 32 - 1;
const MIB = 1024n * 1024n;
const BINARY_SIZES: Record<string, bigint> = { "": 1n, Ki: 1024n, Mi: MIB, Gi: 1024n * MIB };
const BANDWIDTHS: Record<string, bigint> = { Kbps: 1000n, Mbps: 1000n ** 2n, Gbps: 1000n ** 3n };
const DURATIONS: Record<string, bigint> = { "": 1n, s: 1n, m: 60n, h: 3600n, d: 86400n };
const TOKEN_DECIMALS = 18;

/** CPU as a number of CPUs ("0.5", 2) or millicores ("250m") → millicores (uint32). */
export function parseCpuMillis(value: UnitInput, field = "cpu"): number {
  const { number, unit } = split(value, field, /^(m?)$/, `use a number of CPUs (0.5) or millicores (500m)`);
  const millis = exact(number, unit === "m" ? 1n : 1000n, field, value, "is finer than a millicore");
  return fitUint32(millis, field, value, "millicores");
}

/** A size in plain bytes or binary units (`Ki`, `Mi`, `Gi`) → bytes. */
export function parseBytes(value: UnitInput, field = "memory"): bigint {
  const hint = "use plain bytes or binary units Ki, Mi, Gi (e.g. 256Mi)";
  const { number, unit } = split(value, field, /^(|Ki|Mi|Gi)$/, hint, (unit) =>
    /^[KMG]iB$/.test(unit)
      ? `write "${unit.slice(0, 2)}" instead of "${unit}"`
      : /^[kKMGT]B?$/.test(unit)
        ? `"${unit}" is a decimal unit; ${hint}`
        : undefined,
  );
  return exact(number, BINARY_SIZES[unit], field, value, "is not a whole number of bytes");
}

/** A size (see `parseBytes`) → whole MiB, rounded up (uint32). */
export function parseMiB(value: UnitInput, field = "memory"): number {
  return fitUint32(ceilDiv(parseBytes(value, field), MIB), field, value, "MiB");
}

/** A bandwidth in `Kbps`, `Mbps` or `Gbps` → bits per second. */
export function parseBitsPerSecond(value: UnitInput, field = "bandwidth"): bigint {
  const { number, unit } = split(value, field, /^(Kbps|Mbps|Gbps)$/, "use Kbps, Mbps or Gbps (e.g. 10Mbps)");
  return exact(number, BANDWIDTHS[unit], field, value, "is not a whole number of bits per second");
}

/** A bandwidth (see `parseBitsPerSecond`) → whole Mbps, rounded up (uint32). */
export function parseMbps(value: UnitInput, field = "bandwidth"): number {
  return fitUint32(ceilDiv(parseBitsPerSecond(value, field), BANDWIDTHS.Mbps), field, value, "Mbps");
}

/** A duration in `s`, `m`, `h` or `d` (a plain number is seconds) → whole seconds. */
export function parseDurationSeconds(value: UnitInput, field = "duration"): number {
  const { number, unit } = split(value, field, /^(|s|m|h|d)$/, "use s, m, h or d (e.g. 30s, 1h)");
  const seconds = exact(number, DURATIONS[unit], field, value, "is not a whole number of seconds");
  if (seconds > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnitError(field, value, `${String(value)} is too long`);
  return Number(seconds);
}

/** The four resources of an order or a bid, in on-chain units. `fields` names each input in errors. */
export function parseResources(
  input: { cpu: UnitInput; memory: UnitInput; storage: UnitInput; bandwidth: UnitInput },
  fields: { cpu: string; memory: string; storage: string; bandwidth: string } = {
    cpu: "cpu",
    memory: "memory",
    storage: "storage",
    bandwidth: "bandwidth",
  },
): Resources {
  return {
    cpuMillis: parseCpuMillis(input.cpu, fields.cpu),
    memoryMiB: parseMiB(input.memory, fields.memory),
    storageMiB: parseMiB(input.storage, fields.storage),
    bandwidthMbps: parseMbps(input.bandwidth, fields.bandwidth),
  };
}

/** Resources in the units people write: "cpu 500m, memory 256Mi, storage 1024Mi, bandwidth 10Mbps". */
export function formatResources(resources: { [K in keyof Resources]: number | bigint }): string {
  return (
    `cpu ${resources.cpuMillis}m, memory ${resources.memoryMiB}Mi, ` +
    `storage ${resources.storageMiB}Mi, bandwidth ${resources.bandwidthMbps}Mbps`
  );
}

/** A token amount: "10" or "0.5" (TOM3, 18 decimals) or "10wei" → wei. */
export function parseTokenAmount(value: UnitInput, field = "amount"): bigint {
  const { number, unit } = split(value, field, /^(|wei|TOM3)$/, 'use TOM3 ("1.5") or wei ("1500wei")');
  return exact(number, unit === "wei" ? 1n : 10n ** BigInt(TOKEN_DECIMALS), field, value, "is finer than one wei");
}

/** Wei as TOM3 with every significant decimal: 1500000000000000000n → "1.5 TOM3". */
export function formatTokenAmount(wei: bigint): string {
  const negative = wei < 0n;
  const abs = negative ? -wei : wei;
  const scale = 10n ** BigInt(TOKEN_DECIMALS);
  const fraction = (abs % scale).toString().padStart(TOKEN_DECIMALS, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${abs / scale}${fraction ? `.${fraction}` : ""} TOM3`;
}

/** Wei for people: TOM3 ("1.5 TOM3"), or wei when TOM3 would need more than 12 leading zero decimals. */
export function formatTokens(wei: bigint): string {
  const abs = wei < 0n ? -wei : wei;
  return abs !== 0n && abs < 10n ** 6n * 10n ** 6n ? `${wei} wei` : formatTokenAmount(wei);
}

/** A unix time as UTC: 1767225600 → "2026-01-01 00:00:00 UTC". */
export function formatTime(seconds: bigint | number): string {
  const ms = Number(seconds) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return `${seconds}`;
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, " UTC");
}

// ------------------------------------------------------------------ exact decimal arithmetic

/** A non-negative decimal as digits / 10^scale. */
interface Decimal {
  digits: bigint;
  scale: number;
}

function split(
  value: UnitInput,
  field: string,
  units: RegExp,
  hint: string,
  explainUnit?: (unit: string) => string | undefined,
): { number: Decimal; unit: string } {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new UnitError(field, value, `${value} is not a number; ${hint}`);
  }
  const text = typeof value === "string" ? value.trim() : String(value);
  const match = /^(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z0-9]*)$/.exec(text);
  if (!match) {
    const problem =
      text === "" ? "is empty" : text.startsWith("-") ? `"${text}" is negative` : `"${text}" is not valid`;
    throw new UnitError(field, value, `${problem}; ${hint}`);
  }
  const unit = match[2];
  if (!units.test(unit)) {
    const problem = unit === "" ? `"${text}" has no unit` : `unknown unit "${unit}" in "${text}"`;
    throw new UnitError(field, value, explainUnit?.(unit) ?? `${problem}; ${hint}`);
  }
  const [whole, fraction = ""] = match[1].split(".");
  return { number: { digits: BigInt(`${whole}${fraction}` || "0"), scale: fraction.length }, unit };
}

/** `number * factor` when it is a whole number, else an error. */
function exact(number: Decimal, factor: bigint, field: string, value: UnitInput, fractional: string): bigint {
  const numerator = number.digits * factor;
  const denominator = 10n ** BigInt(number.scale);
  if (numerator % denominator !== 0n) throw new UnitError(field, value, `"${String(value)}" ${fractional}`);
  return numerator / denominator;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

function fitUint32(n: bigint, field: string, value: UnitInput, unit: string): number {
  if (n > BigInt(UINT32_MAX)) {
    throw new UnitError(field, value, `"${String(value)}" is ${n} ${unit}, above the on-chain maximum ${UINT32_MAX}`);
  }
  return Number(n);
}
