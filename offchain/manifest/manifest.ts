/**
 * Parsing a workload manifest: YAML text → validated, normalised manifest and its deployment version.
 *
 * Four passes, all collecting problems rather than stopping at the first: read the YAML (source.ts), check the
 * JSON Schema (schema.json), check the rules the schema cannot say (units, cross-references between services and
 * groups, ports, on-chain limits) while building the normal form, then check that each group fits an order
 * (spec.ts). At most one problem is reported per field: the first found, and nothing beneath a field already wrong.
 */
import Ajv, { type ErrorObject } from "ajv";
import { canonicalJson, isCanonicalTextOf } from "./canonical";
import { keccak256Bytes } from "./hash";
import { formatPath, ManifestError, quote, quoteWithHint, unusualCharacter, type ManifestIssue, type PathSegment } from "./errors";
import {
  aboveLimit,
  MAX_EXEC_STRING_BYTES,
  MAX_MANIFEST_BYTES,
  overLimit,
  TOO_LARGE_ADVICE,
  utf8Length,
} from "./limits";
import schema from "./schema.json";
import { dataSource, readManifestSource, type Data, type ManifestSource } from "./source";
import { groupRequirements } from "./spec";
import type {
  NormalisedExpose,
  NormalisedGroup,
  NormalisedManifest,
  NormalisedService,
  ParsedManifest,
} from "./types";
import { parseBandwidth, parseBytes, parseCpu, parseDuration, UnitError, type UnitInput } from "./units";

export interface ParseManifestOptions {
  /** Where the text came from (a file name), for messages: `hello.yaml:12:7: services.api...`. */
  source?: string;
}

/** `$id` of the manifest's JSON Schema. */
export const MANIFEST_SCHEMA_ID = schema.$id;

// Limits of Market.sol's createOrder (MarketInvalidSpec), refused here so a manifest never makes an order revert.
const MAX_DURATION = 10 * 365 * 86_400;
const MAX_BIDDING_WINDOW = 30 * 86_400;
const UINT128_MAX = 2n ** 128n - 1n;

/**
 * Parses, validates and normalises a manifest, and computes its deployment version.
 * Throws a `ManifestError` listing every problem found, each with its field path, line and column.
 *
 * @example
 * import { readFileSync } from "node:fs";
 * import { parseManifest, ManifestError } from "./offchain/manifest";
 * try {
 *   const { version } = parseManifest(readFileSync("examples/hello.yaml", "utf8"), { source: "hello.yaml" });
 * } catch (error) {
 *   if (error instanceof ManifestError) console.error(error.format());
 * }
 */
export function parseManifest(text: string, options: ParseManifestOptions = {}): ParsedManifest {
  const sourceName = options.source ?? "manifest";
  if (typeof text !== "string") {
    throw new ManifestError([{ path: "", message: "a manifest is YAML text" }], sourceName);
  }
  // Size first: a text no provider would take is refused before YAML builds a document many times its size.
  const bytes = text.length > MAX_MANIFEST_BYTES ? text.length : utf8Length(text);
  if (bytes > MAX_MANIFEST_BYTES) {
    throw new ManifestError([{ path: "", message: `${aboveLimit(bytes)}: ${TOO_LARGE_ADVICE}` }], sourceName);
  }
  return fromSource(readManifestSource(text), sourceName);
}

export interface ParseCanonicalManifestOptions extends ParseManifestOptions {
  /**
   * keccak256 of the text's UTF-8 bytes, when the caller has just computed it (a receiver checks it against the
   * chain before parsing): it is the version of a text that proves canonical, so it is not computed twice.
   */
  version?: string;
}

/**
 * Reads a manifest sent in its canonical form (the RFC 8785 JSON whose keccak256 is the deployment version), as
 * peers exchange it: JSON parsing instead of YAML, and the same rules as `parseManifest`. The normal form is turned
 * back into a manifest (units written in their base unit, defaults left out), checked and normalised again, and
 * must serialise to exactly `text`: anything that is not the canonical form of a valid manifest is refused with a
 * `ManifestError` (issues carry paths but no lines: the text is one line).
 *
 * @example
 * import { parseCanonicalManifest, parseManifest } from "./offchain/manifest";
 * const { canonical } = parseManifest(yamlText);
 * const again = parseCanonicalManifest(canonical); // same version, no YAML parser involved
 */
