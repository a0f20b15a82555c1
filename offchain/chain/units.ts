/**
 * Units of the TOM3 protocol in on-chain form, for CLI flags and every other input that is not a whole manifest:
 * cpu, memory, storage, bandwidth and durations as `Resources` units (cpuMillis, MiB, MiB, Mbps) and seconds, token
 * amounts ("10" TOM3 or "10wei") as wei, and the matching formatters.
 *
 * The grammar of each unit is the manifest's (`offchain/manifest/units.ts`: "250m", "256Mi", "10Mbps", "1h30m"), so a
 * value means the same on the command line as in a manifest. What this file adds: errors name the field they are
 * about (a flag like `--memory`), and conversion to the on-chain units, which are whole MiB and whole Mbps: a value in
 * between rounds up, as the manifest's orders do ("at least this much").
 */
import { parseUnits } from "ethers";
import {
  UnitError as ManifestUnitError,
  parseBandwidth,
  parseBytes as parseManifestBytes,
  parseCpu,
  parseDuration,
} from "../manifest/units";
import type { UnitInput } from "../manifest/units";

export type { UnitInput };

/**
 * A value that does not parse or does not fit; `field` says which input it was. A manifest `UnitError` too, so
 * one `instanceof` catches both.
 */
export class UnitError extends ManifestUnitError {
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

const UINT32_MAX = 2 ** 32 - 1;
const MIB = 2 ** 20;
const MBPS = 1_000_000;
const TOKEN_DECIMALS = 18;

/** CPU as a number of CPUs ("0.5") or millicores ("250m") → millicores (uint32). */
export function parseCpuMillis(value: UnitInput, field = "cpu"): number {
  return fitUint32(labelled(field, value, parseCpu), field, value, "millicores");
}

/** A size in plain bytes or binary units ("256Mi", "1.5Gi") → bytes. */
export function parseBytes(value: UnitInput, field = "memory"): number {
  return labelled(field, value, parseManifestBytes);
}

/** A size (see `parseBytes`) → whole MiB, rounded up (uint32). */
export function parseMiB(value: UnitInput, field = "memory"): number {
  return fitUint32(Math.ceil(parseBytes(value, field) / MIB), field, value, "MiB");
}

/** A bandwidth in bps, Kbps, Mbps or Gbps → bits per second. */
export function parseBitsPerSecond(value: UnitInput, field = "bandwidth"): number {
  return labelled(field, value, parseBandwidth);
}

/** A bandwidth (see `parseBitsPerSecond`) → whole Mbps, rounded up (uint32). */
export function parseMbps(value: UnitInput, field = "bandwidth"): number {
  return fitUint32(Math.ceil(parseBitsPerSecond(value, field) / MBPS), field, value, "Mbps");
}

/** A duration in d, h, m, s ("30s", "1h30m", "1.5h") → seconds. */
export function parseDurationSeconds(value: UnitInput, field = "duration"): number {
  return labelled(field, value, parseDuration);
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

/** A token amount: "10" or "0.5" (TOM3, 18 decimals; "10 TOM3" too) or "10wei" → wei. */
export function parseTokenAmount(value: UnitInput, field = "amount"): bigint {
  const text = String(value).trim();
  const wei = /^(\d+)\s*wei$/.exec(text);
  if (wei) return BigInt(wei[1]);
  const tom3 = /^(\d+)(?:\.(\d+))?\s*(?:TOM3)?$/.exec(text);
  if (!tom3) throw new UnitError(field, value, `"${text}" is not an amount; write TOM3 ("1.5") or wei ("1500wei")`);
  if ((tom3[2] ?? "").length > TOKEN_DECIMALS) throw new UnitError(field, value, `"${text}" is finer than one wei`);
  return parseUnits(tom3[2] === undefined ? tom3[1] : `${tom3[1]}.${tom3[2]}`, TOKEN_DECIMALS);
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
  return abs !== 0n && abs < 10n ** 12n ? `${wei} wei` : formatTokenAmount(wei);
}

/** A unix time as UTC: 1767225600 → "2026-01-01 00:00:00 UTC". */
export function formatTime(seconds: bigint | number): string {
  const ms = Number(seconds) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return `${seconds}`;
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
}

/** Run a manifest parser, naming `field` in its error. */
function labelled<T>(field: string, value: UnitInput, parse: (value: UnitInput) => T): T {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof ManifestUnitError && !(error instanceof UnitError)) {
      throw new UnitError(field, value, error.message);
    }
    throw error;
  }
}

function fitUint32(n: number, field: string, value: UnitInput, unit: string): number {
  if (n > UINT32_MAX) {
    throw new UnitError(field, value, `${String(value)} is ${n} ${unit}, above the on-chain maximum ${UINT32_MAX}`);
  }
  return n;
}
