/**
 * Fuzzing the manifest parser. Whatever the input, it either returns a version or throws a ManifestError whose
 * every issue is located; and the version depends on the meaning only: key order, YAML style (flow or block,
 * quoting, anchors), written-out defaults and equivalent units never change it, a change of meaning always does.
 * `TOM3_FUZZ_RUNS` raises the number of runs.
 */
import { expect } from "chai";
import canonicalize from "canonicalize";
import { keccak256, toUtf8Bytes } from "ethers";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import {
  ManifestError,
  parseCanonicalManifest,
  parseManifest,
  type NormalisedManifest,
  type ParsedManifest,
} from "../../../offchain/manifest";
import vectors from "../../../offchain/manifest/test-vectors.json";
import { fuzzRuns } from "./helpers";

/**
 * Parses, and checks the outcome is a version or located issues; returns the parse or undefined.
 * (Plain checks and one assertion at the end: a chai assertion per field costs milliseconds under Hardhat.)
 */
function outcome(text: string): ParsedManifest | undefined {
  const wrong: string[] = [];
  let parsed: ParsedManifest | undefined;
  try {
    parsed = parseManifest(text, { source: "fuzz.yaml" });
    if (!/^0x[0-9a-f]{64}$/.test(parsed.version)) wrong.push(`version ${parsed.version}`);
    if (keccak256(toUtf8Bytes(parsed.canonical)) !== parsed.version) wrong.push("version is not keccak256(canonical)");
  } catch (error) {
    if (!(error instanceof ManifestError) || error.name !== "ManifestError") throw error;
    if (error.issues.length === 0) wrong.push("no issues");
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const { path, line, column, message } of error.issues) {
      if (typeof message !== "string" || message === "") wrong.push(`empty message at ${path}`);
      if (typeof path !== "string") wrong.push(`path ${String(path)}`);
      if (line === undefined || line < 1 || line > lines + 1) wrong.push(`line ${line} for ${message}`);
      if (column === undefined || column < 1) wrong.push(`column ${column} for ${message}`);
    }
    if (error.format().split("\n").length !== error.issues.length) wrong.push("format() is not one line per issue");
  }
  if (wrong.length > 0) expect.fail(`${wrong.join("; ")}\n--- input:\n${text}`);
  return parsed;
}

// ------------------------------------------------------------------ arbitrary and mutated input

const yamlish = fc.string({
  unit: fc.constantFrom(..." \n\t:-,[]{}&*!|>?#'\"%@`~.0123456789abcmsdhKMGiTbpx".split(""), "1.0", "Mi", "services", "placement", "version", "\"1.0\"", "<<", "\ud800"),
  maxLength: 200,
});

/** Every path of a JSON-like tree, the root included. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(value)) value.forEach((item, index) => out.push(...paths(item, [...at, index])));
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) out.push(...paths(item, [...at, key]));
  }
  return out;
}

const scalar = fc.oneof(
  fc.constantFrom("1.0", "global", "web", "api", "eu", "0.5", "250m", "128Mi", "10Mbps", "1h", "30s", "", "0", "-1"),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), scalar, { maxKeys: 3 }));
const key = fc.oneof(
  fc.constantFrom("image", "resources", "cpu", "memory", "to", "port", "as", "count", "services", "env", "expose", "x"),
  fc.string({ maxLength: 8 }),
);
const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("delete", "replace", "insert", "rename"),
  key,
  value,
});

/** Applies a mutation to a deep copy of `tree` at the path picked by `at`. */
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(tree: unknown, { at, kind, key: name, value: replacement }: Mutation): unknown {
  const root = { root: structuredClone(tree) as unknown };
  const all = paths(root.root, ["root"]);
  const path = all[at % all.length];
  let parent: Record<string | number, unknown> = root as never;
  for (const step of path.slice(0, -1)) parent = parent[step] as never;
  const last = path[path.length - 1];
  const target = parent[last];
  if (kind === "delete" && path.length > 1) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (kind === "insert" && typeof target === "object" && target !== null) {
    if (Array.isArray(target)) target.splice(at % (target.length + 1), 0, replacement);
    else (target as Record<string, unknown>)[name] = replacement;
  } else if (kind === "rename" && !Array.isArray(parent) && path.length > 1) {
    delete parent[last];
    parent[name] = target;
  } else {
    parent[last] = replacement;
  }
  return root.root;
}

const validTexts = vectors.valid.map((vector) => vector.yaml);

