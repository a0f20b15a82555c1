/**
 * Reading a manifest's YAML text: from the YAML document to plain JSON data (what the schema and the rules see),
 * keeping, for every field path, the YAML node it came from, so that any problem can be located by line and column
 * and unit values can be read exactly as written.
 *
 * YAML 1.2 core schema only. Aliases are expanded (anchors are style, not meaning); merge keys (`<<`, a YAML 1.1
 * feature), tags other than the core ones, non-string keys, non-finite numbers and unpaired surrogates are refused,
 * so that every implementation reading a manifest sees the same data.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Parser, visit } from "yaml";
import type { Alias, Document, Node, Scalar, YAMLError } from "yaml";
import { formatPath, type ManifestIssue, type PathSegment } from "./errors";
import { formatLimit, MAX_MANIFEST_BYTES } from "./limits";

/** JSON data as read from the manifest (before validation). */
export type Data = null | boolean | number | string | Data[] | { [key: string]: Data };

/** A line and column, 1-based. */
export interface Location {
  line: number;
  column: number;
}

/** The manifest's data, where each field sits in the text, and the problems found while reading it. */
export interface ManifestSource {
  data: Data;
  /** YAML syntax errors and refused YAML features; when `fatal`, `data` is unusable. */
  issues: ManifestIssue[];
  fatal: boolean;
  /** Where the value at `path` sits; `at: "key"` prefers its key (for a missing or unknown key, a misplaced entry). */
  locate(path: readonly PathSegment[], at?: "key" | "value"): Location | undefined;
  /**
   * The text of a scalar as written: its string value, or for a plain number its exact source text (so 0.1 stays
   * "0.1" and 12345678901234567890 stays exact). Undefined for a map, a list, a boolean or an empty value.
   */
  textAt(path: readonly PathSegment[]): string | undefined;
  /** The exact value of an integer scalar (YAML integers are read as bigints), or undefined. */
  integerAt(path: readonly PathSegment[]): bigint | undefined;
  /** Paths of every number in the manifest (integers and floats), for the rules on how numbers are written. */
  numbers: PathSegment[][];
}

/** Nodes visited at most, aliases expanded: stops "billion laughs" documents. */
const MAX_NODES = 100_000;

const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((name) => `tag:yaml.org,2002:${name}`),
);

interface Entry {
  key?: Node;
  value: Node;
}

/** Reads YAML text into data plus locations. Never throws. */
export function readManifestSource(text: string): ManifestSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    intAsBigInt: true, // integers keep every digit (maxPricePerSecond goes up to 2^128 - 1)
    stringKeys: true, // `80:` and `null:` are the keys "80" and "null", as written
    // Duplicate keys are found by the walker, in one pass: the library's own check compares each key with every
    // key before it (a manifest of 80,000 env entries took 70 s to read).
    uniqueKeys: false,
    merge: false,
    version: "1.2",
    schema: "core",
  });
  const entries = new Map<string, Entry>();
  const issues: ManifestIssue[] = [];
  const position = (offset: number): Location => {
    const { line, col } = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { line, column: col };
  };

  issues.push(...syntaxIssues(text, [...doc.errors, ...doc.warnings], position));

  const locate = (path: readonly PathSegment[], at: "key" | "value" = "value"): Location => {
    // The field itself, or failing that its nearest ancestor present in the text.
    for (let length = path.length; length >= 0; length--) {
      const entry = entries.get(pathKey(path.slice(0, length)));
      if (!entry) continue;
      const node = (at === "key" || length < path.length) && entry.key ? entry.key : entry.value;
      if (node.range) return position(node.range[0]);
    }
    return { line: 1, column: 1 };
  };

  const source: ManifestSource = {
    data: null,
    issues,
    fatal: issues.length > 0,
    numbers: [],
    locate,
    textAt: (path) => {
      const node = entries.get(pathKey(path))?.value;
      if (!isScalar(node)) return undefined;
      if (typeof node.value === "string") return node.value;
      if (typeof node.value === "number" || typeof node.value === "bigint") return (node as Scalar).source;
      return undefined;
    },
    integerAt: (path) => {
      const node = entries.get(pathKey(path))?.value;
      return isScalar(node) && typeof node.value === "bigint" ? node.value : undefined;
    },
  };
  if (source.fatal) return source;

  const walker = new Walker(anchorTargets(doc), entries, source.numbers, position, (path, node, message) => {
    issues.push({ path: formatPath(path), ...position(node?.range?.[0] ?? 0), message });
  });
  try {
    source.data = doc.contents ? walker.walk(doc.contents, [], undefined) : null;
  } catch (error) {
    if (!(error instanceof TooLarge)) throw error;
    issues.push({ path: "", line: 1, column: 1, message: error.message });
    source.fatal = true;
  }
  return source;
}

