/**
 * The test vectors other implementations (the provider daemon, the web app) check against: every valid manifest's
 * version, canonical form and order specs, equivalent pairs that must hash the same, near pairs that must not, and
 * refused manifests with where each problem is.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import { expect } from "chai";
import canonicalize from "canonicalize";
import { keccak256, toUtf8Bytes } from "ethers";
import { parse } from "yaml";
import { MANIFEST_SCHEMA_ID, parseManifest, requirementSpecs } from "../../../offchain/manifest";
import schema from "../../../offchain/manifest/schema.json";
import vectors from "../../../offchain/manifest/test-vectors.json";
import { refusal } from "./helpers";

const root = path.join(__dirname, "..", "..", "..");

describe("manifest test vectors", function () {
  it("has at least 8 valid manifests, with equivalent and near pairs", function () {
    expect(vectors.valid.length).to.be.at.least(8);
    expect(vectors.valid.filter((vector) => "sameVersionAs" in vector)).to.have.length.at.least(3);
    expect(vectors.valid.filter((vector) => "differsFrom" in vector)).to.have.length.at.least(3);
    expect(vectors.schema).to.equal(MANIFEST_SCHEMA_ID);
  });

  for (const vector of vectors.valid) {
    describe(vector.name, function () {
      it("has the pinned version, canonical form and order specs", function () {
        const parsed = parseManifest(vector.yaml);
        expect(parsed.canonical).to.equal(vector.canonical);
        expect(parsed.version).to.equal(vector.version);
        const specs = requirementSpecs(parsed).map(({ group, services, spec }) => ({
          group,
          services,
          resources: spec.resources,
          maxPricePerSecond: spec.maxPricePerSecond.toString(),
          duration: spec.duration.toString(),
          biddingWindow: spec.biddingWindow.toString(),
          minReputation: spec.minReputation,
          attributes: spec.attributes,
        }));
        expect(specs).to.deep.equal(vector.specs);
      });

      it("pins a version that is keccak256 of its canonical form, itself RFC 8785 of the normal form", function () {
        expect(keccak256(toUtf8Bytes(vector.canonical))).to.equal(vector.version);
        expect(canonicalize(JSON.parse(vector.canonical))).to.equal(vector.canonical);
        expect(parseManifest(vector.yaml).manifest).to.deep.equal(JSON.parse(vector.canonical));
      });

      if ("sameVersionAs" in vector) {
        it(`hashes the same as ${vector.sameVersionAs}`, function () {
          const other = vectors.valid.find((candidate) => candidate.name === vector.sameVersionAs);
          expect(other?.yaml).to.not.equal(vector.yaml);
          expect(other?.version).to.equal(vector.version);
        });
      }
      if ("differsFrom" in vector) {
        for (const name of vector.differsFrom ?? []) {
          it(`does not hash the same as ${name}`, function () {
            const other = vectors.valid.find((candidate) => candidate.name === name);
            expect(other, name).to.not.equal(undefined);
            expect(other?.version).to.not.equal(vector.version);
          });
        }
      }
    });
  }

  for (const vector of vectors.invalid) {
    it(`refuses ${vector.name}, reporting each problem where it is`, function () {
      const found = refusal(vector.yaml).issues.map(({ path: field, line }) => ({ path: field, line }));
      expect(found).to.deep.equal(vector.issues.map(({ path: field, line }) => ({ path: field, line })));
    });
  }

  describe("examples/hello.yaml", function () {
    const text = readFileSync(path.join(root, "examples", "hello.yaml"), "utf8");

    it("is the vector `hello`, and validates", function () {
      expect(text).to.equal(vectors.valid.find((vector) => vector.name === "hello")?.yaml);
      const parsed = parseManifest(text, { source: "examples/hello.yaml" });
      expect(Object.keys(parsed.manifest.services)).to.deep.equal(["api", "web"]);
      expect(parsed.manifest.services.web.expose).to.deep.equal([{ port: 8080, as: 80, to: ["global"] }]);
      expect(parsed.manifest.services.api.expose).to.deep.equal([{ port: 9000, as: 9000, to: ["web"] }]);
    });

    it("validates against schema.json alone, as an editor checks it", function () {
      const ajv = new Ajv({ allErrors: true, allowUnionTypes: true, strict: true });
      ajv.addKeyword({ keyword: "patternErrorMessage", schemaType: "string" });
      const validate = ajv.compile(schema);
      expect(validate(parse(text)), JSON.stringify(validate.errors)).to.equal(true);
    });
  });

  describe("schema.json", function () {
    it("has the published $id", function () {
      expect(schema.$id).to.equal("https://tom3.dev/schema/manifest-1.0.json");
    });

    it("describes every field, so editors explain what they complete", function () {
      const undocumented: string[] = [];
      const visit = (node: unknown, where: string): void => {
        if (typeof node !== "object" || node === null) return;
        const object = node as Record<string, unknown>;
        for (const [key, child] of Object.entries((object.properties as Record<string, unknown>) ?? {})) {
          const field = child as { description?: string };
          if (!field.description) undocumented.push(`${where}.${key}`);
          visit(child, `${where}.${key}`);
        }
        for (const [key, child] of Object.entries((object.definitions as Record<string, unknown>) ?? {})) {
          visit(child, `#${key}`);
        }
        for (const key of ["items", "additionalProperties"]) visit(object[key], `${where}.${key}`);
      };
      visit(schema, "");
      expect(undocumented).to.deep.equal([]);
    });
  });
});
