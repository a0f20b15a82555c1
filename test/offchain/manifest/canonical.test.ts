/**
 * Reading a manifest in its canonical form (RFC 8785 JSON of the normal form), as peers send it: the same rules as
 * the YAML reader, and nothing but the exact canonical text of a valid manifest is taken.
 */
import { expect } from "chai";
import { keccak256 } from "ethers";
import { keccak256Bytes, keccak256Hasher, ManifestError, parseCanonicalManifest, parseManifest, requirementSpecs } from "../../../offchain/manifest";
import vectors from "../../../offchain/manifest/test-vectors.json";

const HELLO = vectors.valid[0];

function refused(text: string): ManifestError {
  try {
    parseCanonicalManifest(text, { source: "peer.json" });
  } catch (error) {
    if (error instanceof ManifestError) return error;
    throw error;
  }
  return expect.fail(`accepted ${text.slice(0, 80)}`);
}

describe("manifest: the canonical form", function () {
  for (const vector of vectors.valid) {
    it(`reads ${vector.name} back to its pinned version, normal form and specs`, function () {
      const parsed = parseCanonicalManifest(vector.canonical);
      const fromYaml = parseManifest(vector.yaml);
      expect(parsed.version).to.equal(vector.version);
      expect(parsed.canonical).to.equal(vector.canonical);
      expect(parsed.manifest).to.deep.equal(fromYaml.manifest);
      expect(requirementSpecs(parsed)).to.deep.equal(requirementSpecs(fromYaml));
      expect(parsed.locate("services")).to.equal(undefined);
    });
  }

  it("uses the version the caller already computed", function () {
    expect(parseCanonicalManifest(HELLO.canonical, { version: HELLO.version }).version).to.equal(HELLO.version);
  });

  it("refuses text that is not JSON", function () {
    expect(refused("version: '1.0'").issues[0]).to.deep.equal({ path: "", message: "not JSON: a canonical manifest is RFC 8785 JSON" });
  });

  it("refuses a valid manifest that is not written canonically (spacing, key order)", function () {
    const pretty = JSON.stringify(JSON.parse(HELLO.canonical), null, 2);
    expect(refused(pretty).issues[0].message).to.match(/not in canonical form/);
    const reordered = JSON.stringify({ version: "1.0", ...JSON.parse(HELLO.canonical) });
    expect(refused(reordered).issues[0].message).to.match(/not in canonical form/);
  });

  it("refuses a normal form that breaks a rule, naming the field (no line: the text is one line)", function () {
    const zeroCpu = JSON.parse(HELLO.canonical);
    zeroCpu.services.web.resources.cpuMillis = 0;
    const issue = refused(JSON.stringify(zeroCpu)).issues.find((i) => i.path === "services.web.resources.cpu");
    expect(issue?.message).to.match(/more than 0/);
    expect(issue?.line).to.equal(undefined);

    const badPort = JSON.parse(HELLO.canonical);
    badPort.services.web.expose[0].port = 70_000;
    expect(refused(JSON.stringify(badPort)).issues.map((i) => i.path)).to.include("services.web.expose[0].port");

    const unknownService = JSON.parse(HELLO.canonical);
    unknownService.services.web.expose[0].to = ["nobody"];
    expect(refused(JSON.stringify(unknownService)).issues[0].message).to.match(/no service named "nobody"/);
  });

  it("refuses the manifest's own YAML form of the fields (units are base numbers in the normal form)", function () {
    const written = JSON.parse(HELLO.canonical);
    written.services.web.resources = { cpu: 0.5, memory: "128Mi", storage: "256Mi", bandwidth: "10Mbps" };
    expect(refused(JSON.stringify(written)).issues.length).to.be.greaterThan(0);
  });

  it("hashes like ethers' keccak256 (native binding or not)", function () {
    for (const text of ["", "a", HELLO.canonical, "x".repeat(200_000)]) {
      const bytes = new TextEncoder().encode(text);
      expect(keccak256Bytes(bytes)).to.equal(keccak256(bytes));
      expect(keccak256Bytes(bytes.subarray(1))).to.equal(keccak256(bytes.subarray(1)));
    }
  });

  it("hashes bytes that arrive in pieces like the whole (any split, pieces reused after update)", function () {
    const bytes = new TextEncoder().encode(HELLO.canonical.repeat(50));
    for (const size of [1, 7, 136, 4096, bytes.length]) {
      const hasher = keccak256Hasher();
      const scratch = new Uint8Array(size);
      for (let offset = 0; offset < bytes.length; offset += size) {
        const piece = bytes.subarray(offset, offset + size);
        scratch.set(piece);
        hasher.update(scratch.subarray(0, piece.length));
        scratch.fill(0); // the hasher kept nothing
      }
      expect(hasher.digest()).to.equal(keccak256(bytes));
    }
    expect(keccak256Hasher().digest()).to.equal(keccak256(new Uint8Array(0)));
  });
});