export function parseCanonicalManifest(text: string, options: ParseCanonicalManifestOptions = {}): ParsedManifest {
  const sourceName = options.source ?? "manifest";
  let data: Data;
  try {
    data = JSON.parse(text) as Data;
  } catch {
    throw new ManifestError([{ path: "", message: "not JSON: a canonical manifest is RFC 8785 JSON" }], sourceName);
  }
  const manifest = checkSource(dataSource(denormalise(data)), sourceName);
  if (!isCanonicalTextOf(text, data, manifest)) {
    throw new ManifestError(
      [{ path: "", message: "valid, but not in canonical form (RFC 8785 JSON of the normal form)" }],
      sourceName,
    );
  }
  // The text is the canonical form: it is `canonical`, and its hash (when the caller has it) is the version.
  return {
    version: options.version ?? keccak256Bytes(new TextEncoder().encode(text)),
    manifest,
    canonical: text,
    source: sourceName,
    locate: () => undefined,
  };
}

/** The rules, the normal form and the version, from data read by the YAML reader. */
function fromSource(source: ManifestSource, sourceName: string): ParsedManifest {
  const manifest = checkSource(source, sourceName);
  const canonical = canonicalJson(manifest);
  const bytes = utf8Length(canonical);
  if (bytes > MAX_MANIFEST_BYTES) {
    // No one value can make it (each is bounded: 128 KiB for env and args, 255 characters elsewhere), so the issue
    // is the file's as a whole.
    const message = `the canonical form (what providers receive) is ${overLimit(bytes)}: ${TOO_LARGE_ADVICE}`;
    throw new ManifestError([{ path: "", line: 1, column: 1, message }], sourceName);
  }
  return {
    version: keccak256Bytes(new TextEncoder().encode(canonical)),
    manifest,
    canonical,
    source: sourceName,
    locate: (path) => source.locate(parsePath(path)),
  };
}

/** The rules and the normal form, from data read by either reader; throws a `ManifestError` with every problem. */
function checkSource(source: ManifestSource, sourceName: string): NormalisedManifest {
  const issues = new Issues(source);
  for (const issue of source.issues) issues.addLocated(issue);
  if (source.fatal) throw new ManifestError(issues.sorted(), sourceName);

  unquotedHash(source);
  schemaIssues(source, issues);
  numberIssues(source, issues);
  const manifest = new Normaliser(source, issues).manifest(source.data);
  if (manifest && issues.size === 0) {
    for (const { path, message } of groupRequirements(manifest).issues) issues.add(path.split("."), message, "key");
  }
  if (!manifest || issues.size > 0) throw new ManifestError(issues.sorted(), sourceName);
  return manifest;
}

/**
 * `usageKeyHash: 0xab…` written without quotes is a YAML integer; what was meant is the hash as written, which is
 * also how YAML libraries of typed languages read it into a string field.
 */
function unquotedHash(source: ManifestSource): void {
  const text = source.textAt(["usageKeyHash"]);
  const unquoted = source.integerAt(["usageKeyHash"]) !== undefined;
  if (isRecord(source.data) && unquoted && text !== undefined && /^0x[0-9a-fA-F]{64}$/.test(text)) {
    source.data.usageKeyHash = text;
  }
}

/**
 * How numbers are written, beyond their type: an integer field takes a YAML integer (8080, not 8080.0 or 8.08e3,
 * which typed YAML readers refuse), and a text field never takes a number, however large (a YAML integer beyond
 * 2^53 reaches the schema as its digits, so the schema alone would take it for text).
 */
