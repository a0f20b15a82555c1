/**
 * `tom3 deploy <manifest> --json` as a user runs it (a child process of bin/tom3.js) against a real `hardhat node`
 * and a real provider daemon (local Docker engine, libp2p on loopback): the daemon bids, wins, receives the workload
 * peer to peer, runs it and acknowledges; the CLI's JSON reports the match, the delivery and the acknowledgement.
 * Needs a Docker engine; everything the daemon's key labelled is removed afterwards, even on failure.
 */
import { join } from "node:path";
import { expect } from "chai";
import { parseManifest } from "../../offchain/manifest";
import { ProviderDaemon, parseProviderConfig } from "../../offchain/provider";
import { buildSampleImages } from "../../offchain/provider/executor";
import { REPO_ROOT, startLocalChain, type LocalChain } from "../harness/local-chain";
import { runCli, type CliRun } from "../offchain/cli/helpers";
import { cleanUp, httpGet, leftovers } from "../offchain/provider/executor/helpers";
import { eventually, tempDir } from "../offchain/provider/helpers";
import { increaseTime, setUpMarket, type Market } from "../offchain/sdk/helpers";
import { readFileSync } from "node:fs";

const HELLO = join(REPO_ROOT, "examples", "hello.yaml");

describe("tom3 deploy against a provider daemon (end to end)", function () {
  this.timeout(240_000);
  let chain: LocalChain;
  let m: Market;
  let daemon: ProviderDaemon | undefined;
  let providerAddress: string;
  let env: Record<string, string>;

  before(async function () {
    await buildSampleImages();
    chain = await startLocalChain();
    m = await setUpMarket(chain, 0); // funds the tenant (account 1); the daemon registers itself
    const key = chain.accounts[2];
    providerAddress = key.address;
    daemon = new ProviderDaemon({
      config: parseProviderConfig(
        `
chain: { rpcUrl: "${chain.rpcUrl}", confirmations: 0, pollInterval: 100ms }
key: { keyEnv: E2E_PROVIDER_KEY }
endpoints: { listen: [/ip4/127.0.0.1/tcp/0], api: "127.0.0.1:0" }
attributes: { region: eu-west }
capacity: { cpu: 4, memory: 4Gi, storage: 10Gi, bandwidth: 1Gbps }
pricing: { strategy: linear, cpu: 10, memory: 10, storage: 1, bandwidth: 1, marginBps: 0, floor: 10 }
register: { enabled: true, stake: "0" }
dataDir: ${tempDir()}
`,
        "provider.yaml (e2e)",
      ),
      env: { E2E_PROVIDER_KEY: key.privateKey },
      deployment: chain.deployment,
      executor: { publishAddress: "127.0.0.1", pullPolicy: "never", namePrefix: `tom3e2e-${key.address.slice(2, 10).toLowerCase()}-` },
      charters: { claimIntervalMs: 1_000, watchdogMarginSeconds: 60 },
    });
    await daemon.start();
    env = {
      TOM3_RPC_URL: chain.rpcUrl,
      TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir,
      TOM3_PRIVATE_KEY: chain.accounts[1].privateKey,
    };
  });

  after(async function () {
    await daemon?.stop();
    if (providerAddress) await cleanUp(providerAddress);
    await m?.provider.destroy();
    await chain?.stop();
  });

  it("reports the match, the p2p delivery and the acknowledgement in its JSON, and the workload serves", async function () {
    const ordersBefore = await m.market.orderCount();
    let exited: CliRun | undefined;
    const deploying = runCli(["deploy", HELLO, "--json"], env).then((run) => (exited = run));

    // The daemon bids as soon as it sees the order; then the bidding window (30 s) is let close at once.
    let orderId = 0n;
    while (orderId === 0n && exited === undefined) {
      const count = await m.market.orderCount();
      if (count > ordersBefore) orderId = count;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(orderId, `the CLI created no order: ${exited?.stderr}`).to.not.equal(0n);
    const decision = await daemon!.engine.waitForDecision(orderId);
    expect(decision.kind, JSON.stringify(decision)).to.equal("bid");
    await eventually(async () => (await m.market.bestBid(orderId)) !== 0n, 20_000, "the bid on chain");
    await increaseTime(m, 31);

    const deployed = await deploying;
    expect(deployed.code, deployed.stderr).to.equal(0);
    const result = JSON.parse(deployed.stdout);
    expect(result.version).to.equal(parseManifest(readFileSync(HELLO, "utf8")).version);
    expect(result.matched).to.have.length(1);
    expect(result.matched[0]).to.include({ charterId: orderId.toString(), provider: providerAddress });
    expect(result.delivered).to.deep.equal([
      { charterId: orderId.toString(), provider: providerAddress, endpoint: daemon!.node.multiaddrs[0], attempts: result.delivered[0].attempts },
    ]);
    expect(result.acknowledged).to.have.length(1);
    expect(result.acknowledged[0]).to.include({ charterId: orderId.toString() });
    expect(result.unacknowledged).to.deep.equal([]);
    expect(deployed.stderr).to.include(`delivered to ${providerAddress} via ${daemon!.node.multiaddrs[0]}`);

    const charter = daemon!.charters.charter(orderId)!;
    expect(charter.phase).to.equal("running");
    const web = charter.endpoints!.find((e) => e.service === "web")!;
    expect((await httpGet(web.hostPort)).status).to.equal(200);

    const closed = await runCli(["close", result.deploymentId, "--json"], env);
    expect(closed.code, closed.stderr).to.equal(0);
    await eventually(() => daemon!.charters.charter(orderId)!.phase === "closed", 30_000, "the teardown");
    expect(await leftovers(providerAddress)).to.deep.equal({ containers: [], networks: [] });
  });

  it("refuses an unknown --delivery transport as a usage error", async function () {
    const run = await runCli(["deploy", HELLO, "--delivery", "carrier-pigeon"], env);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/--delivery <transport>' argument 'carrier-pigeon' is invalid\. Allowed choices are auto, p2p, http/);
  });
});
