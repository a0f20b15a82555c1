/**
 * The provider daemon's persisted state in `dataDir`: chain cursor (with recent block hashes for reorg detection),
 * bid decisions, inventory reservations, match attempts and flags of the market side.
 *
 * Layout: `state.json` is a snapshot written atomically (temporary file, fsync, rename); `journal.jsonl` holds
 * every change since, one JSON line each, appended (and fsynced when `durable`). Loading reads the snapshot and
 * replays the journal; a torn last line (a crash mid-append) is ignored. Every journal entry *sets* a value, so
 * replaying an entry twice (a crash between writing a snapshot and truncating the journal) is harmless. When the
 * journal grows past `compactEvery` entries it is folded into a new snapshot.
 *
 * Why a journal: the bid engine records a decision per order; rewriting a 10,000-order snapshot for each would cost
 * O(n) per decision, an append is O(1).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../chain/atomic-write";

/** The last block the watcher processed, with its hash: if the hash is no longer canonical, the chain reorganised. */
export interface ChainCursor {
  block: number;
  hash: string;
}

/** The tables of the state; every value is plain JSON (bigints as decimal strings). */
export interface StateTables {
  /** orderId → the bid engine's decision (see bidengine.ts `Decision`). */
  decisions: Record<string, unknown>;
  /** orderId → inventory reservation (see inventory.ts `Reservation`). */
  reservations: Record<string, unknown>;
  /** orderId → match attempt (tx hash), so a restart does not match twice. */
  matches: Record<string, unknown>;
  /** charterId → the charter manager's record (see charters.ts `CharterRecord`). */
  charters: Record<string, unknown>;
}

export type TableName = keyof StateTables;

interface Snapshot extends StateTables {
  format: 1;
  cursor: ChainCursor | null;
  /** Cursor positions of the last batches, newest last: where a reorg rewinds to. */
  recent: ChainCursor[];
}

type JournalEntry =
  | { t: "cursor"; cursor: ChainCursor | null; recent: ChainCursor[] }
  | { t: TableName; id: string; v: unknown | null };

export interface StateStoreOptions {
  /** fsync each journal append (default true); the benchmark may turn it off to measure the engine alone. */
  durable?: boolean;
  /** Fold the journal into a snapshot after this many entries (default 5,000). */
  compactEvery?: number;
}

export class StateStore {
  readonly dir: string;
  private readonly snapshotFile: string;
  private readonly journalFile: string;
  private readonly durable: boolean;
  private readonly compactEvery: number;
  private data: Snapshot;
  private journalEntries = 0;
  private fd: number | undefined;

  /** Open (or create) the state in `dir`. */
  constructor(dir: string, options: StateStoreOptions = {}) {
    this.dir = dir;
    this.snapshotFile = join(dir, "state.json");
    this.journalFile = join(dir, "journal.jsonl");
    this.durable = options.durable ?? true;
    this.compactEvery = options.compactEvery ?? 5_000;
    mkdirSync(dir, { recursive: true });
    this.data = emptySnapshot();
    if (existsSync(this.snapshotFile)) {
      const parsed = JSON.parse(readFileSync(this.snapshotFile, "utf8")) as Snapshot;
      if (parsed.format !== 1) throw new Error(`${this.snapshotFile}: unknown state format ${String(parsed.format)}`);
      this.data = { ...emptySnapshot(), ...parsed };
    }
    if (existsSync(this.journalFile)) {
      const lines = readFileSync(this.journalFile, "utf8").split("\n");
      for (const line of lines) {
        if (line.trim() === "") continue;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          break; // a torn last line: the change it held never completed
        }
        this.apply(entry);
        this.journalEntries++;
      }
    }
    this.fd = openSync(this.journalFile, "a");
  }

  get cursor(): ChainCursor | null {
    return this.data.cursor;
  }

  get recent(): readonly ChainCursor[] {
    return this.data.recent;
  }

  setCursor(cursor: ChainCursor | null, recent: ChainCursor[]): void {
    this.write({ t: "cursor", cursor, recent });
  }

  get<T>(table: TableName, id: string): T | undefined {
    return this.data[table][id] as T | undefined;
  }

  all<T>(table: TableName): [string, T][] {
    return Object.entries(this.data[table]) as [string, T][];
  }

  count(table: TableName): number {
    return Object.keys(this.data[table]).length;
  }

  /** Set (or, with undefined, delete) a row. */
  put(table: TableName, id: string, value: unknown | undefined): void {
    this.write({ t: table, id, v: value === undefined ? null : value });
  }

  /** Fold the journal into a fresh snapshot. */
  compact(): void {
    writeFileAtomic(this.snapshotFile, JSON.stringify(this.data));
    if (this.fd !== undefined) closeSync(this.fd);
    truncateSync(this.journalFile, 0);
    this.fd = openSync(this.journalFile, "a");
    this.journalEntries = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private write(entry: JournalEntry): void {
    this.apply(entry);
    if (this.fd === undefined) throw new Error("state store is closed");
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    if (this.durable) fsyncSync(this.fd);
    if (++this.journalEntries >= this.compactEvery) this.compact();
  }

  private apply(entry: JournalEntry): void {
    if (entry.t === "cursor") {
      this.data.cursor = entry.cursor;
      this.data.recent = entry.recent;
      return;
    }
    const table = this.data[entry.t];
    if (!table) return;
    if (entry.v === null) delete table[entry.id];
    else table[entry.id] = entry.v;
  }
}

function emptySnapshot(): Snapshot {
  return { format: 1, cursor: null, recent: [], decisions: {}, reservations: {}, matches: {}, charters: {} };
}