function numberIssues(source: ManifestSource, issues: Issues): void {
  for (const path of source.numbers) {
    const isPrice = path.length === 3 && path[0] === "placement" && path[2] === "maxPricePerSecond";
    const integer = source.integerAt(path) !== undefined;
    if (isUnitField(path) || (isPrice && integer) || (path.length === 1 && path[0] === "usageKeyHash")) continue;
    if (!integer) {
      issues.add(path, `must be an integer, written without a fraction or exponent (not ${source.textAt(path)})`);
    } else if (typeof dataAt(source.data, path) === "string") {
      issues.add(path, `must be a string (write it quoted: "${source.textAt(path)}")`);
    }
  }
}

function dataAt(data: Data, path: readonly PathSegment[]): Data | undefined {
  let node: Data | undefined = data;
  for (const step of path) {
    if (Array.isArray(node) && typeof step === "number") node = node[step];
    else if (isRecord(node) && typeof step === "string" && Object.hasOwn(node, step)) node = node[step];
    else return undefined;
  }
  return node;
}

/** The problems found so far: one per field, none beneath a field already reported. */
class Issues {
  private readonly list: ManifestIssue[] = [];
  private readonly reported = new Set<string>();

  constructor(private readonly source: ManifestSource) {}

  get size(): number {
    return this.list.length;
  }

  add(path: readonly PathSegment[], message: string, at: "key" | "value" = "value"): void {
    this.addLocated({ path: formatPath(path), ...this.source.locate(path, at), message });
  }

  addLocated(issue: ManifestIssue): void {
    if (enclosing(issue.path).some((path) => this.reported.has(path))) return;
    this.reported.add(issue.path);
    this.list.push(issue);
  }

  /** In source order, so a reader fixes them top to bottom. */
  sorted(): ManifestIssue[] {
    return [...this.list].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  }
}

/** A path and every path above it: `a.b[0]` → "", "a", "a.b", "a.b[0]". */
function enclosing(path: string): string[] {
  const out = [""];
  for (let i = 1; i < path.length; i++) if (path[i] === "." || path[i] === "[") out.push(path.slice(0, i));
  if (path !== "") out.push(path);
  return out;
}

/** `services.web.expose[0].to[1]` → ["services", "web", "expose", 0, "to", 1]. */
function parsePath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const [, key, index] of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) segments.push(key ?? Number(index));
  return segments;
}

// ------------------------------------------------------------------ schema

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, verbose: true, strict: true });
// VS Code's extension to JSON Schema: what to say when a pattern does not match.
ajv.addKeyword({ keyword: "patternErrorMessage", schemaType: "string" });
const validateSchema = ajv.compile(schema);

/** Fields whose values the unit parsers read: their messages say more than the schema's pattern. */
function isUnitField(path: readonly PathSegment[]): boolean {
  if (path.length === 1) return path[0] === "duration" || path[0] === "biddingWindow";
  return path.length === 4 && path[0] === "services" && path[2] === "resources";
}

