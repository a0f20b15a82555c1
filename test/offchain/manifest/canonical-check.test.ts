/**
 * The receiver's check that a text is exactly the canonical form (RFC 8785) of the manifest it reads as: its fast
 * path (no escape scan when the text has no backslash) must give the same answer as comparing with
 * `canonicalize`, for any JSON value and any way of writing it.
 */
import { expect } from "chai";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { canonicalJson, isCanonicalTextOf } from "../../../offchain/manifest/canonical";
import { ManifestError, parseCanonicalManifest, parseManifest } from "../../../offchain/manifest";
import vectors from "../../../offchain/manifest/test-vectors.json";
import { fuzzRuns } from "./helpers";

const HELLO = vectors.valid[0];

/** The exact check the fast path stands in for. */
const exact = (text: string, value: unknown) => {
  try {
    return canonicalize(value) === text;
  } catch {
    return false;
  }
};

/** Ways to write a value: canonically, as JSON.stringify does (insertion order, other escapes), pretty. */
function writings(value: unknown): string[] {
  let canonical: string;
  try {
    canonical = canonicalize(value) ?? "null";
  } catch {
    canonical = JSON.stringify(value) ?? "null"; // NaN or Infinity somewhere: no canonical form
  }
  return [
    canonical,
    JSON.stringify(value) ?? "null",
    JSON.stringify(value, null, 1) ?? "null",
    canonical.replace(/"a/g, '"\\u0061'), // an escape where none is needed
    canonical.replace(/\\n/g, "\\u000a"), // the long escape where a short one exists
    canonical.replace(/\\u001f/g, "\\u001F"), // upper-case hex
  ];
}

describe("manifest: the canonical-form check", function () {
  it("agrees with comparing against canonicalize, for any JSON value and any writing of it", function () {
    const strings = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom('"', "\\", "\n", "\u001f", "\ud800", "é", "😀", "a/b"));
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        strings,
        fc.double({ noNaN: false }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("value")),
        fc.dictionary(strings, tie("value")),
      ),
    })).value;
    fc.assert(
      fc.property(json, (value) => {
        for (const text of writings(value)) {
          let read: unknown;
          try {
            read = JSON.parse(text);
          } catch {
            continue; // not JSON: the reader refuses it before this check
          }
          // Against the value itself, and against the data the text reads as (what a receiver compares).
          expect(isCanonicalTextOf(text, read, value)).to.equal(exact(text, value), text);
          expect(isCanonicalTextOf(text, read, read)).to.equal(exact(text, read), text);
        }
      }),
      { numRuns: fuzzRuns(300) },
    );
  });

  it("refuses a value that differs from what the text reads as, even in a number's sign or a key", function () {
    const text = '{"a":[1,"x"],"b":{"c":true}}';
    const read = JSON.parse(text);
    expect(isCanonicalTextOf(text, read, read)).to.equal(true);
    expect(isCanonicalTextOf(text, read, { a: [1, "x"], b: { c: true } })).to.equal(true);
    expect(isCanonicalTextOf(text, read, { a: [2, "x"], b: { c: true } })).to.equal(false);
    expect(isCanonicalTextOf(text, read, { a: [1, "x"], b: { c: true, d: undefined } })).to.equal(true); // dropped, as canonicalize drops it
    expect(isCanonicalTextOf(text, read, { a: [1, "x"], b: { d: true } })).to.equal(false);
    expect(isCanonicalTextOf(text, read, { a: [1n, "x"], b: { c: true } })).to.equal(false); // a bigint has no JSON form
    expect(isCanonicalTextOf("0", 0, -0)).to.equal(true); // RFC 8785 writes -0 as 0
    expect(isCanonicalTextOf("-0", -0, -0)).to.equal(false);
    expect(isCanonicalTextOf("1e400", Infinity, Infinity)).to.equal(false);
  });

  it("refuses a raw lone surrogate, which the canonical form escapes", function () {
    const text = '{"a":"\ud800"}';
    expect(isCanonicalTextOf(text, JSON.parse(text), JSON.parse(text))).to.equal(false);
    const escaped = '{"a":"\\ud800"}';
    expect(isCanonicalTextOf(escaped, JSON.parse(escaped), JSON.parse(escaped))).to.equal(true);
  });

  it("serialises like canonicalize and refuses what has no JSON form", function () {
    expect(canonicalJson({ b: 1, a: ["é", null] })).to.equal('{"a":["é",null],"b":1}');
    expect(() => canonicalJson(undefined)).to.throw(TypeError);
  });

  it("takes a manifest whose strings need escapes (quotes, backslashes, control characters) and refuses other escapes", function () {
    const yaml = HELLO.yaml.replace("GREETING: hello", 'GREETING: "say \\"hi\\"\\\\n\\ttab \\u001f é 😀"');
    const parsed = parseManifest(yaml);
    expect(parsed.canonical).to.include("\\\"hi\\\"");
    const again = parseCanonicalManifest(parsed.canonical);
    expect(again.version).to.equal(parsed.version);
    expect(again.manifest).to.deep.equal(parsed.manifest);
    for (const written of [
      parsed.canonical.replace("\\t", "\\u0009"),
      parsed.canonical.replace("é", "\\u00e9"),
      parsed.canonical.replace("say", "s\\u0061y"),
    ]) {
      expect(written).to.not.equal(parsed.canonical);
      expect(() => parseCanonicalManifest(written)).to.throw(ManifestError, /not in canonical form/);
    }
  });

  it("returns the text itself as the canonical form, and the version the caller gives", function () {
    const parsed = parseCanonicalManifest(HELLO.canonical, { version: HELLO.version });
    expect(parsed.canonical).to.equal(HELLO.canonical);
    expect(parsed.version).to.equal(HELLO.version);
    expect(parseCanonicalManifest(HELLO.canonical).version).to.equal(HELLO.version);
  });
});
