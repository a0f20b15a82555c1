import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vectors from "../../../offchain/manifest/test-vectors.json";
import { REPO_ROOT } from "../../harness/local-chain";
import { STACK_LINE, runCli } from "./helpers";

const HELLO = join(REPO_ROOT, "examples", "hello.yaml");

/** The offline commands (`tom3 manifest ...`), usage errors and key errors: no node needed. */
describe("cli: manifests, usage and keys", function () {
  this.timeout(30_000);
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-cli-"));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("--version prints the package's version and exits 0", async function () {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const run = await runCli(["--version"]);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.equal(`${version}\n`);
  });

  it("validates a good manifest (exit 0) and hashes it to the test vector's version", async function () {
    const hello = vectors.valid.find((v) => v.name === "hello")!;
    const [validate, hash, hashJson] = await Promise.all([
      runCli(["manifest", "validate", HELLO]),
      runCli(["manifest", "hash", HELLO]),
      runCli(["manifest", "hash", HELLO, "--json"]),
    ]);
    expect(validate.code).to.equal(0);
    expect(validate.stdout).to.equal(`${HELLO}: valid (version ${hello.version})\n`);
    expect(hash.code).to.equal(0);
    expect(hash.stdout).to.equal(`${hello.version}\n`);
    expect(JSON.parse(hashJson.stdout)).to.deep.equal({ version: hello.version });
  });

  it("prints a bad manifest's located problems, one line each, and exits 1 without a stack trace", async function () {
    const vector = vectors.invalid.find((v) => v.name === "unknown-key")!;
    const file = join(dir, "unknown-key.yaml");
    writeFileSync(file, vector.yaml);
    const [run, json] = await Promise.all([
      runCli(["manifest", "validate", file]),
      runCli(["manifest", "validate", file, "--json"]),
    ]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.equal("");
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines).to.have.length(vector.issues.length);
    for (const [i, issue] of vector.issues.entries()) {
      expect(lines[i]).to.match(new RegExp(`^${escape(file)}:${issue.line}:\\d+: ${escape(issue.path)}: ${escape(issue.message)}$`));
    }
    expect(run.stderr).to.not.match(STACK_LINE);
    expect(json.code).to.equal(1);
    const printed = JSON.parse(json.stdout);
    expect(printed.error.name).to.equal("ManifestError");
    expect(printed.error.issues.map((i: { path: string }) => i.path)).to.deep.equal(vector.issues.map((i) => i.path));
  });

  it("says so plainly when the manifest file is missing", async function () {
    const run = await runCli(["manifest", "hash", join(dir, "nope.yaml")]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.equal(`error: ${join(dir, "nope.yaml")}: no such file\n`);
  });

  it("exits 2 on usage errors: unknown command, bad id, bad amount", async function () {
    const [unknown, badId, badAmount] = await Promise.all([
      runCli(["launch"]),
      runCli(["close", "abc"]),
      runCli(["deposit", "ten"]),
    ]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.match(/^error: unknown command 'launch'/);
    expect(badId.code).to.equal(2);
    expect(badId.stderr).to.equal('error: deployment: "abc" is not an id (a positive integer)\n');
    expect(badAmount.code).to.equal(2);
    expect(badAmount.stderr).to.match(/^error: amount: "ten" is not an amount/);
    for (const run of [unknown, badId, badAmount]) expect(run.stderr).to.not.match(STACK_LINE);
  });

  it("refuses to run without a key, and never echoes a malformed one", async function () {
    const [missing, other, malformed] = await Promise.all([
      runCli(["balance"]),
      runCli(["withdraw", "1", "--key-env", "MY_KEY"]),
      runCli(["deposit", "1", "--json"], { TOM3_PRIVATE_KEY: "0xnotakey1234" }),
    ]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal(
      "error: no key: set TOM3_PRIVATE_KEY to the account's private key (or name another variable with --key-env), " +
        "or use --keystore <file> with TOM3_KEYSTORE_PASSWORD\n",
    );
    expect(other.stderr).to.match(/^error: no key: set MY_KEY to the account's private key, or use --keystore/);
    expect(malformed.code).to.equal(1);
    expect(malformed.stderr).to.equal("error: TOM3_PRIVATE_KEY does not hold a private key (0x and 64 hex digits)\n");
    expect(malformed.stdout + malformed.stderr).to.not.include("notakey1234");
    expect(JSON.parse(malformed.stdout).error.name).to.equal("CliError");
  });

  it("reports an unreachable node in one line", async function () {
    const run = await runCli(["providers", "--rpc", "http://127.0.0.1:9"]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/^error: cannot reach the node at http:\/\/127\.0\.0\.1:9 \(.+\); set --rpc or TOM3_RPC_URL\n$/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