describe("manifest fuzzing", function () {
  this.timeout(600_000);

  it("answers any string with a version or located issues", function () {
    fc.assert(
      fc.property(fc.oneof(yamlish, fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 100 })), (text) => {
        outcome(text);
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });

  it("answers valid manifests with values deleted, inserted, replaced or renamed", function () {
    const trees = validTexts.map((text) => parse(text, { intAsBigInt: true }) as unknown);
    fc.assert(
      fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (pick, mutations, flow) => {
        let tree = trees[pick % trees.length];
        for (const change of mutations) tree = mutate(tree, change);
        outcome(stringify(tree, { collectionStyle: flow ? "flow" : "block" }));
      }),
      { numRuns: fuzzRuns(500) },
    );
  });

  it("answers valid manifests with characters deleted, inserted or replaced", function () {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.record({ at: fc.nat(), remove: fc.nat({ max: 4 }), insert: fc.string({ maxLength: 4 }) }), { minLength: 1, maxLength: 4 }),
        (pick, edits) => {
          let text = validTexts[pick % validTexts.length];
          for (const { at, remove, insert } of edits) {
            const position = at % (text.length + 1);
            text = text.slice(0, position) + insert + text.slice(position + remove);
          }
          outcome(text);
        },
      ),
      { numRuns: fuzzRuns(500) },
    );
  });

  describe("the canonical form (what peers send)", function () {
    it("reads back to the same manifest and version, for every valid manifest", function () {
      fc.assert(
        fc.property(model, fc.integer(), (workload, seed) => {
          const parsed = outcome(render(workload, seed))!;
          const again = parseCanonicalManifest(parsed.canonical);
          expect(again.version).to.equal(parsed.version);
          expect(again.manifest).to.deep.equal(parsed.manifest);
        }),
        { numRuns: fuzzRuns(200) },
      );
    });

    it("takes a mutated canonical form only if it is the canonical form of a valid manifest", function () {
      const trees = vectors.valid.map((vector) => JSON.parse(vector.canonical) as unknown);
      fc.assert(
        fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (pick, mutations, pretty) => {
          let tree = trees[pick % trees.length];
          for (const change of mutations) tree = mutate(tree, change);
          // bigints (from the mutations) as JSON numbers; `pretty` is never canonical.
          const json = JSON.stringify(tree, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), pretty ? 1 : undefined);
          const text = pretty ? json : (canonicalize(JSON.parse(json)) ?? "null");
          try {
            const parsed = parseCanonicalManifest(text);
            expect(parsed.canonical).to.equal(text);
            expect(parsed.version).to.equal(keccak256(toUtf8Bytes(text)));
            expect(pretty && text.includes("\n")).to.equal(false);
          } catch (error) {
            if (!(error instanceof ManifestError)) throw error;
            expect(error.issues.length).to.be.greaterThan(0);
          }
        }),
        { numRuns: fuzzRuns(500) },
      );
    });
  });

  describe("the version depends on the meaning only", function () {
    it("is the same for every way of writing one manifest, and is keccak256 of its modelled normal form", function () {
      fc.assert(
        fc.property(model, fc.integer(), fc.integer(), (workload, seedA, seedB) => {
          const expected = normalForm(workload);
          const version = keccak256(toUtf8Bytes(canonicalize(expected) as string));
          const [a, b] = [render(workload, seedA), render(workload, seedB)];
          const parsedA = outcome(a);
          expect(parsedA, a).to.not.equal(undefined);
          expect(parsedA!.manifest).to.deep.equal(expected);
          expect(parsedA!.version).to.equal(version);
          expect(outcome(b)?.version, b).to.equal(version);
        }),
        { numRuns: fuzzRuns(200) },
      );
    });

    it("changes when the meaning changes", function () {
      fc.assert(
        fc.property(model, fc.integer(), fc.nat(), (workload, seed, which) => {
          const changed = structuredClone(workload);
          const service = changed.services[which % changed.services.length];
          const changes = [
            () => (service.cpuMillis += 1),
            () => (service.memoryBytes += 1),
            () => (service.storageBytes += 1),
            () => (service.bandwidthBps += 1),
            () => (service.count += 1),
            () => (service.image += "x"),
            () => (service.env = [...service.env, ["ADDED", "1"]]),
            () => (service.args = service.args === undefined ? [] : undefined),
            () => (changed.groups[0].price = changed.groups[0].price === 1n ? 2n : changed.groups[0].price - 1n),
            () => (changed.groups[0].minReputation = changed.groups[0].minReputation === 0 ? 1 : 0),
            () => (changed.groups[0].attributes = [...changed.groups[0].attributes, ["added", "1"]]),
            () => (changed.duration = changed.duration === 1 ? 2 : changed.duration - 1),
            () => (changed.biddingWindow = changed.biddingWindow === 1 ? 2 : changed.biddingWindow - 1),
            () => (changed.usageKeyHash = changed.usageKeyHash ? undefined : `0x${"1".repeat(64)}`),
          ];
          changes[which % changes.length]();
          const before = outcome(render(workload, seed))?.version;
          const after = outcome(render(changed, seed))?.version;
          expect(before).to.be.a("string");
          expect(after).to.be.a("string").and.not.equal(before);
        }),
        { numRuns: fuzzRuns(200) },
      );
    });
  });
});

