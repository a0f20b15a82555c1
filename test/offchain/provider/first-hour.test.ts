/**
 * A provider's first hour, as a newcomer lives it, with real processes: a `hardhat node` with the suite deployed
 * (test/harness/local-chain.ts), `tom3 provider init` writing the config, `tom3 provider start` as a child process
 * with a fresh key that holds ETH but no TOM3, and `tom3 transfer` from the deployer. The daemon registers, cannot
 * stake, says why (log and /status) with the command that fixes it, and once the TOM3 arrives its retry reaches
 * the configured stake; a restart keeps it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Contract, JsonRpcProvider, Wallet } from "ethers";
import { providerRegistryAbi } from "../../../offchain/chain/abis";
import { loadProviderConfig } from "../../../offchain/provider";
import { freePort, REPO_ROOT, startLocalChain, type LocalChain } from "../../harness/local-chain";
import { runCli, STACK_LINE } from "../cli/helpers";
import { cleanUp } from "./executor/helpers";
import { eventually, tempDir } from "./helpers";

const ONE = 10n ** 18n;
const HOST_CPUS = cpus().length;
const BIN = join(REPO_ROOT, "bin", "tom3.js");

/** `tom3 provider start` as a child process; its stderr (pino JSON lines) collected. */
class DaemonProcess {
  stderr = "";
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(config: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, [BIN, "provider", "start", "--config", config], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  /** The log lines (pino JSON) whose msg matches. */
  logged(pattern: RegExp): { msg: string; [key: string]: unknown }[] {
    return this.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string })
      .filter((entry) => pattern.test(entry.msg));
  }

  async waitFor(pattern: RegExp, what: string, timeoutMs = 60_000): Promise<{ msg: string; [key: string]: unknown }> {
    let exitCode: number | null | undefined;
    void this.exited.then((code) => (exitCode = code));
    await eventually(
      () => {
        if (exitCode !== undefined) throw new Error(`the daemon exited (${exitCode}) before ${what}:\n${this.stderr}`);
        return this.logged(pattern).length > 0;
      },
      timeoutMs,
      `${what}\n${this.stderr.slice(-3000)}`,
    );
    return this.logged(pattern)[0];
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }
}

