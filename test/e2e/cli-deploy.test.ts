/**
 * `tom3` as a user runs it (a child process of bin/tom3.js) against a real `hardhat node` and a real provider daemon
 * (local Docker engine, libp2p on loopback, its HTTP API announced on chain): `deploy --json` reports the match, the
 * delivery, the acknowledgement and the service's URL, which answers; `status` gives the same URL; `update` keeps
 * it; `logs` prints a container's line; a deploy nobody bids on exits 1 with the provider's reason and unlocks its
 * escrow. Needs a Docker engine; everything the daemon's key labelled is removed afterwards, even on failure.
 */
import { join } from "node:path";
import { expect } from "chai";
import { ProviderDaemon, parseProviderConfig } from "../../offchain/provider";
import { buildSampleImages } from "../../offchain/provider/executor";
import { REPO_ROOT, startLocalChain, type LocalChain } from "../harness/local-chain";
import { STACK_LINE, runCli, startCli, type CliRun } from "../offchain/cli/helpers";
import { cleanUp, leftovers } from "../offchain/provider/executor/helpers";
import { eventually, tempDir } from "../offchain/provider/helpers";
import { increaseTime, setUpMarket, type Market } from "../offchain/sdk/helpers";
import { readFileSync, writeFileSync } from "node:fs";
import { Wallet } from "ethers";

const HELLO = join(REPO_ROOT, "examples", "hello.yaml");
const HELLO_TEXT = readFileSync(HELLO, "utf8");

