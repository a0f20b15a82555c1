/**
 * The manifest checks as a user meets them: `tom3` run as a child process on files. A manifest no provider would
 * take fails `manifest validate`, and `deploy` / `update` refuse it before connecting anywhere (so before any
 * escrow is locked).
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli, STACK_LINE } from "../cli/helpers";

const HELLO = `version: "1.0"
services:
  web:
    image: tom3/hello:local
    env:
      GREETING: hello
    resources: { cpu: 0.5, memory: 128Mi, storage: 256Mi, bandwidth: 10Mbps }
placement:
  eu: { maxPricePerSecond: 120, services: [web] }
duration: 1h
biddingWindow: 30s
`;

const ADVICE = "keep large data out of the manifest (put it in the image, or have the service fetch it when it starts)";

describe("cli: manifests that could never be delivered fail early", function () {
  this.timeout(60_000);
  let dir: string;
  let big: string;
  let unclosed: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-cli-manifest-"));
    big = join(dir, "big-env.yaml");
    writeFileSync(big, HELLO.replace("GREETING: hello", `GREETING: hello\n      BLOB: ${"x".repeat(5 * 1024 * 1024)}`));
    unclosed = join(dir, "unclosed.yaml");
    writeFileSync(unclosed, HELLO.replace("GREETING: hello", 'GREETING: "hello'));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("`manifest validate` refuses a 5 MiB env value: exit 1, the line and the limit, no stack trace", async function () {
    const run = await runCli(["manifest", "validate", big]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal("");
    expect(run.stderr).to.equal(
      `${big}:7:1: the file is 5.0 MiB, above the 4 MiB limit a provider accepts, and this line alone is 5.0 MiB: ${ADVICE}\n`,
    );
    expect(run.stderr).to.not.match(STACK_LINE);
  });

  it("`manifest validate --json` gives the same refusal as a located issue", async function () {
    const run = await runCli(["manifest", "validate", big, "--json"]);
    expect(run.code).to.equal(1);
    const printed = JSON.parse(run.stdout) as { error: { name: string; issues: { line: number; message: string }[] } };
    expect(printed.error.name).to.equal("ManifestError");
    expect(printed.error.issues).to.have.length(1);
    expect(printed.error.issues[0].line).to.equal(7);
    expect(printed.error.issues[0].message).to.contain("above the 4 MiB limit a provider accepts");
  });

  it("`deploy` and `update` refuse it before connecting to any node (nothing is locked)", async function () {
    // A node address where nothing listens: reaching it would fail with a connection error instead.
    const env = { TOM3_RPC_URL: "http://127.0.0.1:9" };
    const [deploy, update, hash] = await Promise.all([
      runCli(["deploy", big], env),
      runCli(["update", "1", big], env),
      runCli(["manifest", "hash", big], env),
    ]);
    for (const run of [deploy, update, hash]) {
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(new RegExp(`^${big.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:7:1: the file is 5\\.0 MiB, above the 4 MiB limit`));
      expect(run.stderr).to.not.match(/ECONNREFUSED|connect/);
    }
  });

  it("locates an unclosed quote at its opening, not at the end of the file", async function () {
    const run = await runCli(["manifest", "validate", unclosed]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal(`${unclosed}:6:17: this "-quoted string is never closed: end it with "\n`);
  });
});
