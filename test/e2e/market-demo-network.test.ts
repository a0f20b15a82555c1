/**
 * `npm run demo -- --network <name>` against a separately started `hardhat node` treated as a real chain (a block
 * every second, nobody moves its time), named by hardhat.config.ts's `localhost` entry with the port from
 * TOM3_LOCAL_RPC_URL. The checks of `connectNetwork` / `fundDemoAccounts` run in process; the demo itself runs as
 * a user runs it, a child process. Needs a Docker engine.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Wallet } from "ethers";
import { HARDHAT_MNEMONIC, REPO_ROOT, freePort, startLocalChain, testProvider, type LocalChain } from "../harness/local-chain";
import { runProcess, type ProcessRun } from "../harness/process";
import { DemoNetworkError, connectNetwork, fundDemoAccounts } from "../../scripts/market-network";
import { V2_GREETING } from "../../scripts/market-demo";

const TS_NODE = join(REPO_ROOT, "node_modules", "ts-node", "dist", "bin.js");

/** `npm run demo -- <args>`, as a child process: its exit code and output. */
function demo(args: string[], env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return runProcess(process.execPath, [TS_NODE, "--transpile-only", "scripts/market-demo.ts", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, FORCE_COLOR: "0" },
  });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("market demo on a configured network (--network)", function () {
  this.timeout(300_000);
  let chain: LocalChain;
  const dirs: string[] = [];
  const tmp = () => {
    const dir = mkdtempSync(join(tmpdir(), "tom3-demo-network-"));
    dirs.push(dir);
    return dir;
  };
  const env = (): NodeJS.ProcessEnv => ({ TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir, TOM3_DEMO_MNEMONIC: HARDHAT_MNEMONIC });

  before(async function () {
    chain = await startLocalChain({ timeoutMs: 120_000 });
    const rpc = testProvider(chain.rpcUrl);
    await rpc.send("evm_setIntervalMining", [1000]);
    rpc.destroy();
  });

  after(async function () {
    await chain?.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe("connectNetwork", function () {
    it("resolves the network: its chain, the suite of its deployment record, four keys and a funder", async function () {
      const net = await connectNetwork("localhost", { networks: { localhost: { url: chain.rpcUrl } }, env: env() });
      expect(net.chainId).to.equal(31337);
      expect(net.deployment.contracts.market).to.equal(chain.deployment.contracts.market);
      expect(net.keys).to.deep.equal(chain.accounts.slice(1, 5).map((a) => a.privateKey));
      expect(net.funder?.kind === "key" && net.funder.wallet.address).to.equal(chain.accounts[0].address);
    });

    it("takes TOM3_DEMO_KEYS, and the node's unlocked account as the funder without a key", async function () {
      const keys = chain.accounts.slice(5, 9).map((a) => a.privateKey);
      const net = await connectNetwork("localhost", {
        networks: { localhost: { url: chain.rpcUrl } },
        env: { TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir, TOM3_DEMO_KEYS: keys.join(",") },
      });
      expect(net.keys).to.deep.equal(keys);
      expect(net.funder).to.deep.equal({ kind: "unlocked", address: chain.accounts[0].address });
    });

    it("an unknown network: names the configured ones", async function () {
      const error = await rejection(connectNetwork("sepolia", { networks: { hardhat: {}, localhost: { url: chain.rpcUrl } }, env: env() }));
      expect(error).to.be.instanceOf(DemoNetworkError);
      expect(error.message).to.match(/^unknown network "sepolia": hardhat.config.ts defines "localhost"/);
    });

    it("the in-process hardhat network: says the daemons cannot reach it", async function () {
      const error = await rejection(connectNetwork("hardhat", { networks: { hardhat: {} }, env: env() }));
      expect(error.message).to.contain("cannot reach");
    });

    it("a node that does not answer: says so, without the URL's path (API keys live there)", async function () {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/secret-api-key`;
      const error = await rejection(connectNetwork("localhost", { networks: { localhost: { url } }, env: env(), timeoutMs: 2000 }));
      expect(error).to.be.instanceOf(DemoNetworkError);
      expect(error.message).to.match(new RegExp(`^network "localhost" at http://127.0.0.1:${port} is not reachable .*npx anvil --port <port> --block-time 1`));
      expect(error.message).not.to.contain("secret-api-key");
    });

    it("a chain without a deployment record: says to deploy first", async function () {
      const error = await rejection(
        connectNetwork("localhost", { networks: { localhost: { url: chain.rpcUrl } }, env: { ...env(), TOM3_DEPLOYMENTS_DIR: tmp() } }),
      );
      expect(error.message).to.match(/^no usable TOM3 deployment record for chain 31337 .*not found.*npm run deploy -- --network localhost/);
    });

    it("a stale record (no contract at its market address): says to deploy again", async function () {
      const dir = tmp();
      const record = JSON.parse(readFileSync(join(chain.deploymentsDir, "31337.json"), "utf8"));
      record.contracts.market = Wallet.createRandom().address;
      writeFileSync(join(dir, "31337.json"), JSON.stringify(record));
      const error = await rejection(connectNetwork("localhost", { networks: { localhost: { url: chain.rpcUrl } }, env: { ...env(), TOM3_DEPLOYMENTS_DIR: dir } }));
      expect(error.message).to.match(new RegExp(`^${dir}/31337.json: no TOM3 contract on chain 31337 at market 0x[0-9a-fA-F]{40} \\(node http://127.0.0.1:\\d+\\): the record is stale`));
      expect(error.message).to.contain(
        `deploy the suite there again with \`TOM3_DEPLOYMENTS_DIR=${dir} TOM3_LOCAL_RPC_URL=${chain.rpcUrl} npm run deploy -- --network localhost\``,
      );
    });

    it("an empty URL (hardhat.config.ts reads an empty TOM3_LOCAL_RPC_URL as the default; another config may not)", async function () {
      const error = await rejection(connectNetwork("localhost", { networks: { localhost: { url: "" } }, env: env() }));
      expect(error).to.be.instanceOf(DemoNetworkError);
      expect(error.message).to.equal(
        'network "localhost" has an empty URL: TOM3_LOCAL_RPC_URL is set but empty (in .env?); set ' +
          "TOM3_LOCAL_RPC_URL=http://127.0.0.1:<port> to the node's address, or delete the line to use http://127.0.0.1:8545",
      );
      expect(error.message).not.to.contain("in-process");
    });

    it("no keys for the demo's accounts, or bad ones: says which variable to set", async function () {
      const networks = { localhost: { url: chain.rpcUrl } };
      const none = await rejection(connectNetwork("localhost", { networks, env: { TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir } }));
      expect(none.message).to.match(/needs the keys of four accounts .*TOM3_DEMO_MNEMONIC .*TOM3_DEMO_KEYS/);
      const three = await rejection(connectNetwork("localhost", { networks, env: { TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir, TOM3_DEMO_KEYS: "0x01,0x02,0x03" } }));
      expect(three.message).to.equal("TOM3_DEMO_KEYS holds 3 key(s); it needs 4: tenant,alpha,bravo,charlie");
      const keys = chain.accounts.slice(1, 5).map((a) => a.privateKey);
      keys[2] = "0xnot-a-key";
      const bad = await rejection(connectNetwork("localhost", { networks, env: { TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir, TOM3_DEMO_KEYS: keys.join(",") } }));
      expect(bad.message).to.equal("TOM3_DEMO_KEYS item 3 (bravo) is not a private key (0x + 64 hex digits)");
    });
  });

  describe("fundDemoAccounts", function () {
    it("accounts without gas and a funder without TOM3: one error lists every shortfall, nothing is sent", async function () {
      const rpc = testProvider(chain.rpcUrl);
      try {
        const [tenant, alpha] = [Wallet.createRandom(), Wallet.createRandom()];
        const funder = Wallet.createRandom();
        const blockBefore = await rpc.getBlockNumber();
        const error = await rejection(
          fundDemoAccounts({
            network: "localhost",
            rpc,
            token: chain.deployment.contracts.token,
            accounts: [{ role: "tenant", address: tenant.address }, { role: "alpha", address: alpha.address }],
            funder: { kind: "key", wallet: funder },
            plan: { gasPerAccount: 3_000_000n, tom3: { tenant: 10n, alpha: 20n, bravo: 0n, charlie: 0n } },
            log: () => undefined,
          }),
        );
        expect(error).to.be.instanceOf(DemoNetworkError);
        expect(error.message).to.contain(`tenant ${tenant.address} holds 0 ETH; it needs about`);
        expect(error.message).to.contain(`alpha ${alpha.address} holds 0 ETH`);
        expect(error.message).to.contain(`the funder ${funder.address} holds only 0 TOM3`);
        // Interval mining adds blocks; none of them holds a transaction of ours.
        for (let n = blockBefore + 1; n <= (await rpc.getBlockNumber()); n++) expect((await rpc.getBlock(n))!.transactions).to.have.length(0);
      } finally {
        rpc.destroy();
      }
    });
  });

  describe("the demo as a user runs it", function () {
    it("`--network nowhere` exits 1 naming the configured networks", async function () {
      const run = await demo(["--network", "nowhere"], env());
      expect(run.code).to.equal(1);
      expect(run.stderr).to.match(/market demo failed: unknown network "nowhere": hardhat.config.ts defines "localhost"/);
    });

    it("`--network localhost` runs the whole market on it and waits for real time instead of moving it", async function () {
      // Fresh accounts with gas only (the executor scopes containers by provider address: no other run shares
      // them); the node's unlocked deployer tops them up with TOM3.
      const keys = [0, 1, 2, 3].map(() => Wallet.createRandom());
      const rpc = testProvider(chain.rpcUrl);
      try {
        const deployer = await rpc.getSigner(chain.accounts[0].address);
        for (const k of keys) await (await deployer.sendTransaction({ to: k.address, value: 10n ** 19n })).wait();
      } finally {
        rpc.destroy();
      }
      const run = await demo(["--network", "localhost"], {
        TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir,
        TOM3_DEMO_KEYS: keys.map((k) => k.privateKey).join(","),
        TOM3_LOCAL_RPC_URL: chain.rpcUrl,
      });
      const out = `${run.stdout}\n${run.stderr}`;
      expect(run.code, out).to.equal(0);
      expect(run.stdout).to.contain('Using the configured network "localhost" and the TOM3 suite deployed there');
      expect(run.stdout).to.not.contain("Starting an embedded local chain");
      expect(run.stdout).to.match(/The bidding window closes \(waiting about \d+ s of real time\)/);
      expect(run.stdout).to.match(/charter \d+: bravo at 0.00000000000000008 TOM3\/s \(80 wei\/s\)/);
      expect(run.stdout).to.contain(`the page's greeting: before "hello", after "${V2_GREETING}"`);
      expect(run.stdout).to.contain(`+20 TOM3 from ${chain.accounts[0].address}`);
      expect(run.stdout).to.match(/bravo 0x[0-9a-fA-F]{40} now holds 20 TOM3 and [\d.]+ ETH for gas/);
      // The chain knows an attribute by its hash only; the demo names it.
      expect(run.stdout).to.contain("charlie: declines (ProviderMissingAttribute): this provider does not hold the attribute region=eu-west");
      expect(run.stdout).to.match(/tenant spent [\d.]+ TOM3 \([\d,]+ wei\) = bravo received [\d.]+ TOM3 \([\d,]+ wei\) \+ the other providers 0 TOM3 \+ protocol fee 0 TOM3: OK/);
      expect(run.stdout).to.match(/the market contract holds [\d.]+ TOM3 \([\d,]+ wei\) = the sum of its accounts' escrow [\d.]+ TOM3 \([\d,]+ wei\): OK/);
      expect(run.stdout).to.match(/^Logs of this run \(kept after it\) in \S+\/: alpha.log, bravo.log, charlie.log$/m);
      expect(chain.output()).to.not.match(/evm_increaseTime|evm_mine|evm_setNextBlockTimestamp|hardhat_mine/);
    });
  });
});
