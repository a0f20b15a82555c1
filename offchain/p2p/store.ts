/**
 * Verified manifests, by (deployment id, version). Only content that passed verification (parsed, and its version
 * equal to the deployment's on-chain version when it arrived) is ever put here, so a fetch serves nothing else.
 *
 * Entries hold the canonical form (RFC 8785 JSON, whose keccak256 is the version), whatever encoding it arrived in.
 * With a directory, each manifest is also written to `<dir>/<deploymentId>/<version>.json`, crash-safely (a
 * temporary file, fsync, rename), and read back at start-up; a file whose content does not hash to its name is
 * skipped, never served. `<version>.yaml` files written by earlier versions are still read.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../chain/atomic-write";
import type { ParsedManifest } from "../manifest";
import { readManifestBytes } from "./payload";

export interface StoredManifest {
  deploymentId: bigint;
  version: string;
  /** The canonical form's UTF-8 bytes. */
  bytes: Uint8Array;
  manifest: ParsedManifest;
  /** Address of the participant it came from ("" when read from disk). */
  from: string;
  storedAt: number;
}

export class ManifestStore {
  private readonly entries = new Map<string, StoredManifest>();

  /** `dir`: where to persist; in memory only when undefined. */
  constructor(private readonly dir?: string) {}

  /** Read what an earlier run persisted; returns the number of manifests loaded. */
  load(): number {
    if (this.dir === undefined || !existsSync(this.dir)) return 0;
    let loaded = 0;
    for (const deployment of readdirSync(this.dir)) {
      if (!/^[0-9]+$/.test(deployment)) continue;
      for (const file of readdirSync(join(this.dir, deployment))) {
        const match = /^(0x[0-9a-f]{64})\.(json|yaml)$/.exec(file);
        if (!match) continue;
        try {
          const bytes = readFileSync(join(this.dir, deployment, file));
          const encoding = match[2] === "json" ? "canonical" : "yaml";
          const manifest = readManifestBytes(bytes, encoding, { expected: match[1], source: file });
          const entry = {
            deploymentId: BigInt(deployment),
            version: match[1],
            bytes: encoding === "canonical" ? new Uint8Array(bytes) : new TextEncoder().encode(manifest.canonical),
            manifest,
            from: "",
            storedAt: Date.now(),
          };
          this.entries.set(key(entry.deploymentId, entry.version), entry);
          loaded++;
        } catch {
          // A file that no longer parses (edited by hand, from a newer format) is skipped, not served.
        }
      }
    }
    return loaded;
  }

  /** Keep a verified manifest (and persist it when the store has a directory); `bytes` are replaced by the canonical form. */
  put(entry: StoredManifest): void {
    if (entry.manifest.version !== entry.version) throw new Error("only verified manifests are stored");
    const canonical = { ...entry, bytes: new TextEncoder().encode(entry.manifest.canonical) };
    if (this.dir !== undefined) {
      writeFileAtomic(join(this.dir, entry.deploymentId.toString(), `${entry.version}.json`), entry.manifest.canonical);
    }
    this.entries.set(key(entry.deploymentId, entry.version), canonical);
  }

  get(deploymentId: bigint, version: string): StoredManifest | undefined {
    return this.entries.get(key(deploymentId, version));
  }

  has(deploymentId: bigint, version: string): boolean {
    return this.entries.has(key(deploymentId, version));
  }

  /** Every stored version of a deployment, oldest first. */
  versions(deploymentId: bigint): StoredManifest[] {
    return [...this.entries.values()]
      .filter((e) => e.deploymentId === deploymentId)
      .sort((a, b) => a.storedAt - b.storedAt);
  }
}

function key(deploymentId: bigint, version: string): string {
  return `${deploymentId}:${version.toLowerCase()}`;
}
