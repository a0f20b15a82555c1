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
      const empty = parseManifest(withEnv("")).canonical.length;
      const parsed = parseManifest(withEnv("x".repeat(MAX_MANIFEST_BYTES - empty)));
      const bytes = new TextEncoder().encode(parsed.canonical);
      expect(bytes.length).to.equal(MAX_MANIFEST_BYTES);
      expect(readManifestBytes(bytes, "canonical", { expected: parsed.version }).version).to.equal(parsed.version);
    });

    it("refuses one byte more, at the value that makes it too large, with the sizes and the next step", function () {
      const empty = parseManifest(withEnv("")).canonical.length;
      const error = refusal(withEnv("x".repeat(MAX_MANIFEST_BYTES - empty + 1)), "big.yaml");
      expect(error.format()).to.equal(
        "big.yaml:6:13: services.web.env.BLOB: this value (4.0 MiB) makes the canonical form (what providers receive) " +
          `4,194,305 bytes, above the 4 MiB limit a provider accepts: ${ADVICE}`,
      );
    });

    it("refuses a canonical form that outgrows its YAML (escapes): the canonical bytes are what travel", function () {
      // 3 MiB of `"` in YAML is 6 MiB in JSON (each is written \"): the text is under the limit, the delivery is not.
      const text = withEnv('"'.repeat(3 * MIB));
      expect(text.length).to.be.below(MAX_MANIFEST_BYTES);
      expect(refusal(text, "quotes.yaml").format()).to.match(
        /^quotes\.yaml:6:13: services\.web\.env\.BLOB: this value \(3\.0 MiB\) makes the canonical form \(what providers receive\) 6\.0 MiB, above the 4 MiB limit/,
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
