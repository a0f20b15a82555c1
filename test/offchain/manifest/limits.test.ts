/**
 * A manifest that validates can be delivered: validation enforces the size limit delivery enforces (the same
 * constant), on the file before it is parsed and on the canonical form that travels.
 */
import { expect } from "chai";
import { mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_MANIFEST_BYTES, parseManifest, readManifestFile } from "../../../offchain/manifest";
import { DEFAULT_LIMITS } from "../../../offchain/p2p/protocol";
import { readManifestBytes } from "../../../offchain/p2p/payload";
import { refusal } from "./helpers";

const MIB = 1024 * 1024;
const ADVICE = "keep large data out of the manifest (put it in the image, or have the service fetch it when it starts)";

/** A small manifest whose one env value is `value` (written in a single-quoted scalar on line 6). */
function withEnv(value: string): string {
  return `version: "1.0"
services:
  web:
    image: tom3/hello:local
    env:
      BLOB: '${value.replace(/'/g, "''")}'
    resources: { cpu: 0.5, memory: 128Mi, storage: 256Mi, bandwidth: 10Mbps }
placement:
  eu: { maxPricePerSecond: 120, services: [web] }
duration: 1h
biddingWindow: 30s
`;
}

/** A manifest of ten services, `values` spread over their env (four each), in single-quoted scalars. */
function services(values: string[]): string {
  const names = Array.from({ length: 10 }, (_, i) => `s${i}`);
  const blocks = names.map((name, i) => {
    const env = values.slice(i * 4, i * 4 + 4).map((value, k) => `      V${k}: '${value.replace(/'/g, "''")}'\n`);
    return `  ${name}:\n    image: tom3/hello:local\n    env:${env.length ? `\n${env.join("")}` : " {}\n"}` +
      "    resources: { cpu: 0.1, memory: 16Mi, storage: 16Mi, bandwidth: 1Mbps }\n";
  });
  return `version: "1.0"\nservices:\n${blocks.join("")}placement:\n  all: { maxPricePerSecond: 120, services: [${names.join(", ")}] }\nduration: 1h\nbiddingWindow: 30s\n`;
}

