/**
 * What this machine really has: CPUs and memory from the OS, free disk under the data directory. `tom3 provider
 * init` writes these as the capacity, and every start compares the configured capacity with them, so a provider that
 * offers 8 CPUs on a 2-CPU host hears about it before it wins an order it cannot run.
 */
import { statfsSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";
import type { Resources } from "../chain/units";

/** The host's resources; `storageMiB` is the free space of the file system holding `dataDir` (or its parent). */
export interface HostCapacity {
  cpuMillis: number;
  memoryMiB: number;
  /** Undefined when no existing directory on the path to `dataDir` could be measured. */
  storageMiB: number | undefined;
}

export function measureHost(dataDir: string): HostCapacity {
  return { cpuMillis: cpus().length * 1000, memoryMiB: Math.floor(totalmem() / 2 ** 20), storageMiB: freeDiskMiB(dataDir) };
}

/** Free space (for an unprivileged user) of the file system holding `path`, or its nearest existing parent. */
export function freeDiskMiB(path: string): number | undefined {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      const stats = statfsSync(dir);
      return Math.floor((Number(stats.bavail) * Number(stats.bsize)) / 2 ** 20);
    } catch {
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/** One configured resource above what the host has. */
export interface CapacityWarning {
  /** The config field: `capacity.cpu`, `capacity.memory`, `capacity.storage`. */
  path: string;
  message: string;
}

/** Each configured resource that exceeds the host, as a sentence naming the field and both figures. */
export function capacityWarnings(configured: Partial<Resources>, host: HostCapacity): CapacityWarning[] {
  const out: CapacityWarning[] = [];
  const check = (path: string, wanted: number | undefined, has: number | undefined, show: (n: number) => string, what: string) => {
    if (wanted === undefined || has === undefined || wanted <= has) return;
    out.push({ path, message: `${show(wanted)} is more than this host has (${show(has)}${what ? ` ${what}` : ""}): orders that need it would be won and then fail` });
  };
  check("capacity.cpu", configured.cpuMillis, host.cpuMillis, (n) => `${n / 1000} CPU`, "");
  check("capacity.memory", configured.memoryMiB, host.memoryMiB, mib, "of memory");
  check("capacity.storage", configured.storageMiB, host.storageMiB, mib, "free under the data directory");
  return out;
}

/** MiB as the config writes it: whole Gi when exact, else Mi. */
export function mib(n: number): string {
  return n % 1024 === 0 ? `${n / 1024}Gi` : `${n}Mi`;
}
