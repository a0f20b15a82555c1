/**
 * YAML syntax errors, located where the mistake is: the line and column a user must go to, as `file:line:col`.
 * The YAML parser notices an unclosed quote or bracket lines later (often at the end of the file); these tests
 * hold that the manifest reader points at the opening instead.
 */
import { expect } from "chai";
import { refusal, editText } from "./helpers";

/** examples/hello.yaml, trimmed: line 6 is the GREETING line. */
const HELLO = `version: "1.0"
services:
  web:
    image: tom3/hello:local
    env:
      GREETING: hello
      API_URL: http://api:9000
    expose:
      - port: 8080
        to: [global]
    resources: { cpu: 0.5, memory: 128Mi, storage: 256Mi, bandwidth: 10Mbps }
placement:
  eu:
    maxPricePerSecond: 120
    services: [web]
duration: 1h
biddingWindow: 30s
`;

/** HELLO with `from` (found exactly once) replaced by `to`. */
function edit(from: string, to: string): string {
  return editText(HELLO, [from, to]);
}

interface Case {
  mistake: string;
  text: string;
  /** The one line `format()` prints first: `hello.yaml:line:col: message`. */
  first: string;
}

const cases: Case[] = [
  {
    mistake: "an unclosed double quote on line 6, the file going on after it",
    text: edit("GREETING: hello", 'GREETING: "hello'),
    first: 'hello.yaml:6:17: this "-quoted string is never closed: end it with "',
  },
  {
    mistake: "an unclosed double quote on line 6, another quoted string later in the file",
    text: edit("GREETING: hello", 'GREETING: "hello').replace("duration: 1h", 'duration: "1h"'),
    first: 'hello.yaml:6:17: this "-quoted string is never closed: end it with "',
  },
  {
    mistake: "an unclosed single quote on line 6",
    text: edit("GREETING: hello", "GREETING: 'it''s"),
    first: "hello.yaml:6:17: this '-quoted string is never closed: end it with '",
  },
  {
    mistake: "an unclosed quote on the last line",
    text: edit("biddingWindow: 30s", 'biddingWindow: "30s'),
    first: 'hello.yaml:17:16: this "-quoted string is never closed: end it with "',
  },
  {
    mistake: "a quote escaped at the end (\\\"), so never closed",
    text: edit("GREETING: hello", 'GREETING: "hello\\"'),
    first: 'hello.yaml:6:17: this "-quoted string is never closed: end it with "',
  },
  {
    mistake: "an unclosed flow list on line 15",
    text: edit("services: [web]", "services: [web"),
    first: "hello.yaml:15:15: this [ is never closed: end the list with ]",
  },
  {
    mistake: "an unclosed flow list followed by more keys",
    text: edit("to: [global]", "to: [global"),
    first: "hello.yaml:10:13: this [ is never closed: end the list with ]",
  },
  {
    mistake: "an unclosed flow map on line 11",
    text: edit("bandwidth: 10Mbps }", "bandwidth: 10Mbps"),
    first: "hello.yaml:11:16: this { is never closed: end the map with }",
  },
  {
    mistake: "a list closed with } inside a map",
    text: edit("resources: { cpu: 0.5, memory: 128Mi,", "resources: { cpu: [0.5, 1}, memory: 128Mi,"),
    first: "hello.yaml:11:23: this [ is never closed: end the list with ]",
  },
  {
    mistake: "a key indented less than its siblings",
    text: edit("      API_URL: http://api:9000", "     API_URL: http://api:9000"),
    first: "hello.yaml:7:6: this key is not aligned with the keys above it: the keys of one map start at the same column",
  },
  {
    mistake: "a key indented deeper than the line above it",
    text: edit("    image: tom3/hello:local\n    env:", "    image: tom3/hello:local\n      env:"),
    first: "hello.yaml:5:7: this line is indented deeper than line 4, so YAML reads it as part of the value there: align it with the keys of its map",
  },
  {
    mistake: "a key without its colon",
    text: edit("    image: tom3/hello:local", "    image tom3/hello:local"),
    first: "hello.yaml:4:5: this line is not `key: value` (is the colon missing, or the space after it?)",
  },
  {
    mistake: "a key without its colon on the last line",
    text: edit("biddingWindow: 30s", "biddingWindow 30s"),
    first: "hello.yaml:17:1: this line is not `key: value` (is the colon missing, or the space after it?)",
  },
  {
    mistake: "a list item's key indented less than the item's first key",
    text: edit("        to: [global]", "       to: [global]"),
    first: "hello.yaml:10:8: this line is not aligned with the list item above it, nor a new item (`- `): align it with that item's keys",
  },
  {
    mistake: "a tab as indentation",
    text: edit("    image: tom3/hello:local", "\timage: tom3/hello:local"),
    first: "hello.yaml:4:1: a tab indents this line: YAML indents with spaces only",
  },
  {
    mistake: "a duplicate key",
    text: edit("      API_URL: http://api:9000", "      API_URL: http://api:9000\n      GREETING: hi"),
    first: "hello.yaml:8:7: services.web.env.GREETING: duplicate key: it is already at line 6 (a key appears once in a map)",
  },
  {
    mistake: "a duplicate top-level key, far from the first",
    text: `${HELLO}duration: 2h\n`,
    first: "hello.yaml:18:1: duration: duplicate key: it is already at line 16 (a key appears once in a map)",
  },
];

describe("manifest: YAML syntax errors, located where they start", function () {
  for (const { mistake, text, first } of cases) {
    it(`${mistake}: ${first.split(": ")[0]}`, function () {
      // The first line printed: the mistake (others may follow from the same mistake, or from the data around it).
      const lines = refusal(text, "hello.yaml").format().split("\n");
      expect(lines[0]).to.equal(first);
    });
  }

  it("reports each mistake once, even when the parser reports it several times", function () {
    const error = refusal(edit("services: [web]", "services: [web"), "hello.yaml");
    const places = error.issues.map((issue) => `${issue.line}:${issue.column}`);
    expect(new Set(places).size).to.equal(places.length);
  });

  it("keeps a quoted string that spans lines and is closed: valid", function () {
    expect(() => refusal(edit("GREETING: hello", 'GREETING: "hello\n        world"'))).to.throw(/accepted/);
  });
});
