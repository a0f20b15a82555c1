/**
 * One refused manifest per rule of the workload file, each checked for the field's path and line: the base
 * manifest below is valid, and each case changes one thing in it.
 */
import { expect } from "chai";
import { ManifestError, parseManifest } from "../../../offchain/manifest";
import { issueAt, refusal, editText } from "./helpers";

const BASE = `version: "1.0"
services:
  web:
    image: tom3/hello:local
    expose:
      - port: 8080
        as: 80
        to: [global]
    resources: { cpu: 0.5, memory: 128Mi, storage: 256Mi, bandwidth: 10Mbps }
  api:
    image: tom3/api:local
    expose:
      - port: 9000
        to: [web]
    resources: { cpu: 250m, memory: 64Mi, storage: 64Mi, bandwidth: 5Mbps }
placement:
  eu:
    attributes: { region: eu-west }
    maxPricePerSecond: 120
    services: [web, api]
duration: 1h
biddingWindow: 30s
`;

/** BASE with each `from` (found exactly once) replaced by its `to`. */
const edit = (...changes: [from: string, to: string][]): string => editText(BASE, ...changes);

/** A rule: the manifest breaking it, and where the problem must be reported. */
interface Case {
  rule: string;
  text: string;
  path: string;
  line: number;
  message?: string;
}

