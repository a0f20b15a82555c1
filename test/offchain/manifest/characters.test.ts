/**
 * Invisible and look-alike characters: a name that reads "web" but holds a zero-width space or a Cyrillic letter
 * is refused with the value shown escaped ("w\u200beb") and the character named, wherever an error quotes it.
 */
import { expect } from "chai";
import { formatIssue, quote, unusualCharacter } from "../../../offchain/manifest";
import { refusal, editText } from "./helpers";

const BASE = `version: "1.0"
services:
  web:
    image: tom3/hello:local
    env:
      GREETING: hello
    expose:
      - port: 8080
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

const ZWSP = "\u200b";
const CYRILLIC_E = "\u0435";
/** Anything a terminal would not show as itself: controls, format characters, odd spaces, non-ASCII letters. */
const HIDDEN = /[\u200b\u0435\u202e\u00a0]/u;

interface Case {
  where: string;
  text: string;
  /** The whole line `format()` prints for the issue, exactly. */
  line: string;
}

const cases: Case[] = [
  {
    where: "a service name with a zero-width space",
    text: edit(["  web:\n", `  w${ZWSP}eb:\n`], ["services: [web, api]", `services: [w${ZWSP}eb, api]`], ["to: [web]", `to: [w${ZWSP}eb]`]),
    line:
      `m.yaml:3:3: services["w\\u200beb"]: must be a DNS-label-like name: a lower-case letter, then lower-case letters, ` +
      "digits or '-' (at most 63 characters); it contains U+200B ZERO WIDTH SPACE, an invisible character",
  },
  {
    where: "a `to:` entry with a Cyrillic 'е'",
    text: edit(["to: [web]", `to: [w${CYRILLIC_E}b]`]),
    line:
      `m.yaml:15:14: services.api.expose[0].to[0]: must be a DNS-label-like name: a lower-case letter, then lower-case ` +
      `letters, digits or '-' (at most 63 characters), not "w\\u0435b" (it contains U+0435, a Cyrillic letter that ` +
      "looks like ASCII but is not)",
  },
  {
    where: "a group's service list with a zero-width space",
    text: edit(["services: [web, api]", `services: [w${ZWSP}eb, api]`]),
    line:
      "m.yaml:21:16: placement.eu.services[0]: must be a DNS-label-like name: a lower-case letter, then lower-case " +
      `letters, digits or '-' (at most 63 characters), not "w\\u200beb" (it contains U+200B ZERO WIDTH SPACE, an ` +
      "invisible character)",
  },
  {
    where: "an image with a no-break space",
    text: edit(["image: tom3/api:local", 'image: "tom3/api:\u00a0local"']),
    line:
      "m.yaml:12:12: services.api.image: must be a container image reference such as tom3/hello:local, " +
      'registry.example:5000/org/app:1.2 or app@sha256:<digest>, not "tom3/api:\\u00a0local" (it contains U+00A0 ' +
      "NO-BREAK SPACE, an invisible character)",
  },
  {
    where: "an env name with a Cyrillic letter",
    text: edit(["GREETING: hello", `GR${CYRILLIC_E}ETING: hello`]),
    line:
      'm.yaml:6:7: services.web.env["GR\\u0435ETING"]: must be an environment variable name: letters, digits, \'_\', ' +
      "'-' or '.', not starting with a digit; it contains U+0435, a Cyrillic letter that looks like ASCII but is not",
  },
  {
    where: "a known key spelt with a Cyrillic letter",
    text: edit(["image: tom3/api:local", `imag${CYRILLIC_E}: tom3/api:local`]),
    line:
      'm.yaml:12:5: services.api["imag\\u0435"]: unknown key (did you mean `image`?); it contains U+0435, a Cyrillic ' +
      "letter that looks like ASCII but is not",
  },
  {
    where: "a unit with a zero-width space",
    text: edit(["cpu: 250m", `cpu: "250m${ZWSP}"`]),
    line:
      "m.yaml:16:23: services.api.resources.cpu: expected a number of CPUs (0.5, 2) or millicores (250m), got " +
      '"250m\\u200b" (it contains U+200B ZERO WIDTH SPACE, an invisible character)',
  },
  {
    where: "a key with a right-to-left override, which would reorder the line on a terminal",
    text: edit(["region: eu-west", "\"re\u202egion\": eu-west"]),
    line:
      'm.yaml:19:19: placement.eu.attributes["re\\u202egion"]: must be an attribute key: letters, digits, \'.\', ' +
      "'_', '/' or '-', starting with a letter or digit (at most 63 characters, no '='); it contains U+202E " +
      "RIGHT-TO-LEFT OVERRIDE, an invisible character",
  },
];

describe("manifest: invisible and look-alike characters, shown escaped", function () {
  for (const { where, text, line } of cases) {
    it(`${where}: shown escaped and named`, function () {
      const printed = refusal(text, "m.yaml").format();
      expect(printed.split("\n")).to.include(line, printed);
      expect(printed).to.not.match(HIDDEN);
    });
  }

  it("a zero-width space in the service's key only: the names that miss it point at the one mistake", function () {
    const printed = refusal(edit(["  web:\n", `  w${ZWSP}eb:\n`]), "m.yaml").format();
    expect(printed.split("\n")).to.include.members([
      'm.yaml:15:14: services.api.expose[0].to[0]: no service named "web" (use `global` for the internet, or a service of ' +
        'this manifest); the service is spelled "w\\u200beb" in this file, with an invisible character',
      'm.yaml:21:16: placement.eu.services[0]: no service named "web"; the service is spelled "w\\u200beb" in this file, ' +
        "with an invisible character",
    ]);
    expect(printed).to.not.match(HIDDEN);
  });

  it("quote() escapes everything outside printable ASCII, and only that", function () {
    expect(quote(`w${ZWSP}eb`)).to.equal('"w\\u200beb"');
    expect(quote(`w${CYRILLIC_E}b`)).to.equal('"w\\u0435b"');
    expect(quote('say "hi"\\now')).to.equal('"say \\"hi\\"\\\\now"');
    expect(quote("a\tb\nc\u0000")).to.equal('"a\\tb\\nc\\u0000"');
    expect(quote("🙂")).to.equal('"\\u{1f642}"');
    expect(quote("\ud800")).to.equal('"\\ud800"');
    expect(quote("tom3/hello:local")).to.equal('"tom3/hello:local"');
  });

  it("unusualCharacter() names the first character outside printable ASCII", function () {
    expect(unusualCharacter("web")).to.equal(undefined);
    expect(unusualCharacter(`w${ZWSP}eb`)).to.equal("contains U+200B ZERO WIDTH SPACE, an invisible character");
    expect(unusualCharacter(`w${CYRILLIC_E}b`)).to.equal("contains U+0435, a Cyrillic letter that looks like ASCII but is not");
    expect(unusualCharacter("wεb")).to.equal("contains U+03B5, a Greek letter that looks like ASCII but is not");
    expect(unusualCharacter("ｗeb")).to.equal("contains U+FF57, a fullwidth form of an ASCII character that looks like ASCII but is not");
    expect(unusualCharacter("café")).to.equal("contains U+00E9, a non-ASCII character");
    expect(unusualCharacter("a\u0007")).to.equal("contains U+0007, a control character");
    expect(unusualCharacter("a\u2062b")).to.equal("contains U+2062, an invisible character");
  });

  it("formatIssue() escapes invisible characters from any message, keeping readable non-ASCII text", function () {
    const line = formatIssue({ path: "", line: 1, column: 1, message: `x\u202ey${ZWSP}z \u00e9t\u00e9` }, "m.yaml");
    expect(line).to.equal("m.yaml:1:1: x\\u202ey\\u200bz été");
  });
});
