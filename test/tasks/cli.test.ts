/**
 * The tasks as a user runs them: `npx hardhat tom3:...` as a child process against a real `hardhat node` with the
 * suite deployed. Checks what the terminal shows: a revert as one line without a stack trace on a shell Hardhat
 * takes for CI (the stack only with --verbose or --show-stack-traces), and `--from` over the accounts of
 * TOM3_KEYS / TOM3_MNEMONIC (remote, after the deployer) and TOM3_LOCAL_KEYS (localhost), never printing a key.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet } from "ethers";
import { HARDHAT_MNEMONIC, REPO_ROOT, freePort, startLocalChain } from "../harness/local-chain";
import type { LocalChain } from "../harness/local-chain";
import { runProcess, type ProcessRun } from "../harness/process";

const HARDHAT_CLI = join(REPO_ROOT, "node_modules", "hardhat", "internal", "cli", "cli.js");
const CONFIG = join(REPO_ROOT, "hardhat.config.ts");
const TSCONFIG = join(REPO_ROOT, "tsconfig.json");
const STACK_LINE = /^\s+at .+\(?.*:\d+:\d+\)?$/m;

type Run = ProcessRun;

describe("tasks from the command line", function () {
  this.timeout(300_000);
  let chain: LocalChain;
  // The working directory of every run: an empty folder, so no .env of the checkout takes part.
  let cwd: string;

  before(async function () {
    chain = await startLocalChain();
    cwd = mkdtempSync(join(tmpdir(), "tom3-tasks-cli-"));
  });
  after(async function () {
    await chain?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  /** `hardhat <args>` on a shell Hardhat takes for CI (CI=true, no DISPLAY), with only the TOM3_* variables given. */
  function hardhat(args: string[], vars: Record<string, string> = {}, dir = cwd): Promise<Run> {
    const env: NodeJS.ProcessEnv = {
      FORCE_COLOR: "0",
      CI: "true",
      TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir,
      // Run from a folder outside the checkout (see `cwd`), with the checkout's Hardhat.
      HARDHAT_EXPERIMENTAL_ALLOW_NON_LOCAL_INSTALLATION: "true",
    };
    for (const [name, value] of Object.entries(process.env)) {
      if (!name.startsWith("TOM3_") && name !== "DISPLAY" && name !== "WAYLAND_DISPLAY" && !(name in env)) {
        env[name] = value;
      }
    }
    Object.assign(env, vars);
    return runProcess(process.execPath, [HARDHAT_CLI, "--config", CONFIG, "--tsconfig", TSCONFIG, ...args], { cwd: dir, env });
  }

  const local = (): Record<string, string> => ({ TOM3_LOCAL_RPC_URL: chain.rpcUrl });
  const errorLines = (run: Run): string[] => run.stderr.split("\n").filter((line) => line.trim() !== "");
  const keys = (): string[] => chain.accounts.map((a) => a.privateKey.slice(2).toLowerCase());
  const printsNoKey = (run: Run): void => {
    const all = (run.stdout + run.stderr).toLowerCase();
    for (const key of keys()) expect(all).not.to.include(key);
  };

  describe("a decoded revert", function () {
    // Withdrawing more than the market account holds reverts with a decoded custom error.
    const withdraw = ["tom3:withdraw", "--amount", "5", "--network", "localhost"];

    it("is one line on stderr and exit code 1, without a stack trace", async function () {
      const run = await hardhat(withdraw, local());
      expect(run.code, run.stderr).to.equal(1);
      expect(errorLines(run)).to.have.length(1);
      expect(errorLines(run)[0]).to.match(/^error: Market\.withdraw reverted: .+ \(Market\w+\)$/);
      expect(run.stderr).not.to.match(STACK_LINE);
      expect(run.stdout.trim()).to.equal("");
    });

    it("shows the stack trace with --verbose or --show-stack-traces", async function () {
      for (const flag of ["--verbose", "--show-stack-traces"]) {
        const run = await hardhat([flag, ...withdraw], local());
        expect(run.code, `${flag}: ${run.stderr}`).to.equal(1);
        expect(run.stderr, flag).to.match(/^error: Market\.withdraw reverted: /m);
        expect(run.stderr, flag).to.match(STACK_LINE);
      }
    });

    it("with --json, prints the error document on stdout and the line on stderr", async function () {
      const run = await hardhat([...withdraw, "--json"], local());
      expect(run.code).to.equal(1);
      const printed = JSON.parse(run.stdout) as { error: { message: string; revert?: { code: string } } };
      expect(printed.error.message).to.match(/^Market\.withdraw reverted: /);
      expect(printed.error.revert?.code).to.match(/^Market\w+$/);
      expect(errorLines(run)).to.have.length(1);
    });
  });

  it("unknown and missing flags are one line naming each, without a stack trace", async function () {
    const args = ["tom3:order:create", "--deployment", "1", "--cpu", "1", "--mem", "1Gi", "--network", "localhost"];
    const run = await hardhat(args, local());
    expect(run.code).to.equal(1);
    expect(errorLines(run)).to.deep.equal([
      "error: tom3:order:create does not take --mem and needs --memory, --storage, --bandwidth, --max-price, " +
        "--duration; `npx hardhat help tom3:order:create` describes its flags",
    ]);
  });

  it("without --network, a record of a real node: says to add --network localhost", async function () {
    const run = await hardhat(["tom3:balance"], local());
    expect(run.code).to.equal(1);
    expect(errorLines(run)).to.deep.equal([
      `error: no TOM3 contract at the addresses of ${join(chain.deploymentsDir, "31337.json")} on Hardhat's in-process ` +
        "network, which a task uses without --network and which starts empty on every run: add `--network localhost` " +
        "(the node at TOM3_LOCAL_RPC_URL, default http://127.0.0.1:8545, where `npm run deploy -- --network localhost` " +
        "puts the suite) or `--network remote`",
    ]);
  });

  it("an unknown network and a mistyped task name are one line saying what exists, without a stack trace", async function () {
    const network = await hardhat(["tom3:balance", "--network", "locl"], local());
    expect(network.code).to.equal(1);
    expect(errorLines(network)).to.deep.equal([
      'error: network "locl" is not configured; use localhost (the node at TOM3_LOCAL_RPC_URL, default ' +
        "http://127.0.0.1:8545), remote (once TOM3_RPC_URL is set, see .env.example) or hardhat (in-process, empty on every run)",
    ]);

    const typo = await hardhat(["tom3:depsit", "--amount", "1", "--network", "localhost"], local());
    expect(typo.code).to.equal(1);
    expect(errorLines(typo)).to.deep.equal([
      "error: there is no task tom3:depsit; did you mean tom3:deposit? `npx hardhat --help` lists every task",
    ]);
  });

  it("a node that does not answer, and an account without ETH, are one line each saying what to do", async function () {
    const port = await freePort();
    const down = await hardhat(["tom3:balance", "--network", "localhost"], { TOM3_LOCAL_RPC_URL: `http://127.0.0.1:${port}` });
    expect(down.code).to.equal(1);
    expect(errorLines(down)).to.deep.equal([
      `error: cannot reach network localhost at http://127.0.0.1:${port}: start one with \`npx hardhat node\` ` +
        "(another port: `--port <port>` and TOM3_LOCAL_RPC_URL=http://127.0.0.1:<port>)",
    ]);
    // `npm run deploy` says the same (it is `hardhat run scripts/deploy.ts`, run from the checkout: it needs ts-node).
    const deploy = await hardhat(
      ["run", join(REPO_ROOT, "scripts", "deploy.ts"), "--network", "localhost"],
      { TOM3_LOCAL_RPC_URL: `http://127.0.0.1:${port}` },
      REPO_ROOT,
    );
    expect(deploy.code).to.equal(1);
    expect(errorLines(deploy)).to.deep.equal([
      `deploy failed: cannot reach network localhost at http://127.0.0.1:${port}: start one with \`npx hardhat node\` ` +
        "(another port: `--port <port>` and TOM3_LOCAL_RPC_URL=http://127.0.0.1:<port>)",
    ]);

    // TOM3_CHAIN_ID names the chain `remote` must be: another one is a sentence naming the variable (not HH101).
    const wrongChain = await hardhat(["tom3:balance", "--network", "remote"], {
      TOM3_RPC_URL: chain.rpcUrl,
      TOM3_CHAIN_ID: "1",
    });
    expect(wrongChain.code).to.equal(1);
    expect(errorLines(wrongChain)).to.deep.equal([
      `error: network remote at ${new URL(chain.rpcUrl).origin} is chain 31337, but TOM3_CHAIN_ID says 1: point the URL ` +
        "at that chain, or correct TOM3_CHAIN_ID",
    ]);

    const empty = Wallet.createRandom();
    const poor = await hardhat(["tom3:deposit", "--amount", "1", "--network", "localhost"], {
      ...local(),
      TOM3_LOCAL_KEYS: empty.privateKey,
    });
    expect(poor.code).to.equal(1);
    expect(errorLines(poor)).to.deep.equal([
      `error: account ${empty.address} has not enough ETH on network localhost to pay for gas: fund it, or pick ` +
        "another account with --from",
    ]);
    expect(poor.stdout + poor.stderr).not.to.include(empty.privateKey.slice(2));
  });

  describe("--from on a configured network", function () {
    it("remote: the deployer is account 0, then the TOM3_KEYS accounts; an index past them names the variable", async function () {
      const [deployer, , , , , five, six] = chain.accounts;
      const remote = {
        TOM3_RPC_URL: chain.rpcUrl,
        TOM3_DEPLOYER_KEY: deployer.privateKey,
        TOM3_KEYS: `${five.privateKey}, ${six.privateKey}`,
      };
      const balance = async (from: string): Promise<Run> =>
        hardhat(["tom3:balance", "--from", from, "--network", "remote", "--json"], remote);

      const zero = await balance("0");
      expect(zero.code, zero.stderr).to.equal(0);
      expect(JSON.parse(zero.stdout).account).to.equal(deployer.address);
      const two = await balance("2");
      expect(two.code, two.stderr).to.equal(0);
      expect(JSON.parse(two.stdout).account).to.equal(six.address);
      const byAddress = await balance(five.address);
      expect(JSON.parse(byAddress.stdout).account).to.equal(five.address);

      const three = await hardhat(["tom3:balance", "--from", "3", "--network", "remote"], remote);
      expect(three.code).to.equal(1);
      expect(errorLines(three)).to.deep.equal([
        "error: --from 3: network remote has 3 accounts (0..2); account 0 is the deployer (TOM3_DEPLOYER_KEY or " +
          "TOM3_KEYSTORE), the next ones come from TOM3_KEYS=<key>,<key>,... or TOM3_MNEMONIC: add accounts there",
      ]);
      for (const run of [zero, two, byAddress, three]) printsNoKey(run);
    });

    it("remote: TOM3_MNEMONIC gives 20 accounts after the deployer (the deployer counted once)", async function () {
      const remote = {
        TOM3_RPC_URL: chain.rpcUrl,
        TOM3_DEPLOYER_KEY: chain.accounts[0].privateKey,
        TOM3_MNEMONIC: HARDHAT_MNEMONIC,
      };
      const run = await hardhat(["tom3:balance", "--from", "7", "--network", "remote", "--json"], remote);
      expect(run.code, run.stderr).to.equal(0);
      // Account 0 of the mnemonic is the deployer itself, so index i is the mnemonic's account i.
      expect(JSON.parse(run.stdout).account).to.equal(chain.accounts[7].address);
      printsNoKey(run);
    });

    it("localhost: TOM3_LOCAL_KEYS replaces the node's accounts", async function () {
      const [, one, two] = chain.accounts;
      const vars = { ...local(), TOM3_LOCAL_KEYS: `${two.privateKey},${one.privateKey}` };
      const run = await hardhat(["tom3:balance", "--from", "1", "--network", "localhost", "--json"], vars);
      expect(run.code, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout).account).to.equal(one.address);
      printsNoKey(run);
    });

    it("a malformed key is one line naming the variable and the item, never the value", async function () {
      const secret = "0x1234567890abcdef1234567890abcdef";
      const vars = { ...local(), TOM3_LOCAL_KEYS: `${chain.accounts[1].privateKey},${secret}` };
      const run = await hardhat(["tom3:balance", "--network", "localhost"], vars);
      expect(run.code).to.equal(1);
      expect(errorLines(run)).to.deep.equal(["error: TOM3_LOCAL_KEYS item 2 is not a private key (0x and 64 hex digits)"]);
      expect(run.stdout + run.stderr).not.to.include(secret.slice(2));
      printsNoKey(run);
    });
  });
});