function schemaIssues(source: ManifestSource, issues: Issues): void {
  if (validateSchema(source.data)) return;
  for (const error of validateSchema.errors ?? []) {
    const path = pointerPath(error.instancePath, source.data);
    const described = describe(error, path, source);
    if (described) issues.add(described.path, described.message, described.at);
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  object: "a map",
  array: "a list",
  boolean: "true or false",
  null: "empty",
};

function describe(
  error: ErrorObject,
  path: PathSegment[],
  source: ManifestSource,
): { path: PathSegment[]; message: string; at?: "key" } | undefined {
  const params = error.params as Record<string, unknown>;
  const custom = (error.parentSchema as { patternErrorMessage?: string } | undefined)?.patternErrorMessage;
  if (error.propertyName !== undefined) {
    // A key that is not a valid name (propertyNames); Ajv reports the map, the key is what is wrong.
    const message = custom ?? `invalid key: ${error.message}`;
    return { path: [...path, error.propertyName], message: `${message}${hintOf(error.propertyName)}`, at: "key" };
  }
  switch (error.keyword) {
    case "propertyNames":
      return undefined; // summarises the errors of its keys, each reported above
    case "required":
      return { path: [...path, String(params.missingProperty)], message: "is required", at: "key" };
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      return { path: [...path, key], message: `unknown key${suggestion(key, known)}${hintOf(key)}`, at: "key" };
    }
    case "uniqueItems": {
      const [first, again] = [Number(params.i), Number(params.j)].sort((a, b) => a - b);
      const item = (error.data as Data[])[again];
      return { path: [...path, again], message: `repeats ${typeof item === "string" ? quote(item) : JSON.stringify(item)} (already at [${first}])` };
    }
  }
  if (isUnitField(path) && error.keyword !== "required") return undefined;
  switch (error.keyword) {
    case "type": {
      const expected = String(params.type).split(",");
      if (expected.includes("integer") && source.integerAt(path) !== undefined) {
        return { path, message: `${source.integerAt(path)} is too large` };
      }
      let message = `must be ${expected.map((type) => TYPE_NAMES[type] ?? type).join(" or ")}`;
      if (expected.includes("string") && (typeof error.data === "number" || typeof error.data === "boolean")) {
        message += ` (write it quoted: "${source.textAt(path) ?? String(error.data)}")`;
      } else if (error.data === null) {
        message += ", not empty";
      }
      return { path, message };
    }
    case "const": {
      const hint =
        typeof error.data === "number"
          ? ` (write it quoted: version: "1.0")`
          : typeof error.data === "string"
            ? ` (not ${quoteWithHint(error.data)})`
            : "";
      return { path, message: `must be ${JSON.stringify(error.schema)}${hint}` };
    }
    case "pattern": {
      const message = custom ?? (error.message as string);
      return { path, message: typeof error.data === "string" ? `${message}, not ${quoteWithHint(error.data)}` : message };
    }
    case "minItems":
    case "minProperties":
    case "minLength":
      return { path, message: params.limit === 1 ? "must not be empty" : (error.message as string) };
    case "maxProperties":
      return { path, message: `has more than ${params.limit} entries` };
    case "maxLength":
      return { path, message: `is longer than ${params.limit} characters` };
    default:
      return { path, message: error.message ?? `breaks the schema rule ${error.keyword}` };
  }
}

/** "; it contains U+200B ZERO WIDTH SPACE, an invisible character" when `value` has a character outside ASCII. */
function hintOf(value: string): string {
  const hint = unusualCharacter(value);
  return hint === undefined ? "" : `; it ${hint}`;
}

/**
 * When a service of the file differs from `name` only by invisible characters (a zero-width space pasted into the
 * service's key): name it, so the follow-on "no service named" points at the one mistake.
 */
function spelledAs(name: string, names: Set<string>): string {
  const visible = (text: string) => text.replace(/[\p{Cf}\p{Cc}\p{Z}]/gu, "");
  for (const candidate of names) {
    if (candidate !== name && visible(candidate) === visible(name)) {
      return `; the service is spelled ${quote(candidate)} in this file, with an invisible character`;
    }
  }
  return "";
}

/** " (did you mean `image`?)" when a known key is one or two edits away. */
function suggestion(key: string, known: string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best === undefined ? ` (expected one of: ${known.join(", ")})` : ` (did you mean \`${best}\`?)`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return Infinity;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}

/** An Ajv instance path (a JSON pointer) as field path segments: list indexes become numbers. */
function pointerPath(pointer: string, data: Data): PathSegment[] {
  const path: PathSegment[] = [];
  let node: Data | undefined = data;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      path.push(Number(key));
      node = node[Number(key)];
    } else {
      path.push(key);
      node = isRecord(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    }
  }
  return path;
}

// ------------------------------------------------------------------ rules and normal form

type Record_ = { [key: string]: Data };

function isRecord(value: Data | undefined): value is Record_ {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function field(record: Record_, key: string): Data | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function strings(value: Data | undefined): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === "string") ? (value as string[]) : undefined;
}