/** An internal map key for a field path. */
function pathKey(path: readonly PathSegment[]): string {
  return JSON.stringify(path);
}

class TooLarge extends Error {}

/**
 * What each alias stands for: the last node before it with that anchor (YAML 1.2 §3.2.2.2), found in one pass
 * (`Alias.resolve` searches the whole document for every alias, quadratic on a large manifest).
 */
function anchorTargets(doc: Document): Map<Alias, Node> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  visit(doc, (_key, node) => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target) targets.set(node, target);
    } else if ((isScalar(node) || isMap(node) || isSeq(node)) && node.anchor) {
      anchors.set(node.anchor, node);
    }
  });
  return targets;
}

/**
 * Data that did not come from YAML text (a canonical manifest, read with `JSON.parse`): no locations, and every
 * number is read as the JSON number it is.
 */
export function dataSource(data: Data): ManifestSource {
  const numbers: PathSegment[][] = [];
  const values = new Map<string, Data>();
  const walk = (node: Data, path: PathSegment[]): void => {
    values.set(pathKey(path), node);
    if (typeof node === "number") numbers.push(path);
    else if (Array.isArray(node)) node.forEach((item, i) => walk(item, [...path, i]));
    else if (node !== null && typeof node === "object") for (const [key, value] of Object.entries(node)) walk(value, [...path, key]);
  };
  walk(data, []);
  return {
    data,
    issues: [],
    fatal: false,
    numbers,
    locate: () => undefined,
    textAt: (path) => {
      const value = values.get(pathKey(path));
      return typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
    },
    integerAt: (path) => {
      const value = values.get(pathKey(path));
      return typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : undefined;
    },
  };
}

class Walker {
  private visited = 0;
  /** UTF-16 code units of every key and string met, aliases expanded: at most the UTF-8 bytes they serialise to. */
  private textLength = 0;
  private readonly open = new Set<Node>();

  constructor(
    private readonly aliases: Map<Alias, Node>,
    private readonly entries: Map<string, Entry>,
    private readonly numbers: PathSegment[][],
    private readonly position: (offset: number) => Location,
    private readonly report: (path: PathSegment[], node: Node | undefined, message: string) => void,
  ) {}

  walk(node: Node, path: PathSegment[], key: Node | undefined): Data {
    if (++this.visited > MAX_NODES) throw new TooLarge(`too many YAML nodes (more than ${MAX_NODES}, aliases expanded)`);
    if (isAlias(node)) {
      const target = this.aliases.get(node);
      if (!target) {
        this.report(path, node, `unknown anchor *${node.source}`);
        return null;
      }
      if (this.open.has(target)) {
        this.report(path, node, `alias *${node.source} refers to a value that contains it`);
        return null;
      }
      // Locate the expanded value at the alias, where the reader sees it used.
      this.entries.set(pathKey(path), { key, value: node });
      const data = this.walk(target, path, key);
      this.entries.set(pathKey(path), { key, value: isScalar(target) ? target : node });
      return data;
    }
    this.entries.set(pathKey(path), { key, value: node });
    const tag = (node as { tag?: string }).tag;
    if (tag !== undefined && !CORE_TAGS.has(tag)) {
      this.report(path, node, `unsupported YAML tag ${tag}`);
      return null;
    }
    if (isScalar(node)) return this.scalar(node, path);
    this.open.add(node);
    try {
      if (isMap(node)) {
        const out: { [key: string]: Data } = {};
        const keys = new Map<string, Node>();
        for (const pair of node.items) {
          const keyNode = pair.key as Node | null;
          if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
            this.report(path, keyNode ?? node, "keys must be plain strings");
            continue;
          }
          const name = keyNode.value;
          this.count(name);
          const first = keys.get(name);
          if (first !== undefined) {
            const line = first.range ? ` at line ${this.position(first.range[0]).line}` : "";
            this.report([...path, name], keyNode, `duplicate key: it is already${line} (a key appears once in a map)`);
            continue;
          }
          keys.set(name, keyNode);
          if (!name.isWellFormed()) {
            this.report(path, keyNode, "a key contains an unpaired surrogate (invalid Unicode)");
            continue;
          }
          if (name === "<<") {
            this.report([...path, name], keyNode, "merge keys (<<) are not supported: write the keys out, or use an alias for a whole value");
            continue;
          }
          const valueNode = (pair.value as Node | null) ?? undefined;
          const childPath = [...path, name];
          // `key:` with nothing after it is an empty (null) value; locate it at its key.
          const value = valueNode ? this.walk(valueNode, childPath, keyNode) : this.empty(childPath, keyNode);
          // defineProperty: a key such as "__proto__" is an ordinary field here, never a prototype.
          Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      if (isSeq(node)) {
        return node.items.map((item, index) => {
          const child = item as Node | null;
          return child ? this.walk(child, [...path, index], undefined) : this.empty([...path, index], node);
        });
      }
      this.report(path, node, "unsupported YAML node");
      return null;
    } finally {
      this.open.delete(node);
    }
  }

  /**
   * Text read so far, aliases expanded: a small file whose aliases repeat a long string would otherwise build a
   * canonical form of gigabytes before its size could be checked.
   */
  private count(text: string): void {
    this.textLength += text.length;
    if (this.textLength > MAX_MANIFEST_BYTES) {
      throw new TooLarge(
        `with its aliases expanded, the manifest holds more than ${formatLimit(MAX_MANIFEST_BYTES)} of text, the ` +
          "limit a provider accepts: each alias repeats its value in what providers receive, so alias large values less",
      );
    }
  }

  private empty(path: PathSegment[], near: Node): Data {
    this.entries.set(pathKey(path), { value: near });
    return null;
  }

  private scalar(node: Scalar, path: PathSegment[]): Data {
    const value = node.value;
    if (value === null || typeof value === "boolean") return value;
    if (typeof value === "string") {
      this.count(value);
      if (value.isWellFormed()) return value;
      this.report(path, node, "contains an unpaired surrogate (invalid Unicode)");
      return null;
    }
    if (typeof value === "bigint" || typeof value === "number") this.numbers.push(path);
    if (typeof value === "bigint") {
      // Exact integers beyond 2^53 reach the schema as decimal strings: only fields that accept decimal strings
      // (maxPricePerSecond, sizes) take them; elsewhere the rules say the number is too large.
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    }
    if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        this.report(path, node, `${node.source} is not a finite number`);
        return null;
      }
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        this.report(path, node, `${node.source} is too large to be exact as a floating-point number; write it as an integer`);
        return null;
      }
      return value;
    }
    this.report(path, node, "unsupported YAML value");
    return null;
  }
}

