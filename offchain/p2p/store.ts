/**
 * Verified manifests, by (deployment id, version). Only content that passed verification (parsed, and its version
 * equal to the deployment's on-chain version when it arrived) is ever put here, so a fetch serves nothing else.
 *
 * With a directory, each manifest is also written to `<dir>/<deploymentId>/<version>.yaml`, crash-safely (a
 * temporary file, fsync, rename), and read back at start-up; a file whose content does not hash to its name is
 * skipped, never served.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../chain/atomic-write";
import { parseManifest, type ParsedManifest } from "../manifest";

export interface StoredManifest {
  deploymentId: bigint;
  version: string;
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
        const match = /^(0x[0-9a-f]{64})\.yaml$/.exec(file);
        if (!match) continue;
        try {
          const text = readFileSync(join(this.dir, deployment, file), "utf8");
          const manifest = parseManifest(text, { source: file });
          if (manifest.version !== match[1]) continue;
          const entry = {
            deploymentId: BigInt(deployment),
            version: match[1],
            bytes: Buffer.from(text, "utf8"),
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

  /** Keep a verified manifest (and persist it when the store has a directory). */
  put(entry: StoredManifest): void {
    if (entry.manifest.version !== entry.version) throw new Error("only verified manifests are stored");
    if (this.dir !== undefined) {
      writeFileAtomic(
        join(this.dir, entry.deploymentId.toString(), `${entry.version}.yaml`),
        new TextDecoder().decode(entry.bytes),
      );
    }
    this.entries.set(key(entry.deploymentId, entry.version), entry);
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
