/**
 * Which Ignition journal a deploy uses. Ignition keys its journal (`<ignition dir>/deployments/<id>/`) by the id it
 * is given, and by default that id names the chain id only: a second node with the same chain id (a restarted
 * `hardhat node`, anvil next to it) then "resumes" a deployment it never saw and deploys nothing. So the id names
 * the node too, by the hash of its first block: `tom3-local-31337-2a958b13`.
 *
 * Two nodes can still share a first block (two `hardhat node`s started in the same second; a fork): a journal whose
 * recorded addresses hold no code on this node is never trusted. On a development chain (31337, 1337) it is set
 * aside and the suite is deployed afresh; on any other chain the deploy refuses and says the command that fixes it,
 * since deploying a second suite to a real chain should never happen by accident.
 */
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { DEV_CHAIN_IDS } from "../offchain/chain/deployment";

export type Variant = "local" | "governed";

/** `tom3-<variant>-<chainId>-<first 8 hex digits of the genesis hash>`. */
export function journalId(variant: Variant, chainId: number, genesisHash: string): string {
  return `tom3-${variant}-${chainId}-${genesisHash.replace(/^0x/, "").slice(0, 8).toLowerCase()}`;
}

/** The id deploys used before the genesis hash was part of it: journals of real chains may still carry it. */
export function legacyJournalId(variant: Variant, chainId: number): string {
  return `tom3-${variant}-${chainId}`;
}

/** The directory of a journal. */
export function journalDir(ignitionDir: string, deploymentId: string): string {
  return join(ignitionDir, "deployments", deploymentId);
}

/** Addresses a journal records as deployed (Ignition's `deployed_addresses.json`), by future id; {} if none. */
export function journalAddresses(dir: string): Record<string, string> {
  const file = join(dir, "deployed_addresses.json");
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
}

/** The block of the journal's first confirmed transaction: where the suite's events start; undefined if none. */
export function journalFirstBlock(dir: string): number | undefined {
  const file = join(dir, "journal.jsonl");
  if (!existsSync(file)) return undefined;
  const blocks = [...readFileSync(file, "utf8").matchAll(/"blockNumber":(\d+)/g)].map((m) => Number(m[1]));
  return blocks.length > 0 ? Math.min(...blocks) : undefined;
}

/** A deploy that must not go on; the message says why and what to run. */
export class DeployRefusedError extends Error {
  override readonly name = "DeployRefusedError";
}

export interface ChooseJournalOptions {
  ignitionDir: string;
  variant: Variant;
  chainId: number;
  genesisHash: string;
  /** Whether `address` holds code on the node deployed to. */
  hasCode: (address: string) => Promise<boolean>;
  /** The command the user ran (to repeat in a refusal). */
  command: string;
  /** For the name of a set-aside journal (default: now). */
  now?: Date;
}

export interface JournalChoice {
  deploymentId: string;
  dir: string;
  /** Lines for the user: which journal, and anything set aside. */
  notes: string[];
}

/** The journal to deploy with (see the file header). */
export async function chooseJournal(o: ChooseJournalOptions): Promise<JournalChoice> {
  const legacyDir = journalDir(o.ignitionDir, legacyJournalId(o.variant, o.chainId));
  const legacy = Object.values(journalAddresses(legacyDir));
  if (legacy.length > 0 && (await missingCode(legacy, o.hasCode)).length === 0) {
    const deploymentId = legacyJournalId(o.variant, o.chainId);
    return { deploymentId, dir: legacyDir, notes: [`Ignition journal ${legacyDir} (an earlier deploy to this node)`] };
  }

  const deploymentId = journalId(o.variant, o.chainId, o.genesisHash);
  const dir = journalDir(o.ignitionDir, deploymentId);
  const recorded = Object.values(journalAddresses(dir));
  const missing = await missingCode(recorded, o.hasCode);
  if (missing.length === 0) {
    const note = recorded.length > 0 ? "an earlier deploy to this node: reused or resumed" : "a new deployment";
    return { deploymentId, dir, notes: [`Ignition journal ${dir} (${note})`] };
  }
  if (missing.length === recorded.length && DEV_CHAIN_IDS.includes(o.chainId)) {
    const setAside = `${dir}-stale-${(o.now ?? new Date()).toISOString().replace(/[:.]/g, "-")}`;
    renameSync(dir, setAside);
    return {
      deploymentId,
      dir,
      notes: [
        `Ignition journal ${dir} recorded a suite this node does not hold (another node with the same first block): ` +
          `moved to ${setAside}; deploying afresh`,
      ],
    };
  }
  throw new DeployRefusedError(
    `the Ignition journal ${dir} records contracts at ${missing.join(", ")}, but this node (chain ${o.chainId}, first ` +
      `block ${o.genesisHash.slice(0, 10)}…) has no code there, so it belongs to another node; if this node is the one ` +
      `to deploy to, set that journal aside and deploy again: \`mv ${dir} ${dir}-stale && ${o.command}\``,
  );
}

/** The addresses of `addresses` without code. */
export async function missingCode(addresses: readonly string[], hasCode: (address: string) => Promise<boolean>): Promise<string[]> {
  const found = await Promise.all(addresses.map((a) => hasCode(a)));
  return addresses.filter((_, i) => !found[i]);
}