/**
 * YAML syntax errors as located issues, each where the mistake starts rather than where the parser gave up: an
 * unclosed quote or bracket at its opening (the parser notices it lines later, or at the end of the file), an
 * indentation error at the line's first character. (Duplicate keys are the walker's: see `Walker.walk`.)
 * At most one issue per position (one mistake often makes the parser report several).
 */
function syntaxIssues(
  text: string,
  errors: readonly YAMLError[],
  position: (offset: number) => Location,
): ManifestIssue[] {
  let tokens: SyntaxTokens | undefined;
  const cst = () => (tokens ??= syntaxTokens(text));
  const out: ManifestIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const { offset, message } = locatedSyntaxError(error, text, cst, position);
    const at = position(offset);
    if (seen.has(`${at.line}:${at.column}`)) continue;
    seen.add(`${at.line}:${at.column}`);
    out.push({ path: "", ...at, message });
  }
  return out;
}

function locatedSyntaxError(
  error: YAMLError,
  text: string,
  cst: () => SyntaxTokens,
  position: (offset: number) => Location,
): { offset: number; message: string } {
  const at = error.pos[0];
  switch (error.code) {
    case "MISSING_CHAR": {
      const quote = /closing (["'])quote/.exec(error.message)?.[1];
      if (quote === undefined) break;
      const opening = lastBefore(cst().unclosedQuotes, at, (token) => token.source[0] === quote);
      if (opening === undefined) break;
      return { offset: opening.offset, message: `this ${quote}-quoted string is never closed: end it with ${quote}` };
    }
    case "BAD_INDENT": {
      const bracket = /^Flow (sequence|map) in block collection/.exec(error.message)?.[1];
      if (bracket !== undefined) {
        const [open, close, what] = bracket === "map" ? ["{", "}", "map"] : ["[", "]", "list"];
        const opening = lastBefore(cst().unclosedFlows, at, (token) => token.source === open);
        if (opening !== undefined) {
          return { offset: opening.offset, message: `this ${open} is never closed: end the ${what} with ${close}` };
        }
        break;
      }
      if (error.message.startsWith("All mapping items must start at the same column")) {
        return {
          offset: firstNonBlank(text, at),
          message: "this key is not aligned with the keys above it: the keys of one map start at the same column",
        };
      }
      break;
    }
    case "TAB_AS_INDENT":
      return { offset: at, message: "a tab indents this line: YAML indents with spaces only" };
    case "MULTILINE_IMPLICIT_KEY":
    case "BLOCK_AS_IMPLICIT_KEY": {
      // A plain value that runs on to the next line: either that line is indented too deep (it continues the value
      // above it), or this line's key has no colon (its text and the next line make one long key).
      const line = lineAt(text, at);
      const next = nextContentLine(text, line.end);
      if (next !== undefined && next.indent > line.indent) {
        return {
          offset: next.start + next.indent,
          message: `this line is indented deeper than line ${position(line.start).line}, so YAML reads it as part of the value there: align it with the keys of its map`,
        };
      }
      return { offset: line.start + line.indent, message: NOT_KEY_VALUE };
    }
  }
  if (error.message.startsWith("Implicit map keys need to be followed by map values")) {
    return { offset: at, message: NOT_KEY_VALUE };
  }
  if (error.message.startsWith("Sequence item without - indicator")) {
    return {
      offset: firstNonBlank(text, at),
      message: "this line is not aligned with the list item above it, nor a new item (`- `): align it with that item's keys",
    };
  }
  return { offset: at, message: yamlMessage(error.message) };
}

const NOT_KEY_VALUE = "this line is not `key: value` (is the colon missing, or the space after it?)";

/** Tokens of the concrete syntax tree that a syntax error may stem from. */
interface SyntaxTokens {
  /** Quoted scalars with no closing quote, by offset. */
  unclosedQuotes: { offset: number; source: string }[];
  /** Flow collections (`[`, `{`) with no closing bracket: their opening bracket's token. */
  unclosedFlows: { offset: number; source: string }[];
}

/** Reads the text's tokens again (only when a syntax error needs them: the composed document keeps none). */
function syntaxTokens(text: string): SyntaxTokens {
  const found: SyntaxTokens = { unclosedQuotes: [], unclosedFlows: [] };
  const walk = (token: unknown): void => {
    if (Array.isArray(token)) {
      for (const item of token) walk(item);
      return;
    }
    if (typeof token !== "object" || token === null) return;
    const t = token as { type?: string; offset?: number; source?: string; start?: { offset: number; source: string }; end?: { type: string }[] };
    if ((t.type === "double-quoted-scalar" || t.type === "single-quoted-scalar") && !isClosedQuote(t.source ?? "")) {
      found.unclosedQuotes.push({ offset: t.offset ?? 0, source: t.source ?? "" });
    }
    if (t.type === "flow-collection" && t.start) {
      const close = t.start.source === "{" ? "flow-map-end" : "flow-seq-end";
      if (!(t.end ?? []).some((end) => end.type === close)) found.unclosedFlows.push(t.start);
    }
    for (const value of Object.values(token)) if (typeof value === "object") walk(value);
  };
  for (const token of new Parser().parse(text)) walk(token);
  found.unclosedQuotes.sort((a, b) => a.offset - b.offset);
  found.unclosedFlows.sort((a, b) => a.offset - b.offset);
  return found;
}

/** Whether a quoted scalar's source ends with its closing quote (not an escaped quote: `\"` or `''`). */
function isClosedQuote(source: string): boolean {
  const quote = source[0];
  if (source.length < 2 || !source.endsWith(quote)) return false;
  const inner = source.slice(1, -1);
  if (quote === "'") return !inner.replace(/''/g, "").includes("'");
  return /(^|[^\\])(\\\\)*$/.test(inner);
}

/** The last token that starts at or before `offset` and passes `test`. */
function lastBefore<T extends { offset: number; source: string }>(tokens: T[], offset: number, test: (token: T) => boolean): T | undefined {
  let found: T | undefined;
  for (const token of tokens) {
    if (token.offset > offset) break;
    if (test(token)) found = token;
  }
  return found;
}

/** The line holding `offset`: where it starts and ends (at its newline), and its indentation in spaces. */
function lineAt(text: string, offset: number): { start: number; end: number; indent: number } {
  const start = text.lastIndexOf("\n", offset - 1) + 1;
  const newline = text.indexOf("\n", offset);
  const end = newline === -1 ? text.length : newline;
  let indent = 0;
  while (text[start + indent] === " ") indent++;
  return { start, end, indent };
}

/** The first line after the newline at `end` that holds more than blanks or a comment. */
function nextContentLine(text: string, end: number): { start: number; end: number; indent: number } | undefined {
  for (let start = end + 1; start < text.length; ) {
    const line = lineAt(text, start);
    const rest = text.slice(start + line.indent, line.end).trim();
    if (rest !== "" && !rest.startsWith("#")) return line;
    start = line.end + 1;
  }
  return undefined;
}

/** The offset of the first character of `offset`'s line that is not a space or a tab (or `offset` itself). */
function firstNonBlank(text: string, offset: number): number {
  const lineStart = text.lastIndexOf("\n", offset - 1) + 1;
  let i = lineStart;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  return text[i] === "\n" || i >= text.length ? offset : i;
}

/** YAML's own messages, minus advice that fits its API rather than a manifest author. */
function yamlMessage(message: string): string {
  if (message.startsWith("Source contains multiple documents")) return "a manifest is a single YAML document (remove `---`)";
  return message.replace(/^With stringKeys, all keys must be strings$/, "keys must be plain strings");
}
