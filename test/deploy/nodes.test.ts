/**
 * `npm run deploy` (scripts/deploy.ts, as a child process) against real nodes: a `hardhat node` and anvil, a second
 * EVM implementation with the same chain id. Each deploy must land on the node it talks to, even with one Ignition
 * journal directory for all of them, and a record whose node lost the suite must say which command fixes it.
 * Everything lives in temporary directories (TOM3_DEPLOYMENTS_DIR, TOM3_IGNITION_DIR); the repository's own
 * deployments/ and ignition/ are never touched.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { HARDHAT_CLI, REPO_ROOT, deploySuite, hardhatAccounts, startNode, type RunningNode } from "../harness/local-chain";
import { runProcess, type ProcessRun } from "../harness/process";
import { readDeployment, type Tom3Deployment } from "../../offchain/chain/addresses";
import { Tom3Client, Tom3NotDeployedError } from "../../offchain/sdk";
import { connectNetwork } from "../../scripts/market-network";

/** A fixed genesis time: two anvils started with it share their first block, as two nodes of one chain would. */
const GENESIS_TIME = "1767225600";

describe("deploying to several nodes (hardhat node, anvil)", function () {
  this.timeout(300_000);
  const nodes: RunningNode[] = [];
  let root: string;
  let ignitionDir: string;
  const dir = (name: string) => join(root, name);

  async function node(kind: "hardhat" | "anvil", args: string[] = []): Promise<RunningNode> {
    const started = await startNode({ kind, args, timeoutMs: 60_000 });
    nodes.push(started);
    return started;
  }

  /** Every contract of the record holds code on the node at `rpcUrl`. */
  async function codeEverywhere(rpcUrl: string, deployment: Tom3Deployment): Promise<Record<string, boolean>> {
    const rpc = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
    try {
      const entries = Object.entries(deployment.contracts);
      const codes = await Promise.all(entries.map(([, address]) => rpc.getCode(address)));
      return Object.fromEntries(entries.map(([key], i) => [key, codes[i] !== "0x"]));
    } finally {
      rpc.destroy();
    }
  }

  const allTrue = (deployment: Tom3Deployment) => Object.fromEntries(Object.keys(deployment.contracts).map((k) => [k, true]));

  async function blockNumber(rpcUrl: string): Promise<number> {
    const rpc = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
    try {
      return await rpc.getBlockNumber();
    } finally {
      rpc.destroy();
    }
  }

  /** The supply holder's TOM3 through the SDK, reading the record from `deploymentsDir`. */
  async function supplyHeldByDeployer(rpcUrl: string, deploymentsDir: string): Promise<bigint> {
    const rpc = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
    try {
      const client = await Tom3Client.connect({ runner: rpc, deploymentsDir });
      return (await client.contracts.token.balanceOf(hardhatAccounts(1)[0].address)) as bigint;
    } finally {
      rpc.destroy();
    }
  }

  const journals = () => (existsSync(join(ignitionDir, "deployments")) ? readdirSync(join(ignitionDir, "deployments")).sort() : []);

  beforeEach(function () {
    root = mkdtempSync(join(tmpdir(), "tom3-deploy-nodes-"));
    ignitionDir = join(root, "ignition");
  });

  afterEach(async function () {
    while (nodes.length > 0) await nodes.pop()!.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it("deploys to a hardhat node, then to anvil with the same chain id and journal directory: code on both, both records usable", async function () {
    const hardhat = await node("hardhat");
    const anvil = await node("anvil");

    const first = await deploySuite({ rpcUrl: hardhat.rpcUrl, deploymentsDir: dir("hardhat"), ignitionDir });
    expect(first).to.contain("(a new deployment)");
    const second = await deploySuite({ rpcUrl: anvil.rpcUrl, deploymentsDir: dir("anvil"), ignitionDir });
    expect(second, "anvil must get a deployment of its own, not the hardhat node's journal").to.contain("(a new deployment)");
    expect(second).to.contain("Code checked at every address");

    const onHardhat = readDeployment(31337, dir("hardhat"));
    const onAnvil = readDeployment(31337, dir("anvil"));
    expect(await codeEverywhere(hardhat.rpcUrl, onHardhat)).to.deep.equal(allTrue(onHardhat));
    expect(await codeEverywhere(anvil.rpcUrl, onAnvil)).to.deep.equal(allTrue(onAnvil));
    expect(journals()).to.have.length(2);
    for (const id of journals()) expect(id).to.match(/^tom3-local-31337-[0-9a-f]{8}$/);

    const supply = 1_000_000_000n * 10n ** 18n;
    expect(await supplyHeldByDeployer(hardhat.rpcUrl, dir("hardhat"))).to.equal(supply);
    expect(await supplyHeldByDeployer(anvil.rpcUrl, dir("anvil"))).to.equal(supply);
  });

  it("deploying again to the same node reuses its deployment and sends nothing", async function () {
    const anvil = await node("anvil");
    await deploySuite({ rpcUrl: anvil.rpcUrl, deploymentsDir: dir("d"), ignitionDir });
    const before = readDeployment(31337, dir("d"));
    const block = await blockNumber(anvil.rpcUrl);

    const again = await deploySuite({ rpcUrl: anvil.rpcUrl, deploymentsDir: dir("d"), ignitionDir });
    expect(again).to.contain("(an earlier deploy to this node: reused or resumed)");
    expect(await blockNumber(anvil.rpcUrl)).to.equal(block);
    expect(readDeployment(31337, dir("d"))).to.deep.equal(before);

    // Without its record, the reused deployment still names the block of its first transaction: event scans
    // start there, not after the deployment.
    rmSync(join(dir("d"), "31337.json"));
    await deploySuite({ rpcUrl: anvil.rpcUrl, deploymentsDir: dir("d"), ignitionDir });
    expect(before.deployedAtBlock).to.equal(1);
    expect(readDeployment(31337, dir("d"))).to.deep.equal(before);
  });

  it("a development node with the same first block but without the suite: the journal is set aside and the suite deployed afresh", async function () {
    const gone = await node("anvil", ["--timestamp", GENESIS_TIME]);
    await deploySuite({ rpcUrl: gone.rpcUrl, deploymentsDir: dir("d"), ignitionDir });
    await gone.stop();

    const fresh = await node("anvil", ["--timestamp", GENESIS_TIME]);
    const output = await deploySuite({ rpcUrl: fresh.rpcUrl, deploymentsDir: dir("d"), ignitionDir });
    expect(output).to.match(/recorded a suite this node does not hold .*: moved to .*-stale-.*; deploying afresh/);
    const deployment = readDeployment(31337, dir("d"));
    expect(await codeEverywhere(fresh.rpcUrl, deployment)).to.deep.equal(allTrue(deployment));
    expect(journals()).to.have.length(2);
  });

  it("on any other chain such a journal is refused, naming the command that deploys afresh; nothing is written", async function () {
    const key = hardhatAccounts(1)[0].privateKey;
    const args = ["--timestamp", GENESIS_TIME, "--chain-id", "4242"];
    const remote = (rpcUrl: string) => ({ network: "remote", env: { TOM3_RPC_URL: rpcUrl, TOM3_DEPLOYER_KEY: key, TOM3_CHAIN_ID: "" } });
    const gone = await node("anvil", args);
    await deploySuite({ rpcUrl: gone.rpcUrl, deploymentsDir: dir("d"), ignitionDir, ...remote(gone.rpcUrl) });
    await gone.stop();
    rmSync(dir("d"), { recursive: true, force: true });

    const other = await node("anvil", args);
    const error = await deploySuite({ rpcUrl: other.rpcUrl, deploymentsDir: dir("d"), ignitionDir, ...remote(other.rpcUrl) }).then(
      () => expect.fail("the deploy should refuse"),
      (e: Error) => e,
    );
    const [journal] = journals();
    const journalPath = join(ignitionDir, "deployments", journal);
    expect(error.message.split("\n")[0]).to.equal(
      `the deployment (scripts/deploy.ts) failed: the Ignition journal ${journalPath} records contracts at ` +
        `${error.message.match(/records contracts at (.*?), but/)![1]}, but this node (chain 4242, first block ` +
        `${error.message.match(/first block (0x[0-9a-f]{8})…/)![1]}…) has no code there, so it belongs to another node; if this ` +
        `node is the one to deploy to, set that journal aside and deploy again: \`mv ${journalPath} ${journalPath}-stale && ` +
        `TOM3_DEPLOYMENTS_DIR=${dir("d")} TOM3_IGNITION_DIR=${ignitionDir} npm run deploy -- --network remote\``,
    );
    expect(existsSync(join(dir("d"), "4242.json"))).to.equal(false);
  });

  it("on any other chain a task on the stale record names the journal's mv too; pasted, the command fixes it", async function () {
    const key = hardhatAccounts(1)[0].privateKey;
    const args = ["--timestamp", GENESIS_TIME, "--chain-id", "4242"];
    const gone = await node("anvil", args);
    const remote = (rpcUrl: string) => ({
      TOM3_RPC_URL: rpcUrl,
      TOM3_DEPLOYER_KEY: key,
      TOM3_CHAIN_ID: "",
      TOM3_DEPLOYMENTS_DIR: dir("d"),
      TOM3_IGNITION_DIR: ignitionDir,
    });
    await deploySuite({ rpcUrl: gone.rpcUrl, deploymentsDir: dir("d"), ignitionDir, network: "remote", env: remote(gone.rpcUrl) });
    await gone.stop();

    const other = await node("anvil", args);
    const task = await hardhat(["tom3:balance", "--network", "remote"], remote(other.rpcUrl));
    expect(task.code).to.equal(1);
    const journal = join(ignitionDir, "deployments", journals()[0]);
    const command = `mv ${journal} ${journal}-stale && TOM3_DEPLOYMENTS_DIR=${dir("d")} npm run deploy -- --network remote`;
    expect(task.output).to.contain(`deploy the suite there again with \`${command}\`, which rewrites this file`);

    const pasted = await shell(command, remote(other.rpcUrl));
    expect(pasted.code, pasted.output).to.equal(0);
    const after = await hardhat(["tom3:balance", "--network", "remote"], remote(other.rpcUrl));
    expect(after.code, after.output).to.equal(0);
  });

  describe("a stale record (its node restarted without the suite)", function () {
    let fresh: RunningNode;
    let file: string;
    let command: string;

    beforeEach(async function () {
      const gone = await node("hardhat");
      await deploySuite({ rpcUrl: gone.rpcUrl, deploymentsDir: dir("d"), ignitionDir });
      await gone.stop();
      fresh = await node("hardhat");
      file = join(dir("d"), "31337.json");
      command = `\`TOM3_DEPLOYMENTS_DIR=${dir("d")} TOM3_LOCAL_RPC_URL=${fresh.rpcUrl} npm run deploy -- --network localhost\``;
    });

    it("the SDK names the file and the command that rewrites it", async function () {
      const rpc = new JsonRpcProvider(fresh.rpcUrl, undefined, { staticNetwork: true });
      try {
        const error = await Tom3Client.connect({ runner: rpc, deploymentsDir: dir("d") }).then(
          () => expect.fail("connect should refuse"),
          (e: Error) => e,
        );
        expect(error).to.be.instanceOf(Tom3NotDeployedError);
        expect(error.message).to.match(new RegExp(`^${escape(file)}: no TOM3 contract on chain 31337 at token 0x`));
        expect(error.message).to.contain(`the record is stale`);
        expect(error.message).to.contain(`deploy the suite there again with ${command}, which rewrites this file`);
      } finally {
        rpc.destroy();
      }
    });

    it("the demo's --network check says the same", async function () {
      const error = await connectNetwork("localhost", {
        networks: { localhost: { url: fresh.rpcUrl } },
        env: { TOM3_DEPLOYMENTS_DIR: dir("d") },
      }).then(
        () => expect.fail("connectNetwork should refuse"),
        (e: Error) => e,
      );
      expect(error.message).to.match(new RegExp(`^${escape(file)}: no TOM3 contract on chain 31337 at token 0x`));
      expect(error.message).to.contain(`deploy the suite there again with ${command}`);
    });

    it("a task says the same, and the command it names fixes it", async function () {
      const env = { TOM3_DEPLOYMENTS_DIR: dir("d"), TOM3_LOCAL_RPC_URL: fresh.rpcUrl };
      const task = await hardhat(["tom3:balance", "--network", "localhost"], env);
      expect(task.code).to.equal(1);
      expect(task.output).to.contain(`${file}: no TOM3 contract on chain 31337 at token 0x`);
      expect(task.output).to.contain(`deploy the suite there again with ${command}`);

      await deploySuite({ rpcUrl: fresh.rpcUrl, deploymentsDir: dir("d"), ignitionDir });
      const after = await hardhat(["tom3:balance", "--network", "localhost"], env);
      expect(after.code, after.output).to.equal(0);
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A command line as a user pastes it into a shell in the checkout. */
function shell(command: string, env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return runProcess("sh", ["-c", command], { cwd: REPO_ROOT, env: { ...process.env, ...env, FORCE_COLOR: "0" } });
}

/** `npx hardhat <args>` as a child process (no compile: the test run compiled). */
function hardhat(args: string[], env: NodeJS.ProcessEnv): Promise<ProcessRun> {
  return runProcess(process.execPath, [HARDHAT_CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env, FORCE_COLOR: "0" } });
}