describe("manifest: size limits shared with delivery", function () {
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-manifest-limits-"));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("is one constant: p2p's default limit (and so the provider API's upload limit) is MAX_MANIFEST_BYTES, 4 MiB", function () {
    expect(MAX_MANIFEST_BYTES).to.equal(4 * MIB);
    expect(DEFAULT_LIMITS.maxManifestBytes).to.equal(MAX_MANIFEST_BYTES);
  });

  describe("parseManifest", function () {
    it("accepts a manifest whose canonical form is exactly the limit, and a receiver takes its bytes", function () {
      // Ten services of four values each: no value or service above what a container can start with.
      const empty = parseManifest(services(Array.from({ length: 40 }, () => ""))).canonical.length;
      const each = Math.floor((MAX_MANIFEST_BYTES - empty) / 40);
      const lengths = Array.from({ length: 40 }, (_, i) => each + (i === 0 ? (MAX_MANIFEST_BYTES - empty) % 40 : 0));
      const text = services(lengths.map((length) => "x".repeat(length)));
      expect(text.length).to.be.below(MAX_MANIFEST_BYTES);
      const parsed = parseManifest(text);
      const bytes = new TextEncoder().encode(parsed.canonical);
      expect(bytes.length).to.equal(MAX_MANIFEST_BYTES);
      expect(readManifestBytes(bytes, "canonical", { expected: parsed.version }).version).to.equal(parsed.version);

      lengths[0] += 1;
      expect(refusal(services(lengths.map((length) => "x".repeat(length))), "big.yaml").format()).to.equal(
        `big.yaml:1:1: the canonical form (what providers receive) is 4,194,305 bytes, above the 4 MiB limit a provider accepts: ${ADVICE}`,
      );
    });

    it("refuses a canonical form that outgrows its YAML (escapes): the canonical bytes are what travel", function () {
      // 2.4 MiB of `"` in YAML is 4.8 MiB in JSON (each is written \"): the text is under the limit, the delivery is not.
      const text = services(Array.from({ length: 40 }, () => '"'.repeat(60 * 1024)));
      expect(text.length).to.be.below(MAX_MANIFEST_BYTES);
      expect(refusal(text, "quotes.yaml").format()).to.equal(
        `quotes.yaml:1:1: the canonical form (what providers receive) is 4.7 MiB, above the 4 MiB limit a provider accepts: ${ADVICE}`,
      );
    });

    it("refuses text above the limit before parsing it, in UTF-8 bytes (not characters)", function () {
      // 1.5 Mi characters of "é" are 3 MiB; 2.5 Mi are 5 MiB: the text is what a receiver of the YAML takes.
      expect(refusal(withEnv("é".repeat(2.5 * MIB)), "accents.yaml").format()).to.equal(
        `accents.yaml: 5.0 MiB is above the 4 MiB limit a provider accepts: ${ADVICE}`,
      );
      expect(refusal("x".repeat(50 * MIB), "big.yaml").format()).to.equal(
        `big.yaml: 50.0 MiB is above the 4 MiB limit a provider accepts: ${ADVICE}`,
      );
    });

    it("refuses aliases that expand a small file beyond the limit, before building its canonical form", function () {
      const text = withEnv("").replace(
        "      BLOB: ''\n",
        `      A: &big ${"z".repeat(MIB)}\n${[1, 2, 3, 4].map((i) => `      A${i}: *big\n`).join("")}`,
      );
      expect(text.length).to.be.below(1.1 * MIB);
      expect(refusal(text, "alias.yaml").format()).to.equal(
        "alias.yaml:1:1: with its aliases expanded, the manifest holds more than 4 MiB of text, the limit a provider " +
          "accepts: each alias repeats its value in what providers receive, so alias large values less",
      );
    });
  });

  describe("readManifestFile", function () {
    it("reads a manifest file as UTF-8 text", function () {
      const file = join(dir, "hello.yaml");
      writeFileSync(file, withEnv("héllo"));
      expect(parseManifest(readManifestFile(file)).manifest.services.web.env.BLOB).to.equal("héllo");
    });

    it("refuses a 50 MiB file from its size, pointing at the line that makes most of it", function () {
      const file = join(dir, "fifty.yaml");
      writeFileSync(file, withEnv("x".repeat(50 * MIB)));
      expect(() => readManifestFile(file, { source: "fifty.yaml" })).to.throw(
        `fifty.yaml:6:1: the file is 50.0 MiB, above the 4 MiB limit a provider accepts, and this line alone is 50.0 MiB: ${ADVICE}`,
      );
    });

    it("refuses a large file of many lines with its size alone", function () {
      const file = join(dir, "lines.yaml");
      writeFileSync(file, withEnv("").replace("    env:\n", `    env:\n${"      # a comment line\n".repeat(300_000)}`));
      expect(() => readManifestFile(file, { source: "lines.yaml" })).to.throw(
        `lines.yaml: 6.6 MiB is above the 4 MiB limit a provider accepts: ${ADVICE}`,
      );
    });

    it("refuses a sparse 10 GiB file at once, without reading it", function () {
      const file = join(dir, "sparse.yaml");
      const fd = openSync(file, "w");
      writeSync(fd, "version: ");
      ftruncateSync(fd, 10 * 1024 * MIB);
      closeSync(fd);
      expect(() => readManifestFile(file, { source: "sparse.yaml" })).to.throw(
        `sparse.yaml: 10.0 GiB is above the 4 MiB limit a provider accepts: ${ADVICE}`,
      );
    });

    it("stops reading a stream one byte past the limit", function () {
      expect(() => readManifestFile("/dev/zero", { source: "stdin" })).to.throw(
        `stdin: more than 4 MiB, the limit a provider accepts: ${ADVICE}`,
      );
    });

    it("takes a file of exactly the limit", function () {
      const file = join(dir, "exact.yaml");
      const base = withEnv("");
      writeFileSync(file, base + "#".repeat(MAX_MANIFEST_BYTES - base.length));
      expect(readManifestFile(file)).to.have.length(MAX_MANIFEST_BYTES);
    });

    it("refuses bytes that are not UTF-8, at their line and column", function () {
      const file = join(dir, "latin1.yaml");
      writeFileSync(file, Buffer.from(withEnv("caf\u00e9"), "latin1"));
      expect(() => readManifestFile(file, { source: "latin1.yaml" })).to.throw(
        "latin1.yaml:6:17: byte 0xe9 is not UTF-8: save the file as UTF-8",
      );
    });

    it("leaves file-system errors to the caller, with their code", function () {
      expect(() => readManifestFile(join(dir, "nope.yaml"))).to.throw().with.property("code", "ENOENT");
      expect(() => readManifestFile(dir)).to.throw().with.property("code", "EISDIR");
    });
  });
});

describe("manifest: what a container can be started with", function () {
  /** A manifest whose service `web` has `env` and `args` (YAML flow style, JSON-quoted values). */
  function service(env: Record<string, string>, args: string[] = []): string {
    return `version: "1.0"
services:
  web:
    image: tom3/hello:local
    env: ${JSON.stringify(env)}
    args: ${JSON.stringify(args)}
    resources: { cpu: 0.5, memory: 128Mi, storage: 256Mi, bandwidth: 10Mbps }
placement:
  eu: { maxPricePerSecond: 120, services: [web] }
duration: 1h
biddingWindow: 30s
`;
  }

  it("takes a variable of exactly 128 KiB with its NUL (NAME=value), and refuses one byte more", function () {
    const fits = "x".repeat(128 * 1024 - "BLOB=".length - 1);
    expect(parseManifest(service({ BLOB: fits })).manifest.services.web.env.BLOB).to.equal(fits);
    expect(refusal(service({ BLOB: `${fits}x` }), "m.yaml").format()).to.equal(
      "m.yaml:5:18: services.web.env.BLOB: with its NUL, 131,073 bytes is above the 128 KiB limit Linux starts a process " +
        `with (per NAME=value), so the container would never start: ${ADVICE}`,
    );
  });

  it("refuses an argument above 128 KiB, and a NUL in a variable or an argument", function () {
    const printed = refusal(service({ A: "a\u0000b" }, ["a\u0000", "y".repeat(200 * 1024)]), "m.yaml").format().split("\n");
    expect(printed).to.deep.equal([
      "m.yaml:5:15: services.web.env.A: contains U+0000 (NUL), which a process's environment cannot hold: remove it",
      "m.yaml:6:12: services.web.args[0]: contains U+0000 (NUL), which a process's arguments cannot hold: remove it",
      `m.yaml:6:22: services.web.args[1]: with its NUL, 200.0 KiB is above the 128 KiB limit Linux starts a process with (per argument), so the container would never start: ${ADVICE}`,
    ]);
  });
});