describe("a provider's first hour (hardhat node, real processes)", function () {
  this.timeout(240_000);
  let chain: LocalChain;
  let key: Wallet;
  let file: string;
  let apiPort: number;
  let rpc: JsonRpcProvider;
  const daemons: DaemonProcess[] = [];
  const global = () => ["--rpc", chain.rpcUrl, "--deployments", chain.deploymentsDir];

  before(async function () {
    chain = await startLocalChain();
    key = Wallet.createRandom() as unknown as Wallet;
    rpc = new JsonRpcProvider(chain.rpcUrl);
    const deployer = new Wallet(chain.accounts[0].privateKey, rpc);
    await (await deployer.sendTransaction({ to: key.address, value: 10n * ONE })).wait();
    file = join(tempDir(), "provider.yaml");
    apiPort = await freePort();
  });

  after(async function () {
    for (const daemon of daemons) await daemon.stop();
    rpc?.destroy();
    await chain?.stop();
    if (key) await cleanUp(key.address);
  });

  async function status(): Promise<{ registration: { enabled: boolean; stake: { ok: boolean; configured: string; held: string; problem?: string; code?: string } } }> {
    const response = await fetch(`http://127.0.0.1:${apiPort}/status`);
    expect(response.status).to.equal(200);
    return (await response.json()) as Awaited<ReturnType<typeof status>>;
  }

  const registry = () => new Contract(chain.deployment.contracts.registry, providerRegistryAbi, rpc);

  it("init writes a config that validates, names the key's address, warns about capacity, and refuses to overwrite it", async function () {
    const args = [
      ...global(),
      "provider",
      "init",
      "--config",
      file,
      "--api",
      `127.0.0.1:${apiPort}`,
      "--listen",
      "/ip4/127.0.0.1/tcp/0",
      "--publish-address",
      "127.0.0.1",
      "--pull-policy",
      "never",
      "--attribute",
      "region=eu-west",
      "--stake",
      "10",
      "--cpu",
      String(HOST_CPUS * 8),
    ];
    const env = { TOM3_PROVIDER_KEY: key.privateKey };
    const init = await runCli(args, env);
    expect(init.code, init.stderr).to.equal(0);
    expect(init.stdout).to.contain(`wrote ${file}`);
    expect(init.stderr).to.contain(`warning: capacity.cpu (${file}): ${HOST_CPUS * 8} CPU is more than this host has (${HOST_CPUS} CPU)`);
    expect(init.stdout).to.contain(`key: from TOM3_PROVIDER_KEY (provider ${key.address})`);
    expect(init.stdout).to.contain(`ETH for gas, and TOM3 for the stake from a wallet that holds some (TOM3_PRIVATE_KEY=0x… tom3 transfer 10 ${key.address})`);
    const text = readFileSync(file, "utf8");
    expect(text).not.to.contain(key.privateKey.slice(2));
    expect(text).to.contain(`rpcUrl: "${chain.rpcUrl}"`);

    const config = loadProviderConfig(file, { env });
    expect(config.chain.deploymentsDir).to.equal(chain.deploymentsDir);
    expect(config.capacity.cpuMillis).to.be.greaterThan(0);
    expect(config.register.stake).to.equal(10n * ONE);

    const again = await runCli(args, env);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain(`error: ${file} already exists: keep it, or pass --force to replace it`);
    expect(readFileSync(file, "utf8")).to.equal(text);
  });

  it("starts (warning about capacity), registers, explains the stake it cannot place, and reaches it after `tom3 transfer`", async function () {
    // A user's edit: retry the stake every 300 ms instead of the written 30 s, so the test need not wait.
    writeFileSync(file, readFileSync(file, "utf8").replace("retry: 30s", "retry: 300ms"));
    const daemon = new DaemonProcess(file, { TOM3_PROVIDER_KEY: key.privateKey });
    daemons.push(daemon);

    const problem = await daemon.waitFor(/^stake 10 TOM3 failed/, "the stake problem in the log");
    expect(problem.msg).to.equal(
      `stake 10 TOM3 failed: the wallet ${key.address} holds 0 TOM3; send TOM3 with \`tom3 transfer 10 ${key.address}\` (the daemon retries by itself)`,
    );
    expect(problem).to.include({ field: "register.stake", code: "WalletBalanceTooLow" });
    await daemon.waitFor(/^provider daemon running$/, "the daemon to run");
    expect(daemon.logged(/^capacity\.cpu/).map((entry) => entry.msg)).to.deep.equal([
      `capacity.cpu (${file}): ${HOST_CPUS * 8} CPU is more than this host has (${HOST_CPUS} CPU): orders that need it would be won and then fail`,
    ]);
    expect(await registry().isProvider(key.address)).to.equal(true);
    expect(await registry().stakeOf(key.address)).to.equal(0n);
    const before = (await status()).registration.stake;
    expect(before).to.include({ ok: false, configured: String(10n * ONE), held: "0", code: "WalletBalanceTooLow" });
    expect(before.problem).to.contain(`tom3 transfer 10 ${key.address}`);

    const sent = await runCli([...global(), "transfer", "10", key.address], { TOM3_PRIVATE_KEY: chain.accounts[0].privateKey });
    expect(sent.code, sent.stderr).to.equal(0);
    expect(sent.stdout).to.contain(`sent 10 TOM3 to ${key.address}`);

    await eventually(async () => (await registry().stakeOf(key.address)) === 10n * ONE, 60_000, "the stake to be placed by a retry");
    await daemon.waitFor(/^stake 10 TOM3 in place/, "the stake's success in the log");
    expect((await status()).registration.stake).to.include({ ok: true, held: String(10n * ONE) });
    expect(await daemon.stop()).to.equal(0);

    // The next start finds everything as configured: nothing to register, nothing to stake.
    const restarted = new DaemonProcess(file, { TOM3_PROVIDER_KEY: key.privateKey });
    daemons.push(restarted);
    await restarted.waitFor(/^provider daemon running$/, "the restarted daemon to run");
    expect(restarted.logged(/failed|registered as a provider/)).to.deep.equal([]);
    expect((await status()).registration.stake).to.include({ ok: true });
    expect(await restarted.stop()).to.equal(0);
  });

  it("on a node that mines only for transactions the daemon never sees the last order, and the tenant is told why", async function () {
    const daemon = new DaemonProcess(file, { TOM3_PROVIDER_KEY: key.privateKey });
    daemons.push(daemon);
    await daemon.waitFor(/^provider daemon running$/, "the daemon to run");
    const tenant = chain.accounts[3];
    const funded = await runCli([...global(), "transfer", "1", tenant.address], { TOM3_PRIVATE_KEY: chain.accounts[0].privateKey });
    expect(funded.code, funded.stderr).to.equal(0);
    const manifest = join(tempDir(), "hello.yaml");
    writeFileSync(manifest, readFileSync(join(REPO_ROOT, "examples", "hello.yaml"), "utf8").replace("biddingWindow: 30s", "biddingWindow: 3s"));
    const deploy = await runCli([...global(), "deploy", manifest], { TOM3_PRIVATE_KEY: tenant.privateKey });
    expect(deploy.code).to.equal(1);
    expect(deploy.stdout).to.match(
      new RegExp(`${key.address}: it made no decision on this order \\(it has not seen it\\): its chain watcher has read up to block \\d+, the chain is at \\d+`),
    );
    expect(deploy.stdout).to.contain("run a node that makes blocks by itself (`npx anvil --block-time 1`)");
    expect(await daemon.stop()).to.equal(0);
  });

  it("names chain.deployments when the record is missing or belongs to another node", async function () {
    const dir = tempDir();
    const records = join(dir, "deployments");
    mkdirSync(records);
    const config = join(dir, "provider.yaml");
    writeFileSync(config, `chain: { rpcUrl: "${chain.rpcUrl}" }\nkey: { keyEnv: TOM3_PROVIDER_KEY }\ndataDir: ./data\n`);
    const env = { TOM3_PROVIDER_KEY: key.privateKey };
    const missing = await runCli(["provider", "start", "--config", config], env);
    expect(missing.code).to.equal(1);
    expect(missing.stderr.trim()).to.equal(
      `error: chain.deployments (${config}): ${join(records, "31337.json")}: not found: nothing is deployed on chain 31337 (or it was deployed elsewhere); ` +
        `deploy the suite to this node with \`TOM3_DEPLOYMENTS_DIR=${records} TOM3_LOCAL_RPC_URL=${new URL(chain.rpcUrl).origin} npm run deploy -- --network localhost\`, or give chain.contracts`,
    );

    const record = JSON.parse(readFileSync(join(chain.deploymentsDir, "31337.json"), "utf8")) as { contracts: Record<string, string> };
    record.contracts.market = Wallet.createRandom().address;
    writeFileSync(join(records, "31337.json"), JSON.stringify(record));
    const stale = await runCli(["provider", "start", "--config", config], env);
    expect(stale.code).to.equal(1);
    expect(stale.stderr.trim()).to.equal(
      `error: chain.deployments (${config}): ${join(records, "31337.json")}: no TOM3 contract on chain 31337 at market ${record.contracts.market} ` +
        `(node ${new URL(chain.rpcUrl).origin}): the record is stale (the node was restarted or replaced since the deploy, or the record belongs ` +
        `to another node); deploy the suite there again with \`TOM3_DEPLOYMENTS_DIR=${records} TOM3_LOCAL_RPC_URL=${new URL(chain.rpcUrl).origin} ` +
        "npm run deploy -- --network localhost`, which rewrites this file, or point chain.rpcUrl at the node it was deployed to",
    );
  });

  it("tom3 transfer: a decoded error when the wallet holds too little, and --json", async function () {
    const poor = await runCli([...global(), "transfer", "1", chain.accounts[0].address], { TOM3_PRIVATE_KEY: key.privateKey });
    expect(poor.code).to.equal(1);
    expect(poor.stderr).to.match(/^error: reverted: .*ERC20InsufficientBalance\)$/m);
    expect(poor.stderr).not.to.match(STACK_LINE);

    const json = await runCli([...global(), "--json", "transfer", "5wei", key.address], { TOM3_PRIVATE_KEY: chain.accounts[0].privateKey });
    expect(json.code, json.stderr).to.equal(0);
    expect(JSON.parse(json.stdout)).to.include({ to: key.address, amount: "5", received: "5" });
  });
});