// ------------------------------------------------------------------ a model of valid manifests

interface ServiceModel {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env: [string, string][];
  expose: { port: number; as: number; to: string[] }[];
  cpuMillis: number;
  memoryBytes: number;
  storageBytes: number;
  bandwidthBps: number;
  count: number;
}

interface GroupModel {
  name: string;
  services: string[];
  attributes: [string, string][];
  price: bigint;
  minReputation: number;
}

interface Model {
  services: ServiceModel[];
  groups: GroupModel[];
  duration: number;
  biddingWindow: number;
  usageKeyHash?: string;
}

const SERVICE_NAMES = ["web", "api", "db", "cache", "worker", "auth-2"];
const GROUP_NAMES = ["eu", "us-east", "asia", "edge"];
const MI = 2 ** 20;

// yaml's stringify writes a whitespace-only string in a block literal that reads back as "" (a bug of the writer,
// not of the manifest parser, which reads such values fine when they are quoted), so the model leaves them out.
const nonBlank = (options: fc.StringConstraints) => fc.string(options).filter((value) => value === "" || value.trim() !== "");

const service = (name: string) =>
  fc.record({
    name: fc.constant(name),
    image: fc.constantFrom("tom3/hello:local", "postgres:16", "ghcr.io/acme/app:1.2", `reg.example:5000/x/${name}`),
    command: fc.option(fc.array(nonBlank({ maxLength: 8 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    args: fc.option(fc.array(nonBlank({ unit: "grapheme", maxLength: 8 }), { maxLength: 3 }), { nil: undefined }),
    env: fc.uniqueArray(fc.tuple(fc.constantFrom("MODE", "PORT", "A_B", "x.y", "_Z"), nonBlank({ unit: "grapheme", maxLength: 10 })), {
      selector: ([key]) => key,
      maxLength: 3,
    }),
    cpuMillis: fc.integer({ min: 1, max: 64_000 }),
    memoryBytes: fc.oneof(fc.integer({ min: 1, max: 65_536 }).map((n) => n * MI), fc.integer({ min: 1, max: 2 ** 40 })),
    storageBytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4096 }).map((n) => n * 2 ** 30), fc.integer({ min: 0, max: 2 ** 40 })),
    bandwidthBps: fc.oneof(fc.integer({ min: 0, max: 10_000 }).map((n) => n * 1_000_000), fc.integer({ min: 0, max: 10 ** 10 })),
    count: fc.integer({ min: 1, max: 5 }),
    ports: fc.uniqueArray(fc.integer({ min: 1, max: 65_535 }), { maxLength: 3 }),
    aliases: fc.uniqueArray(fc.integer({ min: 1, max: 65_535 }), { minLength: 3, maxLength: 3 }),
    keepPort: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    targets: fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 3 }),
  });