/** A plain object from entries, sorted by key; defineProperty keeps a key like "__proto__" an ordinary field. */
function record<T>(entries: [string, T][]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Checks the rules beyond the schema and builds the normal form. Runs on data the schema may have refused, so
 * every access is guarded; the result is only used when no problem was found.
 */
class Normaliser {
  constructor(
    private readonly source: ManifestSource,
    private readonly issues: Issues,
  ) {}

  manifest(data: Data): NormalisedManifest | undefined {
    if (!isRecord(data)) return undefined;
    const rawServices = isRecord(data.services) ? data.services : {};
    const names = new Set(Object.keys(rawServices));
    const services: [string, NormalisedService][] = [];
    for (const name of names) {
      if (name === "global") {
        this.issues.add(["services", name], "`global` means the internet in `to:` lists; give the service another name", "key");
      }
      const service = this.service(rawServices[name], ["services", name], names);
      if (service) services.push([name, service]);
    }

    const placement: [string, NormalisedGroup][] = [];
    const placedIn = new Map<string, string>();
    const rawPlacement = isRecord(data.placement) ? data.placement : undefined;
    // Only when every group's list could be read does a service missing from all of them mean something.
    let readable = rawPlacement !== undefined;
    for (const [name, raw] of Object.entries(rawPlacement ?? {})) {
      readable &&= isRecord(raw) && strings(field(raw, "services")) !== undefined;
      const group = this.group(raw, ["placement", name], names, placedIn);
      if (group) placement.push([name, group]);
    }
    for (const name of names) {
      if (readable && !placedIn.has(name)) {
        this.issues.add(["services", name], "is in no placement group: list it in the services of one group", "key");
      }
    }

    const duration = this.duration(data, "duration", MAX_DURATION);
    const biddingWindow = this.duration(data, "biddingWindow", MAX_BIDDING_WINDOW);
    const usageKeyHash = typeof data.usageKeyHash === "string" ? data.usageKeyHash.toLowerCase() : undefined;
    if (duration === undefined || biddingWindow === undefined) return undefined;
    return {
      version: "1.0",
      services: record(services),
      placement: record(placement),
      duration,
      biddingWindow,
      ...(usageKeyHash !== undefined && { usageKeyHash }),
    };
  }

  private service(raw: Data, path: PathSegment[], names: Set<string>): NormalisedService | undefined {
    if (!isRecord(raw)) return undefined;
    const name = path[1] as string;
    const resourcesPath = [...path, "resources"];
    const resources = isRecord(raw.resources) ? raw.resources : undefined;
    const cpuMillis = this.unit(resources, resourcesPath, "cpu", parseCpu);
    const memoryBytes = this.unit(resources, resourcesPath, "memory", parseBytes);
    const storageBytes = this.unit(resources, resourcesPath, "storage", parseBytes);
    const bandwidthBps = this.unit(resources, resourcesPath, "bandwidth", parseBandwidth);
    if (cpuMillis === 0) this.issues.add([...resourcesPath, "cpu"], "must be more than 0 (an order needs CPU)");
    if (memoryBytes === 0) this.issues.add([...resourcesPath, "memory"], "must be more than 0 (an order needs memory)");

    const expose = this.expose(field(raw, "expose"), [...path, "expose"], name, names);
    const env = isRecord(raw.env) ? raw.env : {};
    const count = field(raw, "count") ?? 1;
    const command = strings(field(raw, "command"));
    const args = strings(field(raw, "args"));
    this.execLimits(path, env, command, args);
    if (
      typeof raw.image !== "string" ||
      typeof count !== "number" ||
      expose === undefined ||
      cpuMillis === undefined ||
      memoryBytes === undefined ||
      storageBytes === undefined ||
      bandwidthBps === undefined
    ) {
      return undefined;
    }
    return {
      image: raw.image,
      ...(command && { command: [...command] }),
      ...(args && { args: [...args] }),
      env: record(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string")),
      expose,
      resources: { cpuMillis, memoryBytes, storageBytes, bandwidthBps },
      count,
    };
  }

  /**
   * What the kernel takes when the container starts: no NUL in any string, and each `NAME=value` and each argument
   * within MAX_ARG_STRLEN (see limits.ts). A manifest breaking these would be delivered and then never start.
   */
  private execLimits(path: PathSegment[], env: Record_, command: string[] | undefined, args: string[] | undefined): void {
    const check = (at: PathSegment[], text: string, bytes: number, what: string): void => {
      if (text.includes("\u0000")) {
        this.issues.add(at, `contains U+0000 (NUL), which a process's ${what === "argument" ? "arguments" : "environment"} cannot hold: remove it`);
      } else if (bytes > MAX_EXEC_STRING_BYTES) {
        const above = aboveLimit(bytes, MAX_EXEC_STRING_BYTES, `Linux starts a process with (per ${what})`);
        this.issues.add(at, `with its NUL, ${above}, so the container would never start: ${TOO_LARGE_ADVICE}`);
      }
    };
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== "string") continue;
      check([...path, "env", name], value, utf8Length(name) + 1 + utf8Length(value) + 1, "NAME=value");
    }
    for (const [key, list] of [["command", command], ["args", args]] as const) {
      list?.forEach((item, index) => check([...path, key, index], item, utf8Length(item) + 1, "argument"));
    }
  }

  /** A unit field read as written (the exact text of a number), or undefined after reporting why not. */
  private unit(
    resources: Record_ | undefined,
    path: PathSegment[],
    key: string,
    parse: (value: UnitInput) => number,
  ): number | undefined {
    if (!resources || !Object.hasOwn(resources, key)) return undefined; // the schema reports it missing
    const fieldPath = [...path, key];
    try {
      return parse(this.source.textAt(fieldPath) ?? (resources[key] as UnitInput));
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      this.issues.add(fieldPath, error.message);
      return undefined;
    }
  }

  private expose(raw: Data | undefined, path: PathSegment[], self: string, names: Set<string>): NormalisedExpose[] | undefined {
    if (raw === undefined) return [];
    if (!Array.isArray(raw)) return undefined;
    const byPort = new Map<number, number>();
    const byAs = new Map<number, number>();
    const out: NormalisedExpose[] = [];
    raw.forEach((entry, index) => {
      if (!isRecord(entry)) return;
      const port = field(entry, "port");
      const as = field(entry, "as") ?? port;
      const asKey = Object.hasOwn(entry, "as") ? "as" : "port";
      if (typeof port === "number") {
        const earlier = byPort.get(port);
        if (earlier !== undefined) {
          this.issues.add([...path, index, "port"], `container port ${port} is already exposed by expose[${earlier}]`);
        } else byPort.set(port, index);
      }
      if (typeof as === "number") {
        const earlier = byAs.get(as);
        if (earlier !== undefined) {
          this.issues.add([...path, index, asKey], `the service is already known on port ${as} (expose[${earlier}])`);
        } else byAs.set(as, index);
      }
      const to = strings(field(entry, "to")) ?? [];
      to.forEach((target, i) => {
        const at = [...path, index, "to", i];
        if (target === self) this.issues.add(at, "a service cannot expose a port to itself");
        else if (target !== "global" && !names.has(target)) {
          this.issues.add(at, `no service named ${quote(target)} (use \`global\` for the internet, or a service of this manifest)${hintOf(target)}${spelledAs(target, names)}`);
        }
      });
      if (typeof port === "number" && typeof as === "number") out.push({ port, as, to: [...to].sort() });
    });
    return out.sort((a, b) => a.port - b.port);
  }

  private group(
    raw: Data,
    path: PathSegment[],
    names: Set<string>,
    placedIn: Map<string, string>,
  ): NormalisedGroup | undefined {
    if (!isRecord(raw)) return undefined;
    const group = path[1] as string;
    const services = strings(field(raw, "services")) ?? [];
    services.forEach((name, index) => {
      const at = [...path, "services", index];
      const earlier = placedIn.get(name);
      if (!names.has(name)) this.issues.add(at, `no service named ${quote(name)}${hintOf(name)}${spelledAs(name, names)}`);
      else if (earlier !== undefined && earlier !== group) {
        this.issues.add(at, `${quote(name)} is already placed in group ${earlier}: a service belongs to exactly one group`);
      } else placedIn.set(name, group);
    });
    const maxPricePerSecond = this.price(raw, [...path, "maxPricePerSecond"]);
    const attributes = isRecord(raw.attributes) ? raw.attributes : {};
    const minReputation = field(raw, "minReputation") ?? 0;
    if (maxPricePerSecond === undefined || typeof minReputation !== "number") return undefined;
    return {
      attributes: record(Object.entries(attributes).filter((entry): entry is [string, string] => typeof entry[1] === "string")),
      maxPricePerSecond: maxPricePerSecond.toString(),
      minReputation,
      services: [...services].sort(),
    };
  }

  /** The price exactly: a YAML integer of any size, or a decimal string. */
  private price(raw: Record_, path: PathSegment[]): bigint | undefined {
    const value = field(raw, "maxPricePerSecond");
    let price = this.source.integerAt(path);
    if (price === undefined && typeof value === "string" && /^[0-9]+$/.test(value)) price = BigInt(value);
    if (price === undefined) return undefined; // the schema or the number rules say why
    if (price <= 0n) this.issues.add(path, "must be more than 0");
    else if (price > UINT128_MAX) this.issues.add(path, `${price} is more than an order can carry (uint128: ${UINT128_MAX})`);
    else return price;
    return undefined;
  }

  private duration(data: Record_, key: "duration" | "biddingWindow", max: number): number | undefined {
    if (!Object.hasOwn(data, key)) return undefined;
    let seconds: number;
    try {
      seconds = parseDuration(this.source.textAt([key]) ?? (data[key] as UnitInput));
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      this.issues.add([key], error.message);
      return undefined;
    }
    if (seconds === 0) this.issues.add([key], "must be more than 0s");
    else if (seconds > max) this.issues.add([key], `${seconds}s is more than the Market allows (${max / 86_400}d)`);
    else return seconds;
    return undefined;
  }
}

