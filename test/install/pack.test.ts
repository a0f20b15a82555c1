/**
 * The package as a user gets it: `npm pack` (which builds dist/ first), the tarball installed into an empty folder
 * with `npm install`, then the installed `tom3` run with Node 22 from a folder of the user's own, with no ts-node,
 * no TypeScript and no sources anywhere near it.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vectors from "../../offchain/manifest/test-vectors.json";
import { REPO_ROOT, startLocalChain } from "../harness/local-chain";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Node 22, as `npm ci` installs it: what the installed bin runs on. */
const NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
/** A stack trace line ("    at fn (file:1:2)"): never allowed in the CLI's output. */
const STACK_LINE = /^\s+at .+[:(]/m;

/** Run a command to its end; a non-zero exit is a result, not an error. */
function run(command: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  // Variables a developer's shell may hold that would change what the CLI does.
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("TOM3_"))),
    ...extraEnv,
  };
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function expectOk(step: string, result: Run): void {
  expect(result.code, `${step} failed:\n${result.stdout}\n${result.stderr}`).to.equal(0);
}

describe("install: the packed tarball installs and runs without the repository", function () {
  this.timeout(240_000);
  let dir: string;
  /** Where the tarball is installed (an empty folder, as a user's project). */
  let project: string;
  /** The user's own folder, with their manifests and nothing else. */
  let work: string;
  let pkg: string;
  let bin: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-install-"));
    project = join(dir, "project");
    work = join(dir, "work");
    mkdirSync(project);
    mkdirSync(work);

    expectOk("npm pack", await run("npm", ["pack", "--pack-destination", dir], REPO_ROOT));
    const tarballs = readdirSync(dir).filter((name) => name.endsWith(".tgz"));
    expect(tarballs).to.have.length(1);
    const install = await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarballs[0])],
      project,
    );
    expectOk("npm install", install);
    pkg = join(project, "node_modules", "tom3");
    bin = join(project, "node_modules", ".bin", "tom3");
  });

  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ships compiled JavaScript and no TypeScript: no sources, no ts-node, no typescript", function () {
    expect(existsSync(join(pkg, "dist", "offchain", "cli", "main.js"))).to.equal(true);
    expect(existsSync(join(pkg, "dist", "offchain", "manifest", "schema.json"))).to.equal(true);
    expect(existsSync(join(pkg, "offchain", "cli", "main.ts"))).to.equal(false);
    expect(existsSync(join(pkg, "examples", "hello.yaml"))).to.equal(true);
    expect(existsSync(join(project, "node_modules", "ts-node"))).to.equal(false);
    expect(existsSync(join(project, "node_modules", "typescript"))).to.equal(false);
    expect(existsSync(join(project, "node_modules", "hardhat"))).to.equal(false);
  });

  it("tom3 --help prints the usage (exit 0), with deployments/ of the working directory as the default", async function () {
    const help = await run(NODE, [bin, "--help"], work);
    expectOk("tom3 --help", help);
    expect(help.stdout).to.match(/^Usage: tom3 \[options\] \[command\]/);
    expect(help.stdout).to.include("manifest");
    expect(help.stdout).to.include(`(default: "${join(work, "deployments")}")`);
    expect(help.stderr).to.equal("");
    const version = await run(NODE, [bin, "--version"], work);
    expectOk("tom3 --version", version);
    expect(version.stdout).to.equal(`${(JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version}\n`);
  });

  it("tom3 manifest validate accepts a good manifest (exit 0) and prints its version", async function () {
    copyFileSync(join(REPO_ROOT, "examples", "hello.yaml"), join(work, "hello.yaml"));
    const hello = vectors.valid.find((v) => v.name === "hello")!;
    const result = await run(NODE, [bin, "manifest", "validate", "hello.yaml"], work);
    expectOk("tom3 manifest validate hello.yaml", result);
    expect(result.stdout).to.equal(`hello.yaml: valid (version ${hello.version})\n`);
  });

  it("tom3 manifest validate refuses a bad manifest (exit 1) with located problems and no stack trace", async function () {
    const vector = vectors.invalid.find((v) => v.name === "unknown-key")!;
    writeFileSync(join(work, "bad.yaml"), vector.yaml);
    const result = await run(NODE, [bin, "manifest", "validate", "bad.yaml"], work);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).to.have.length(vector.issues.length);
    for (const [i, issue] of vector.issues.entries()) {
      expect(lines[i]).to.match(new RegExp(`^bad\\.yaml:${issue.line}:\\d+: `));
      expect(lines[i]).to.include(issue.message);
    }
    expect(result.stderr).to.not.match(STACK_LINE);
  });

  it("loads every layer (chain, manifest, p2p, SDK, provider daemon, CLI) with the installed dependencies alone", async function () {
    // A runtime import left in devDependencies fails here, also for the parts --help does not reach.
    const layers = ["chain", "manifest", "p2p", "sdk", "provider", "cli/main"];
    const script = layers
      .map((layer) => `require(${JSON.stringify(join(pkg, "dist", "offchain", layer))});`)
      .concat(`console.log("loaded");`)
      .join(" ");
    const result = await run(NODE, ["-e", script], work);
    expectOk("require every layer", result);
    expect(result.stdout).to.equal("loaded\n");
  });

  it("loads the ESM-only libp2p stack from the compiled code, wherever the user runs it", async function () {
    // `work` has no node_modules: the packages must resolve from the installed dist/offchain/p2p/esm.js.
    const esm = join(pkg, "dist", "offchain", "p2p", "esm.js");
    const script = `require(${JSON.stringify(esm)}).loadLibp2p().then((m) => console.log(typeof m.libp2p.createLibp2p, typeof m.tls.tls))`;
    const result = await run(NODE, ["-e", script], work);
    expectOk("loadLibp2p", result);
    expect(result.stdout).to.equal("function function\n");
  });

  it("tom3 provider init writes a config from the installed package, and says when the deployment record is missing", async function () {
    // The user's folder has no deployments/: the default of an installed tom3. init writes the file and says what
    // `tom3 provider start` will need, with the flag that fixes it (once, though two checks see it).
    const chain = await startLocalChain();
    try {
      const env = ["--rpc", chain.rpcUrl];
      const bare = await run(NODE, [bin, ...env, "provider", "init", "--config", "provider.yaml"], work);
      expectOk("tom3 provider init", bare);
      expect(bare.stdout).to.match(/^wrote provider\.yaml\n/);
      expect(bare.stderr).to.equal(
        `warning: chain.deployments (provider.yaml): ${join(work, "deployments")} does not exist: \`tom3 provider start\` ` +
          "needs the chain's <chainId>.json there (`npm run deploy` writes it): pass --deployments <dir> (or " +
          "TOM3_DEPLOYMENTS_DIR) naming the folder that holds it, or copy the file there\n",
      );
      expect(bare.stderr).to.not.match(STACK_LINE);

      // With --deployments naming a folder that holds a record (as the repository's deployments/ after `npm run
      // deploy`): no warning, and the path is in the file.
      const records = join(dir, "records");
      mkdirSync(records);
      writeFileSync(join(records, "31337.json"), "{}");
      const named = await run(NODE, [bin, ...env, "--deployments", records, "provider", "init", "--config", "named.yaml"], work);
      expectOk("tom3 --deployments <dir> provider init", named);
      expect(named.stderr).to.equal("");
      expect(readFileSync(join(work, "named.yaml"), "utf8")).to.include(`deployments: "${records}"`);
    } finally {
      await chain.stop();
    }
  });

  it("sends and reads on a chain the repository deployed, with --rpc and --deployments (tom3 transfer, balance)", async function () {
    // The README's path: the repository's chain and deployment record, the installed tom3 in a folder of its own.
    const chain = await startLocalChain();
    try {
      const [tenant, provider] = chain.accounts;
      const global = ["--rpc", chain.rpcUrl, "--deployments", chain.deploymentsDir];
      const sent = await run(NODE, [bin, ...global, "transfer", "5", provider.address], work, { TOM3_PRIVATE_KEY: tenant.privateKey });
      expectOk("tom3 transfer", sent);
      expect(sent.stdout).to.include(`sent 5 TOM3 to ${provider.address}`);
      const balance = await run(NODE, [bin, ...global, "--json", "balance", "--account", provider.address], work);
      expectOk("tom3 balance", balance);
      expect(JSON.parse(balance.stdout)).to.include({ wallet: (5n * 10n ** 18n).toString() });
      expect(sent.stderr + balance.stderr).to.not.match(STACK_LINE);
    } finally {
      await chain.stop();
    }
  });

  it("says in one sentence that Node.js 22 is needed when run on an older runtime", async function () {
    // Node 22 posing as Node 20: the bin must check the version before loading anything.
    const script = `Object.defineProperty(process.versions, "node", { value: "20.20.2" }); process.argv = [process.execPath, ${JSON.stringify(bin)}, "--help"]; require(${JSON.stringify(join(pkg, "bin", "tom3.js"))});`;
    const result = await run(NODE, ["-e", script], work);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal("");
    expect(result.stderr).to.match(/^tom3 needs Node\.js 22 or newer; this is 20\.20\.2 \(.+\); install Node\.js 22 .+\n$/);
  });

  it("the checkout's bin still runs the sources, not the dist/ that npm pack left behind", async function () {
    // From sources the default deployments dir is the repository's; compiled code would say work/deployments.
    const help = await run(NODE, [join(REPO_ROOT, "bin", "tom3.js"), "--help"], work);
    expectOk("checkout tom3 --help", help);
    expect(help.stdout).to.include(`(default: "${join(REPO_ROOT, "deployments")}")`);
  });
});