const cases: Case[] = [
  // YAML itself
  { rule: "YAML syntax", text: edit(["services: [web, api]", "services: [web, api"]), path: "", line: 20, message: "this [ is never closed: end the list with ]" },
  { rule: "unique keys", text: edit(["duration: 1h\n", "duration: 1h\nduration: 2h\n"]), path: "duration", line: 22, message: "duplicate key: it is already at line 21" },
  { rule: "a single document", text: `${BASE}---\nversion: "1.0"\n`, path: "", line: 23, message: "single YAML document" },
  { rule: "no tabs as indentation", text: edit(["  api:\n    image", "  api:\n\timage"]), path: "", line: 11 },
  { rule: "core tags only", text: edit(["image: tom3/api:local", "image: !!binary dG9tMw=="]), path: "services.api.image", line: 11, message: "unsupported YAML tag" },
  { rule: "custom tags", text: edit(["cpu: 250m", "cpu: !cpu 250m"]), path: "", line: 15, message: "Unresolved tag" },
  { rule: "no merge keys", text: edit(["  api:\n", "  api:\n    <<: {count: 1}\n"]), path: "services.api.<<", line: 11, message: "merge keys" },
  { rule: "aliases name an anchor", text: edit(["image: tom3/api:local", "image: *nowhere"]), path: "services.api.image", line: 11, message: "unknown anchor" },
  { rule: "finite numbers", text: edit(["maxPricePerSecond: 120", "maxPricePerSecond: .inf"]), path: "placement.eu.maxPricePerSecond", line: 19, message: "not a finite number" },
  { rule: "exact numbers", text: edit(["maxPricePerSecond: 120", "maxPricePerSecond: 1e30"]), path: "placement.eu.maxPricePerSecond", line: 19, message: "write it as an integer" },
  { rule: "valid Unicode", text: edit(["image: tom3/api:local", 'image: "tom3/\\ud800"']), path: "services.api.image", line: 11, message: "unpaired surrogate" },
  // the manifest's shape
  { rule: "a map at the top", text: "- just a list\n", path: "", line: 1, message: "must be a map" },
  { rule: 'version is "1.0"', text: edit(['version: "1.0"', 'version: "2.0"']), path: "version", line: 1, message: 'must be "1.0"' },
  { rule: "version is quoted", text: edit(['version: "1.0"', "version: 1.0"]), path: "version", line: 1, message: 'quoted: "1.0"' },
  { rule: "unknown top-level keys", text: edit(["duration: 1h", "duraton: 1h"]), path: "duraton", line: 21, message: "did you mean `duration`" },
  { rule: "unknown service keys", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    replicas: 2"]), path: "services.api.replicas", line: 12, message: "unknown key" },
  { rule: "unknown resource keys", text: edit(["cpu: 250m,", "cpu: 250m, gpu: 1,"]), path: "services.api.resources.gpu", line: 15, message: "unknown key" },
  { rule: "unknown expose keys", text: edit(["        to: [web]", "        to: [web]\n        protocol: udp"]), path: "services.api.expose[0].protocol", line: 15 },
  { rule: "unknown group keys", text: edit(["    services: [web, api]", "    services: [web, api]\n    region: eu"]), path: "placement.eu.region", line: 21 },
  { rule: "services are required", text: edit(["services: [web, api]", "services: [web]"]).replace(/^services:[\s\S]*?^placement:/m, "placement:"), path: "services", line: 1, message: "is required" },
  { rule: "duration is required", text: edit(["duration: 1h\n", ""]), path: "duration", line: 1, message: "is required" },
  { rule: "biddingWindow is required", text: edit(["biddingWindow: 30s\n", ""]), path: "biddingWindow", line: 1, message: "is required" },
  { rule: "a service has an image", text: edit(["    image: tom3/api:local\n", ""]), path: "services.api.image", line: 10, message: "is required" },
  { rule: "a service has resources", text: edit(["    resources: { cpu: 250m, memory: 64Mi, storage: 64Mi, bandwidth: 5Mbps }\n", ""]), path: "services.api.resources", line: 10, message: "is required" },
  { rule: "every resource is given", text: edit(["memory: 64Mi, ", ""]), path: "services.api.resources.memory", line: 15, message: "is required" },
  { rule: "an exposed port has a port", text: edit(["      - port: 9000\n        to: [web]", "      - to: [web]"]), path: "services.api.expose[0].port", line: 13, message: "is required" },
  { rule: "an exposed port says to whom", text: edit(["      - port: 9000\n        to: [web]", "      - port: 9000"]), path: "services.api.expose[0].to", line: 13, message: "is required" },
  { rule: "a group has a price", text: edit(["    maxPricePerSecond: 120\n", ""]), path: "placement.eu.maxPricePerSecond", line: 17, message: "is required" },
  { rule: "a group lists services", text: edit(["    services: [web, api]\n", ""]), path: "placement.eu.services", line: 17, message: "is required" },
  { rule: "services is not empty", text: edit(["placement:", "extra: {}\nplacement:"]).replace(/^services:[\s\S]*?^extra: \{\}\n/m, "services: {}\n"), path: "services", line: 2, message: "must not be empty" },
  { rule: "placement is not empty", text: edit(["placement:\n  eu:\n    attributes: { region: eu-west }\n    maxPricePerSecond: 120\n    services: [web, api]\n", "placement: {}\n"]), path: "placement", line: 16, message: "must not be empty" },
  // names
  { rule: "service names are DNS labels", text: edit(["  api:", "  Api:"], ["services: [web, api]", "services: [web, Api]"]), path: "services.Api", line: 10, message: "DNS-label-like" },
  { rule: "group names are DNS labels", text: edit(["  eu:", "  eu_1:"]), path: "placement.eu_1", line: 17, message: "DNS-label-like" },
  { rule: "a service is not called global", text: edit(["  api:", "  global:"], ["services: [web, api]", "services: [web, global]"]), path: "services.global", line: 10, message: "`global` means the internet" },
  // placement
  { rule: "every service is placed", text: edit(["services: [web, api]", "services: [web]"]), path: "services.api", line: 10, message: "in no placement group" },
  { rule: "a service is placed once", text: edit(["duration: 1h", "  us:\n    maxPricePerSecond: 1\n    services: [api]\nduration: 1h"]), path: "placement.us.services[0]", line: 23, message: "already placed in group eu" },
  { rule: "a group's services exist", text: edit(["services: [web, api]", "services: [web, api, db]"]), path: "placement.eu.services[2]", line: 20, message: 'no service named "db"' },
  { rule: "a group lists a service once", text: edit(["services: [web, api]", "services: [web, api, web]"]), path: "placement.eu.services[2]", line: 20, message: 'repeats "web"' },
  { rule: "a group's services are not empty", text: edit(["services: [web, api]", "services: []"]), path: "placement.eu.services", line: 20, message: "must not be empty" },
  // connection rules
  { rule: "to names services of this file", text: edit(["to: [web]", "to: [web, db]"]), path: "services.api.expose[0].to[1]", line: 14, message: 'no service named "db"' },
  { rule: "to does not name the service itself", text: edit(["to: [web]", "to: [api]"]), path: "services.api.expose[0].to[0]", line: 14, message: "itself" },
  { rule: "to names each once", text: edit(["to: [web]", "to: [web, web]"]), path: "services.api.expose[0].to[1]", line: 14, message: "repeats" },
  { rule: "to is not empty", text: edit(["to: [web]", "to: []"]), path: "services.api.expose[0].to", line: 14, message: "must not be empty" },
  { rule: "ports are at least 1", text: edit(["port: 9000", "port: 0"]), path: "services.api.expose[0].port", line: 13, message: ">= 1" },
  { rule: "ports are at most 65535", text: edit(["as: 80", "as: 65536"]), path: "services.web.expose[0].as", line: 7, message: "<= 65535" },
  { rule: "ports are integers", text: edit(["port: 9000", "port: '9000'"]), path: "services.api.expose[0].port", line: 13, message: "must be an integer" },
  { rule: "container ports are unique per service", text: edit(["        to: [global]", "        to: [global]\n      - port: 8080\n        as: 8081\n        to: [api]"]), path: "services.web.expose[1].port", line: 9, message: "already exposed by expose[0]" },
  { rule: "service ports (as) are unique per service", text: edit(["        to: [global]", "        to: [global]\n      - port: 80\n        to: [api]"]), path: "services.web.expose[1].port", line: 9, message: "already known on port 80" },
  { rule: "integers have no fraction", text: edit(["port: 9000", "port: 9000.0"]), path: "services.api.expose[0].port", line: 13, message: "without a fraction or exponent (not 9000.0)" },
  { rule: "integers have no exponent", text: edit(["maxPricePerSecond: 120", "maxPricePerSecond: 1.2e2"]), path: "placement.eu.maxPricePerSecond", line: 19, message: "without a fraction or exponent" },
  { rule: "text is never a number, however large", text: edit(["image: tom3/api:local", "image: 123456789012345678901234"]), path: "services.api.image", line: 11, message: 'quoted: "123456789012345678901234"' },
  // resources and units
  { rule: "cpu form", text: edit(["cpu: 250m", "cpu: 250 millicores"]), path: "services.api.resources.cpu", line: 15, message: "millicores (250m)" },
  { rule: "cpu in whole millicores", text: edit(["cpu: 250m", "cpu: 0.0001"]), path: "services.api.resources.cpu", line: 15, message: "not a whole number of millicores" },
  { rule: "cpu above 0", text: edit(["cpu: 250m", "cpu: 0m"]), path: "services.api.resources.cpu", line: 15, message: "more than 0" },
  { rule: "memory in binary units", text: edit(["memory: 64Mi", "memory: 64MB"]), path: "services.api.resources.memory", line: 15, message: "did you mean Mi" },
  { rule: "memory above 0", text: edit(["memory: 64Mi", "memory: 0"]), path: "services.api.resources.memory", line: 15, message: "more than 0" },
  { rule: "storage in whole bytes", text: edit(["storage: 64Mi", "storage: 0.5"]), path: "services.api.resources.storage", line: 15, message: "not a whole number of bytes" },
  { rule: "bandwidth has a unit", text: edit(["bandwidth: 5Mbps", "bandwidth: 5"]), path: "services.api.resources.bandwidth", line: 15, message: "a unit is required" },
  { rule: "resources is a map", text: edit(["    resources: { cpu: 250m, memory: 64Mi, storage: 64Mi, bandwidth: 5Mbps }", "    resources: [250m, 64Mi]"]), path: "services.api.resources", line: 15, message: "must be a map" },
  { rule: "count is at least 1", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    count: 0"]), path: "services.api.count", line: 12, message: ">= 1" },
  { rule: "count is an integer", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    count: 1.5"]), path: "services.api.count", line: 12, message: "must be an integer" },
  { rule: "count fits", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    count: 100000000000000000000"]), path: "services.api.count", line: 12, message: "too large" },
  { rule: "a group fits one order", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    count: 20000000"]), path: "placement.eu", line: 18, message: "more than one order can carry" },
  // the rest of a service
  { rule: "image is a reference", text: edit(["image: tom3/api:local", "image: Tom3 API"]), path: "services.api.image", line: 11, message: "container image reference" },
  { rule: "command is not empty", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    command: []"]), path: "services.api.command", line: 12, message: "must not be empty" },
  { rule: "args are strings", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    args: [--port, 9000]"]), path: "services.api.args[1]", line: 12, message: 'quoted: "9000"' },
  { rule: "env values are strings", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    env: { DEBUG: true }"]), path: "services.api.env.DEBUG", line: 12, message: 'quoted: "true"' },
  { rule: "env names", text: edit(["    image: tom3/api:local", "    image: tom3/api:local\n    env: { 1PORT: '1' }"]), path: "services.api.env.1PORT", line: 12, message: "environment variable name" },
  // groups
  { rule: "price above 0", text: edit(["maxPricePerSecond: 120", 'maxPricePerSecond: "0"']), path: "placement.eu.maxPricePerSecond", line: 19, message: "more than 0" },
  { rule: "price is whole", text: edit(["maxPricePerSecond: 120", "maxPricePerSecond: 1.5"]), path: "placement.eu.maxPricePerSecond", line: 19, message: "must be an integer" },
  { rule: "price is digits", text: edit(["maxPricePerSecond: 120", 'maxPricePerSecond: "120 wei"']), path: "placement.eu.maxPricePerSecond", line: 19, message: "whole number of TOM3 wei" },
  { rule: "price fits uint128", text: edit(["maxPricePerSecond: 120", "maxPricePerSecond: 340282366920938463463374607431768211456"]), path: "placement.eu.maxPricePerSecond", line: 19, message: "uint128" },
  { rule: "minReputation at most 10000", text: edit(["maxPricePerSecond: 120", "maxPricePerSecond: 120\n    minReputation: 10001"]), path: "placement.eu.minReputation", line: 20, message: "<= 10000" },
  { rule: "attribute values are strings", text: edit(["{ region: eu-west }", "{ region: eu-west, gpus: 2 }"]), path: "placement.eu.attributes.gpus", line: 18, message: "quoted" },
  { rule: "attribute keys have no =", text: edit(["{ region: eu-west }", '{ "region=eu": west }']), path: "placement.eu.attributes.region=eu", line: 18, message: "no '='" },
  {
    rule: "at most 32 attributes",
    text: edit(["{ region: eu-west }", `{ ${Array.from({ length: 33 }, (_, i) => `a${i}: x`).join(", ")} }`]),
    path: "placement.eu.attributes",
    line: 18,
    message: "more than 32",
  },
  // times and the usage key
  { rule: "duration form", text: edit(["duration: 1h", "duration: 1 hour"]), path: "duration", line: 21, message: "largest unit first" },
  { rule: "duration above 0", text: edit(["duration: 1h", "duration: 0s"]), path: "duration", line: 21, message: "more than 0" },
  { rule: "duration at most 10 years", text: edit(["duration: 1h", "duration: 3651d"]), path: "duration", line: 21, message: "(3650d)" },
  { rule: "biddingWindow at most 30 days", text: edit(["biddingWindow: 30s", "biddingWindow: 30d1s"]), path: "biddingWindow", line: 22, message: "(30d)" },
  { rule: "biddingWindow in whole seconds", text: edit(["biddingWindow: 30s", "biddingWindow: 0.5s"]), path: "biddingWindow", line: 22, message: "whole number of seconds" },
  { rule: "usageKeyHash format", text: edit(["biddingWindow: 30s", 'biddingWindow: 30s\nusageKeyHash: "0x1234"']), path: "usageKeyHash", line: 23, message: "64 hex digits" },
];

describe("manifest rules", function () {
  it("the base manifest is valid", function () {
    expect(parseManifest(BASE).version).to.match(/^0x[0-9a-f]{64}$/);
  });

  for (const { rule, text, path, line, message } of cases) {
    it(`refuses a manifest breaking "${rule}" at ${path || "(top)"}, line ${line}`, function () {
      const issue = issueAt(text, path, line);
      expect(issue.column).to.be.a("number").and.to.be.at.least(1);
      if (message) expect(issue.message).to.contain(message);
    });
  }

  it("accepts an unquoted usage key hash, as written, in lower case", function () {
    const hash = `0x${"AB".repeat(32)}`;
    const parsed = parseManifest(edit(["biddingWindow: 30s", `biddingWindow: 30s\nusageKeyHash: ${hash}`]));
    expect(parsed.manifest.usageKeyHash).to.equal(hash.toLowerCase());
  });

  it("treats a key like __proto__ as an ordinary name", function () {
    const parsed = parseManifest(edit(["    image: tom3/api:local", "    image: tom3/api:local\n    env: { __proto__: x }"]));
    expect(Object.keys(parsed.manifest.services.api.env)).to.deep.equal(["__proto__"]);
    expect(Object.getPrototypeOf(parsed.manifest.services.api.env)).to.equal(Object.prototype);
    expect(parsed.canonical).to.contain('"env":{"__proto__":"x"}');
  });

  describe("reporting", function () {
    const broken = edit(
      ['version: "1.0"', "version: 1.0"],
      ["cpu: 250m", "cpu: 0.0001"],
      ["to: [web]", "to: [db]"],
      ["duration: 1h", "duration: 60"],
    );

    it("collects every problem, in source order, each with path, line and column", function () {
      const error = refusal(broken);
      expect(error.issues.map(({ path, line }) => `${line} ${path}`)).to.deep.equal([
        "1 version",
        "14 services.api.expose[0].to[0]",
        "15 services.api.resources.cpu",
        "21 duration",
      ]);
    });

    it("reports one problem per field, none beneath a field already refused", function () {
      const error = refusal(edit(["    resources: { cpu: 250m, memory: 64Mi, storage: 64Mi, bandwidth: 5Mbps }", "    resources: 12"]));
      expect(error.issues.map((issue) => issue.path)).to.deep.equal(["services.api.resources"]);
    });

    it("formats file:line:col: path: message lines, and never a stack trace", function () {
      const error = refusal(broken, "hello.yaml");
      expect(error.name).to.equal("ManifestError");
      expect(error.message).to.equal(`${error.format().split("\n")[0]} (and 3 more)`);
      const lines = error.format().split("\n");
      expect(lines).to.have.length(4);
      expect(lines[0]).to.equal('hello.yaml:1:10: version: must be a string (write it quoted: "1.0")');
      for (const line of lines) expect(line).to.match(/^hello\.yaml:\d+:\d+: [^:]+: .+/);
      expect(error.format()).to.not.contain("    at ");
    });

    it("names the source 'manifest' when none is given, and leaves out the path of a whole-file problem", function () {
      expect(refusal("").format()).to.equal("manifest:1:1: must be a map, not empty");
    });

    it("quotes keys that would not read back plainly, and keeps every issue on one line", function () {
      const error = refusal(edit(["duration: 1h", 'duration: 1h\n"odd\\nkey.x": 1\n"": 2']));
      expect(error.issues.map((issue) => issue.path)).to.deep.equal(['["odd\\nkey.x"]', '[""]']);
      expect(error.format().split("\n")).to.have.length(2);
    });

    it("refuses what is not text", function () {
      expect(() => parseManifest(42 as never)).to.throw(ManifestError, "a manifest is YAML text");
    });
  });
});
