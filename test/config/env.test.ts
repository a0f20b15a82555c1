/**
 * One documented set of variables: every `TOM3_*` name the code mentions is listed in `.env.example`, every listed
 * one is still used and has a row in the README's "Configuration" table; a plain copy of `.env.example` changes
 * nothing; and `.env` is read the same way by hardhat.config.ts and the `tom3` command line (offchain/env.ts).
 */
import { expect } from "chai";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { EnvFileError, loadDotEnv } from "../../offchain/env";
import { run } from "../../offchain/cli/main";
import { REPO_ROOT, freePort } from "../harness/local-chain";
import { runProcess } from "../harness/process";

const NAME = /\bTOM3_[A-Z0-9_]*[A-Z0-9]\b/g;
/** Where the programs live: every variable they mention must be documented. */
const CODE = ["offchain", "tasks", "scripts", "deploy", "bench", "hardhat.config.ts"];
const SOURCE = /\.(ts|js|mjs|cjs|json|ya?ml)$/;
const EXAMPLE = join(REPO_ROOT, ".env.example");

function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((entry) => (entry === "node_modules" ? [] : files(join(path, entry))));
}

/** Each TOM3_* name mentioned in `roots`, with the first file that mentions it. */
function mentioned(roots: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of roots.flatMap((root) => files(join(REPO_ROOT, root))).filter((f) => SOURCE.test(f))) {
    for (const name of readFileSync(file, "utf8").match(NAME) ?? []) {
      if (!found.has(name)) found.set(name, relative(REPO_ROOT, file));
    }
  }
  return found;
}

/** The `NAME=value` lines of .env.example. */
function listed(): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(EXAMPLE, "utf8").split("\n")) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) entries.set(match[1], match[2]);
  }
  return entries;
}

/** The variables in the first column of the README's "Configuration" table. */
function readmeTable(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Configuration\n");
  expect(start, 'README.md has no "## Configuration" section').to.be.greaterThan(-1);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
}