// ------------------------------------------------------------------ the normal form, back to a manifest

/**
 * A normal form written as a manifest: every unit in its base unit (`250m`, bytes as digits, `bps`, `s`), the
 * price as a decimal string, and what the normaliser fills in by default left out when empty. Anything unexpected
 * is passed through untouched, so the rules refuse it where it stands.
 */
function denormalise(data: Data): Data {
  if (!isRecord(data)) return data;
  const out: Record_ = { ...data };
  for (const key of ["duration", "biddingWindow"] as const) {
    if (typeof data[key] === "number") out[key] = `${data[key]}s`;
  }
  if (isRecord(data.services)) {
    out.services = mapValues(data.services, (service) => {
      if (!isRecord(service)) return service;
      const s: Record_ = { ...service };
      if (isRecord(service.env) && Object.keys(service.env).length === 0) delete s.env;
      if (Array.isArray(service.expose) && service.expose.length === 0) delete s.expose;
      const r = service.resources;
      if (isRecord(r)) {
        const base = (key: string, suffix: string): Data | undefined =>
          typeof r[key] === "number" ? `${r[key]}${suffix}` : r[key];
        const keys = ["cpuMillis", "memoryBytes", "storageBytes", "bandwidthBps"];
        const rest = Object.fromEntries(Object.entries(r).filter(([key]) => !keys.includes(key)));
        s.resources = {
          ...rest,
          ...definedEntries({
            cpu: base("cpuMillis", "m"),
            memory: base("memoryBytes", ""),
            storage: base("storageBytes", ""),
            bandwidth: base("bandwidthBps", "bps"),
          }),
        };
      }
      return s;
    });
  }
  if (isRecord(data.placement)) {
    out.placement = mapValues(data.placement, (group) => {
      if (!isRecord(group)) return group;
      const g: Record_ = { ...group };
      if (isRecord(group.attributes) && Object.keys(group.attributes).length === 0) delete g.attributes;
      return g;
    });
  }
  return out;
}

function mapValues(o: Record_, fn: (value: Data) => Data): Record_ {
  return record(Object.entries(o).map(([key, value]) => [key, fn(value)]));
}

function definedEntries(o: Record<string, Data | undefined>): Record_ {
  return Object.fromEntries(Object.entries(o).filter((entry): entry is [string, Data] => entry[1] !== undefined));
}