/** hello.yaml whose web says a line on start (for `tom3 logs`), greeting `greeting`; written to a temp file. */
function helloVariant(greeting: string, edit: (text: string) => string = (t) => t): string {
  const file = join(tempDir(), `hello-${greeting}.yaml`);
  const text = edit(
    HELLO_TEXT.replace(
      'command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"]',
      'command: ["/bin/sh", "-c", "echo web started, greeting $GREETING; exec /bin/httpd -f -p 8080 -h /www"]',
    ).replace("GREETING: hello", `GREETING: ${greeting}`),
  );
  writeFileSync(file, text);
  return file;
}

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
    // With no `announce`, the daemon registers where it listens: its multiaddrs and its API's URL, where the CLI
    // reads service URLs, logs and bid decisions.
    const endpoint = String(await m.registry.endpointOf(key.address));
    expect(endpoint.split(" ")).to.include(daemon.apiUrl);
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

  /** Let the bidding window of the order the CLI creates close, once `ready` says so. */
  async function closeWindow(ordersBefore: bigint, running: () => boolean, ready: (orderId: bigint) => Promise<void>): Promise<bigint> {
    let orderId = 0n;
    while (orderId === 0n && running()) {
      const count = (await m.market.orderCount()) as bigint;
      if (count > ordersBefore) orderId = count;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(orderId, "the CLI created no order").to.not.equal(0n);
    await ready(orderId);
    await increaseTime(m, 31);
    return orderId;
  }

  it("deploy --json: the match, the p2p delivery, the acknowledgement and the service's URL, which answers", async function () {
    const ordersBefore = (await m.market.orderCount()) as bigint;
    let exited: CliRun | undefined;
    const deploying = runCli(["deploy", helloVariant("hello"), "--json"], env).then((run) => (exited = run));
    // The daemon bids as soon as it sees the order; then the bidding window (30 s) is let close at once.
    const orderId = await closeWindow(ordersBefore, () => exited === undefined, async (id) => {
      const decision = await daemon!.engine.waitForDecision(id);
      expect(decision.kind, JSON.stringify(decision)).to.equal("bid");
      await eventually(async () => (await m.market.bestBid(id)) !== 0n, 20_000, "the bid on chain");
    });

    const deployed = await deploying;
    expect(deployed.code, deployed.stderr).to.equal(0);
    expect(deployed.stderr).not.to.include("bidding window open"); // no countdown in --json
    const result = JSON.parse(deployed.stdout);
    expect(result.matched).to.have.length(1);
    expect(result.matched[0]).to.include({ charterId: orderId.toString(), provider: providerAddress });
    expect(result.unmatched).to.deep.equal([]);
    expect(result.delivered).to.deep.equal([
      { charterId: orderId.toString(), provider: providerAddress, endpoint: daemon!.node.multiaddrs[0], attempts: result.delivered[0].attempts },
    ]);
    expect(result.acknowledged).to.have.length(1);
    expect(result.acknowledged[0]).to.include({ charterId: orderId.toString() });
    expect(result.unacknowledged).to.deep.equal([]);
    expect(deployed.stderr).to.include(`delivered to ${providerAddress} via ${daemon!.node.multiaddrs[0]}`);

    const web = daemon!.charters.charter(orderId)!.endpoints!.find((e) => e.service === "web")!;
    const url = `http://127.0.0.1:${web.hostPort}`;
    expect(result.services).to.deep.equal([{ charterId: orderId.toString(), service: "web", replica: 0, port: 8080, as: 80, url }]);
    const page = await fetch(url);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.include("Greeting: <b>hello</b>");
    deploymentId = result.deploymentId;
    charterId = orderId;
    serviceUrl = url;
  });

  let deploymentId = "";
  let charterId = 0n;
  let serviceUrl = "";

  it("status gives the same URL, in text and in JSON", async function () {
    const text = await runCli(["status", "--deployment", deploymentId], env);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.include(`  service web: ${serviceUrl} (port 80)`);
    const json = await runCli(["status", "--deployment", deploymentId, "--json"], env);
    const [charter] = JSON.parse(json.stdout).deployments[0].charters;
    expect(charter.serviceEndpoints).to.deep.equal([{ service: "web", replica: 0, port: 8080, as: 80, url: serviceUrl }]);
    expect((await fetch(charter.serviceEndpoints[0].url)).status).to.equal(200);
  });

  it("update keeps the URL: the new version answers at the same address, and the CLI says so; logs --follow sees it start", async function () {
    const following = startCli(["logs", deploymentId, "--follow"], env);
    await eventually(() => following.output().stdout.includes("web | web started, greeting hello"), 30_000, "the first lines");
    const updated = await runCli(["update", deploymentId, helloVariant("bonjour")], env);
    expect(updated.code, updated.stderr).to.equal(0);
    expect(updated.stdout).to.include(`service web: ${serviceUrl} (port 80), unchanged`);
    const page = await fetch(serviceUrl);
    expect(await page.text()).to.include("Greeting: <b>bonjour</b>");
    // --follow printed the new container's first line, once, and Ctrl-C ends it cleanly.
    await eventually(() => following.output().stdout.includes("web | web started, greeting bonjour"), 30_000, "the new version's line");
    following.interrupt();
    const followed = await following.done;
    expect(followed.code, followed.stderr).to.equal(0);
    expect(followed.stderr).to.include(`following the output of the containers of deployment ${deploymentId}; Ctrl-C to stop`);
    expect(followed.stdout.match(/web started, greeting hello/g)).to.have.length(1);
    expect(followed.stdout.match(/web started, greeting bonjour/g)).to.have.length(1);
  });

  it("logs prints the containers' lines prefixed by service, signed as the tenant", async function () {
    const logs = await runCli(["logs", deploymentId, "web"], env);
    expect(logs.code, logs.stderr).to.equal(0);
    expect(logs.stdout).to.include("web | web started, greeting bonjour");
    expect(logs.stdout).not.to.match(/^api /m);
    // The api container writes nothing: an empty answer says so instead of printing nothing at all.
    const quiet = await runCli(["logs", deploymentId, "api"], env);
    expect(quiet.code, quiet.stderr).to.equal(0);
    expect(quiet.stdout).to.equal("");
    expect(quiet.stderr).to.equal(`no output yet from api of deployment ${deploymentId} (what its containers write to stdout and stderr)\n`);
    const typo = await runCli(["logs", deploymentId, "wbe"], env);
    expect(typo.code).to.equal(1);
    expect(typo.stderr).to.equal(`error: service "wbe" does not run in deployment ${deploymentId} (its services: api, web)\n`);
    // Another key is not the tenant: the provider refuses it, and the CLI says so.
    const stranger = await runCli(["logs", deploymentId, "--charter", String(charterId)], { ...env, TOM3_PRIVATE_KEY: Wallet.createRandom().privateKey });
    expect(stranger.code).to.equal(1);
    expect(stranger.stderr).to.match(/is not the tenant of charter/);
  });

  it("close tears it down", async function () {
    const closed = await runCli(["close", deploymentId, "--json"], env);
    expect(closed.code, closed.stderr).to.equal(0);
    await eventually(() => daemon!.charters.charter(charterId)!.phase === "closed", 30_000, "the teardown");
    expect(await leftovers(providerAddress)).to.deep.equal({ containers: [], networks: [] });
    const report = (await (await fetch(`${daemon!.apiUrl}/charters/${charterId}`)).json()) as { code: string; reason: string };
    expect(report).to.include({ code: "CHARTER_CLOSED", reason: "closed on chain (ClosedByTenant)" });
  });

  it("a deploy nobody bids on: a countdown, exit 1, the provider's reason, the order cancelled and nothing left locked", async function () {
    const cheap = helloVariant("cheap", (t) => t.replace("maxPricePerSecond: 120", "maxPricePerSecond: 1"));
    // A provider re-keyed on the same ports leaves its old registration pointing at the new daemon's API: that API
    // must not answer for it.
    const stale = new Wallet(chain.accounts[6].privateKey, m.provider);
    const endpoint = String(await m.registry.endpointOf(providerAddress));
    await (await (m.registry.connect(stale) as typeof m.registry).register(endpoint, [])).wait();
    const ordersBefore = (await m.market.orderCount()) as bigint;
    const cli = startCli(["deploy", cheap], env);
    let exited = false;
    void cli.done.then(() => (exited = true));
    await closeWindow(ordersBefore, () => !exited, async (id) => {
      const decision = await daemon!.engine.waitForDecision(id);
      expect(decision.kind, JSON.stringify(decision)).to.equal("decline");
      await eventually(() => /bidding window open: \d+ s left, 0 bids/.test(cli.output().stderr), 20_000, "the countdown");
    });
    const run = await cli.done;
    expect(run.code, run.stderr).to.equal(1);
    const orderId = (await m.market.orderCount()) as bigint;
    const decline = daemon!.engine.decision(orderId) as { reason: string; code: string };
    expect(run.stdout, run.stdout).to.include(`order ${orderId} (group eu: api, web): no provider bid`);
    expect(run.stdout).to.include(`  ${providerAddress}: declined: ${decline.reason} (${decline.code})`);
    expect(run.stdout).to.include(
      `  ${stale.address}: no answer (its endpoint's API ${daemon!.apiUrl} answers for another provider, ${providerAddress}: ` +
        "this provider's daemon does not run there)",
    );
    expect(run.stdout).to.match(new RegExp(`order ${orderId} cancelled: 3600 wei went back to your available balance \\(available .+, locked 0 TOM3\\)`));
    expect(run.stderr).to.match(/^error: deployment \d+: nothing runs, no provider bid\. Check the reasons above, change the manifest \(maxPricePerSecond, resources, attributes\) and deploy again$/m);
    expect(run.stderr).to.not.match(STACK_LINE);
    const [, locked] = (await m.market.balanceOf(m.tenant.address)) as [bigint, bigint];
    expect(locked).to.equal(0n);
    // Nothing of it runs and no order is open: the deployment is closed, so status does not list it as open.
    const deploymentId = (await m.market.deploymentCount()) as bigint;
    expect(run.stdout).to.include(`  deployment ${deploymentId} closed: nothing of it runs\n`);
    const status = await runCli(["status", "--deployment", String(deploymentId)], env);
    expect(status.stdout).to.match(new RegExp(`^deployment ${deploymentId}: closed `, "m"));
  });

  it("an image the provider lacks: its reason while the tenant waits, and in the timeout", async function () {
    const absent = helloVariant("absent", (t) => t.replace("image: tom3/api:local", "image: tom3/absent-e2e:local"));
    const ordersBefore = (await m.market.orderCount()) as bigint;
    const cli = startCli(["deploy", absent, "--timeout", "15s"], env);
    let exited = false;
    void cli.done.then(() => (exited = true));
    const orderId = await closeWindow(ordersBefore, () => !exited, async (id) => {
      expect((await daemon!.engine.waitForDecision(id)).kind).to.equal("bid");
      await eventually(async () => (await m.market.bestBid(id)) !== 0n, 20_000, "the bid on chain");
    });
    const run = await cli.done;
    expect(run.code).to.equal(1);
    const said = `charter ${orderId}: its provider reports START_FAILED: image tom3/absent-e2e:local is not on this engine and the pull policy is never`;
    expect(run.stderr).to.include(`  ${said}\n`);
    expect(run.stderr).to.match(new RegExp(`^error: timed out after 15 s waiting for the acknowledgement of charter ${orderId} \\(${escape(said)}\\)$`, "m"));
    expect(run.stderr).to.not.match(STACK_LINE);
    const deploymentId = String(await m.market.deploymentCount());
    expect((await runCli(["close", deploymentId], env)).code).to.equal(0);
  });

  it("refuses an unknown --delivery transport as a usage error", async function () {
    const run = await runCli(["deploy", HELLO, "--delivery", "carrier-pigeon"], env);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.match(/--delivery <transport>' argument 'carrier-pigeon' is invalid\. Allowed choices are auto, p2p, http/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