describe("configuration: one documented set of variables", function () {
  it(".env.example lists every TOM3_* variable the code reads", function () {
    const documented = listed();
    const missing = [...mentioned(CODE)].filter(([name]) => !documented.has(name));
    expect(
      missing.map(([name, file]) => `${name} (${file})`),
      "add these to .env.example with a one-line comment, and to the README's Configuration table",
    ).to.deep.equal([]);
  });

  it("every variable of .env.example is read somewhere, and has a row in the README's Configuration table", function () {
    const used = mentioned([...CODE, "test"]);
    const names = [...listed().keys()];
    expect(names.filter((name) => name.startsWith("TOM3_") && !used.has(name)), "listed but never read").to.deep.equal([]);
    expect(readmeTable(), "README Configuration table vs .env.example").to.have.members(names);
  });

  it("every value in .env.example is empty: a plain copy sets nothing", function () {
    const set = [...listed()].filter(([, value]) => value !== "");
    expect(set.map(([name]) => name)).to.deep.equal([]);
    const dir = mkdtempSync(join(tmpdir(), "tom3-env-"));
    try {
      copyFileSync(EXAMPLE, join(dir, ".env"));
      const env: NodeJS.ProcessEnv = {};
      expect(loadDotEnv(dir, env)).to.equal(join(dir, ".env"));
      expect(Object.keys(env).filter((name) => name.startsWith("TOM3_"))).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("configuration: reading .env", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-env-"));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });
  const write = (text: string): void => writeFileSync(join(dir, ".env"), text);

  it("the environment wins over the file; empty values, in either, mean unset", function () {
    write("TOM3_RPC_URL=http://file:1\nTOM3_POLL_MS=\nTOM3_LOG_RANGE=500\n# a comment\nexport TOM3_CHAIN_ID=5\n");
    const env: NodeJS.ProcessEnv = { TOM3_RPC_URL: "http://env:2", TOM3_LOG_RANGE: "", TOM3_KEYS: " " };
    loadDotEnv(dir, env);
    expect(env).to.deep.equal({ TOM3_RPC_URL: "http://env:2", TOM3_LOG_RANGE: "500", TOM3_CHAIN_ID: "5" });
  });

  it("no file is no error", function () {
    const env: NodeJS.ProcessEnv = {};
    expect(loadDotEnv(dir, env)).to.equal(undefined);
  });

  it("a malformed line is an error naming the file and line, never echoing it", function () {
    write("TOM3_RPC_URL=http://x\n0xdeadbeefsecret\n");
    expect(() => loadDotEnv(dir, {}))
      .to.throw(EnvFileError, `${join(dir, ".env")} line 2: not a NAME=value line`)
      .with.property("message")
      .that.does.not.include("deadbeef");
    write('TOM3_MNEMONIC="test test\nTOM3_RPC_URL=x\n');
    expect(() => loadDotEnv(dir, {})).to.throw(EnvFileError, "line 1: the value of TOM3_MNEMONIC opens a \" quote");
  });
});

describe("configuration: the programs read .env from the working directory", function () {
  this.timeout(120_000);
  let dir: string;
  let saved: NodeJS.ProcessEnv;
  let cwd: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-env-"));
    saved = { ...process.env };
    cwd = process.cwd();
  });
  afterEach(function () {
    process.chdir(cwd);
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    rmSync(dir, { recursive: true, force: true });
  });

  /** `tom3 balance` in `dir`: the error says which node (TOM3_RPC_URL) it tried, after finding the key. */
  async function tom3Balance(): Promise<{ code: number; stderr: string }> {
    let stderr = "";
    process.chdir(dir);
    const code = await run(["node", "tom3", "balance"], { stdout: () => undefined, stderr: (t) => void (stderr += t) });
    process.chdir(cwd);
    return { code, stderr };
  }

  it("tom3: .env gives the node and the key; the environment wins; a malformed file is named", async function () {
    for (const name of Object.keys(process.env)) if (name.startsWith("TOM3_")) delete process.env[name];
    const [filePort, envPort] = [await freePort(), await freePort()];
    const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    writeFileSync(join(dir, ".env"), `${readFileSync(EXAMPLE, "utf8")}\nTOM3_RPC_URL=http://127.0.0.1:${filePort}\nTOM3_PRIVATE_KEY=${key}\n`);
    const fromFile = await tom3Balance();
    expect(fromFile.code).to.equal(1);
    expect(fromFile.stderr).to.match(new RegExp(`^error: cannot reach the node at http://127\\.0\\.0\\.1:${filePort} `));

    process.env.TOM3_RPC_URL = `http://127.0.0.1:${envPort}`;
    const fromEnv = await tom3Balance();
    expect(fromEnv.stderr).to.match(new RegExp(`^error: cannot reach the node at http://127\\.0\\.0\\.1:${envPort} `));

    writeFileSync(join(dir, ".env"), "TOM3_RPC_URL http://127.0.0.1:1\n");
    const malformed = await tom3Balance();
    expect(malformed).to.deep.equal({
      code: 1,
      stderr: `error: ${join(dir, ".env")} line 1: not a NAME=value line (a comment starts with #); fix or remove the line\n`,
    });
  });

  it("hardhat: a plain copy of .env.example leaves localhost at its default URL (no HH117)", async function () {
    copyFileSync(EXAMPLE, join(dir, ".env"));
    writeFileSync(join(dir, "show.js"), "console.log(JSON.stringify({ url: hre.network.config.url }));\n");
    const env: NodeJS.ProcessEnv = { HARDHAT_EXPERIMENTAL_ALLOW_NON_LOCAL_INSTALLATION: "true", FORCE_COLOR: "0" };
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("TOM3_")) env[name] ??= value;
    const cli = join(REPO_ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
    const args = ["--config", join(REPO_ROOT, "hardhat.config.ts"), "--tsconfig", join(REPO_ROOT, "tsconfig.json")];
    const result = await runProcess(process.execPath, [cli, ...args, "run", "show.js", "--no-compile", "--network", "localhost"], { cwd: dir, env });
    expect(result.code, result.output).to.equal(0);
    expect(JSON.parse(result.output.trim().split("\n").pop()!)).to.deep.equal({ url: "http://127.0.0.1:8545" });
  });
});