const model: fc.Arbitrary<Model> = fc
  .uniqueArray(fc.constantFrom(...SERVICE_NAMES), { minLength: 1, maxLength: 4 })
  .chain((names) =>
    fc.record({
      services: fc.tuple(...names.map(service)),
      placeIn: fc.array(fc.nat({ max: GROUP_NAMES.length - 1 }), { minLength: names.length, maxLength: names.length }),
      groups: fc.array(
        fc.record({
          attributes: fc.uniqueArray(fc.tuple(fc.constantFrom("region", "tier", "disk", "zone/a"), fc.constantFrom("eu-west", "gpu", "ssd", "1")), {
            selector: ([k]) => k,
            maxLength: 3,
          }),
          price: fc.bigInt({ min: 1n, max: 2n ** 128n - 1n }),
          minReputation: fc.integer({ min: 0, max: 10_000 }),
        }),
        { minLength: GROUP_NAMES.length, maxLength: GROUP_NAMES.length },
      ),
      duration: fc.integer({ min: 1, max: 10 * 365 * 86_400 }),
      biddingWindow: fc.integer({ min: 1, max: 30 * 86_400 }),
      usageKeyHash: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
      uniform: fc.boolean(), // every service asks the same resources (written once and aliased, sometimes)
    }),
  )
  .map(({ services, placeIn, groups, duration, biddingWindow, usageKeyHash, uniform }) => {
    const names = services.map((s) => s.name);
    const [first] = services;
    const built: ServiceModel[] = services.map((s) => {
      if (uniform) {
        const { cpuMillis, memoryBytes, storageBytes, bandwidthBps } = first;
        s = { ...s, cpuMillis, memoryBytes, storageBytes, bandwidthBps };
      }
      // Exposed ports: unique container ports, unique service ports (`as`, or the port itself when kept).
      const used = new Set<number>();
      const expose: ServiceModel["expose"] = [];
      s.ports.forEach((port, i) => {
        const as = s.keepPort[i] ? port : s.aliases[i];
        if (used.has(as)) return;
        used.add(as);
        const choices = ["global", ...names.filter((name) => name !== s.name)];
        const to = [...new Set(s.targets[i].map((n) => choices[n % choices.length]))];
        expose.push({ port, as, to });
      });
      return { ...s, expose };
    });
    const members = new Map<string, string[]>();
    names.forEach((name, i) => members.set(GROUP_NAMES[placeIn[i]], [...(members.get(GROUP_NAMES[placeIn[i]]) ?? []), name]));
    return {
      services: built.map(({ name, image, command, args, env, expose, cpuMillis, memoryBytes, storageBytes, bandwidthBps, count }) => ({
        name, image, command, args, env, expose, cpuMillis, memoryBytes, storageBytes, bandwidthBps, count,
      })),
      groups: GROUP_NAMES.filter((name) => members.has(name)).map((name, i) => ({ name, services: members.get(name)!, ...groups[i] })),
      duration,
      biddingWindow,
      usageKeyHash: usageKeyHash && `0x${Buffer.from(usageKeyHash).toString("hex")}`,
    };
  });

/** The normal form the model must parse to, built independently of the parser. */
function normalForm(workload: Model): NormalisedManifest {
  const sortedObject = (entries: [string, string][]) => Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    version: "1.0",
    services: Object.fromEntries(
      workload.services.map((s) => [
        s.name,
        {
          image: s.image,
          ...(s.command && { command: s.command }),
          ...(s.args && { args: s.args }),
          env: sortedObject(s.env),
          expose: [...s.expose].sort((a, b) => a.port - b.port).map(({ port, as, to }) => ({ port, as, to: [...to].sort() })),
          resources: { cpuMillis: s.cpuMillis, memoryBytes: s.memoryBytes, storageBytes: s.storageBytes, bandwidthBps: s.bandwidthBps },
          count: s.count,
        },
      ]),
    ),
    placement: Object.fromEntries(
      workload.groups.map((g) => [
        g.name,
        { attributes: sortedObject(g.attributes), maxPricePerSecond: g.price.toString(), minReputation: g.minReputation, services: [...g.services].sort() },
      ]),
    ),
    duration: workload.duration,
    biddingWindow: workload.biddingWindow,
    ...(workload.usageKeyHash && { usageKeyHash: workload.usageKeyHash }),
  };
}

// ------------------------------------------------------------------ writing one manifest many ways

/** A small deterministic generator, so one seed is one way of writing. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    pick: <T>(options: readonly T[]): T => options[Math.floor(next() * options.length)],
    chance: (p = 0.5) => next() < p,
    shuffle: <T>(items: readonly T[]): T[] => {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/** `value / divisor` as an exact decimal string, or undefined if it needs more than `digits` decimals. */
function decimal(value: bigint, divisor: bigint, digits = 45): string | undefined {
  for (let d = 0; d <= digits; d++) {
    const scaled = value * 10n ** BigInt(d);
    if (scaled % divisor !== 0n) continue;
    const digitsText = (scaled / divisor).toString().padStart(d + 1, "0");
    return d === 0 ? digitsText : `${digitsText.slice(0, -d)}.${digitsText.slice(-d)}`;
  }
  return undefined;
}

/** Equivalent ways of writing a quantity: with each unit that divides it exactly, as a number or a string. */
function forms(value: number, units: [suffix: string, size: number][], plain: boolean): (string | number)[] {
  const out: (string | number)[] = plain ? [value, String(value)] : [];
  for (const [suffix, size] of units) {
    const text = decimal(BigInt(value), BigInt(size));
    if (text === undefined) continue;
    out.push(`${text}${suffix}`);
    if (/\./.test(text)) out.push(`${text}0${suffix}`); // a trailing zero means the same
  }
  return out;
}

function cpuForms(millis: number): (string | number)[] {
  const cpus = decimal(BigInt(millis), 1000n)!;
  return [`${millis}m`, cpus, Number(cpus)];
}

function durationForms(seconds: number): string[] {
  const out = forms(seconds, [["s", 1], ["m", 60], ["h", 3600], ["d", 86_400]], false) as string[];
  let rest = seconds;
  let combined = "";
  for (const [suffix, size] of [["d", 86_400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size) combined += `${Math.floor(rest / size)}${suffix}`;
    rest %= size;
  }
  return [...out, combined];
}

/** One way of writing `workload`: key order, defaults, units, quoting, flow or block and anchors all chosen by `seed`. */
function render(workload: Model, seed: number): string {
  const r = random(seed);
  const object = (entries: [string, unknown][]) => Object.fromEntries(r.shuffle(entries.filter(([, v]) => v !== undefined)));
  const sizes: [string, number][] = [["Ki", 2 ** 10], ["Mi", 2 ** 20], ["Gi", 2 ** 30], ["Ti", 2 ** 40]];
  const rates: [string, number][] = [["bps", 1], ["Kbps", 1e3], ["Mbps", 1e6], ["Gbps", 1e9]];
  // Equal resources written once, then referred to by an alias (yaml writes an anchor for a repeated object).
  const shared = new Map<string, object>();
  const maybeShared = (s: ServiceModel, write: () => object): object => {
    const key = [s.cpuMillis, s.memoryBytes, s.storageBytes, s.bandwidthBps].join();
    const earlier = shared.get(key);
    if (earlier && r.chance(0.7)) return earlier;
    const written = write();
    shared.set(key, written);
    return written;
  };
  const services = object(
    workload.services.map((s) => [
      s.name,
      object([
        ["image", s.image],
        ["command", s.command],
        ["args", s.args],
        ["env", s.env.length > 0 || r.chance() ? object(s.env) : undefined],
        [
          "expose",
          s.expose.length > 0 || r.chance()
            ? r.shuffle(s.expose).map(({ port, as, to }) =>
                object([["port", port], ["as", as === port && r.chance() ? undefined : as], ["to", r.shuffle(to)]]),
              )
            : undefined,
        ],
        [
          "resources",
          maybeShared(s, () =>
            object([
              ["cpu", r.pick(cpuForms(s.cpuMillis))],
              ["memory", r.pick(forms(s.memoryBytes, sizes, true))],
              ["storage", r.pick(forms(s.storageBytes, sizes, true))],
              ["bandwidth", r.pick(forms(s.bandwidthBps, rates, false))],
            ]),
          ),
        ],
        ["count", s.count === 1 && r.chance() ? undefined : s.count],
      ]),
    ]),
  );
  const placement = object(
    workload.groups.map((g) => [
      g.name,
      object([
        ["attributes", g.attributes.length > 0 || r.chance() ? object(g.attributes) : undefined],
        ["maxPricePerSecond", r.pick([g.price, g.price.toString(), `00${g.price}`])],
        ["minReputation", g.minReputation === 0 && r.chance() ? undefined : g.minReputation],
        ["services", r.shuffle(g.services)],
      ]),
    ]),
  );
  const hash = workload.usageKeyHash && (r.chance() ? workload.usageKeyHash : `0x${workload.usageKeyHash.slice(2).toUpperCase()}`);
  const manifest = object([
    ["version", "1.0"],
    ["services", services],
    ["placement", placement],
    ["duration", r.pick(durationForms(workload.duration))],
    ["biddingWindow", r.pick(durationForms(workload.biddingWindow))],
    ["usageKeyHash", hash],
  ]);
  return stringify(manifest, {
    collectionStyle: r.pick(["any", "block", "flow"] as const),
    defaultStringType: r.pick(["PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE", "BLOCK_LITERAL"] as const),
    defaultKeyType: r.pick([null, "PLAIN", "QUOTE_DOUBLE"] as const),
    aliasDuplicateObjects: true,
    lineWidth: r.pick([0, 40, 80]),
  });
}
