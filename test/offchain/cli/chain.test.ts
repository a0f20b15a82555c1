import { expect } from "chai";
import { join } from "node:path";
import { parseManifest } from "../../../offchain/manifest";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { REPO_ROOT, startLocalChain } from "../../harness/local-chain";
import type { LocalChain } from "../../harness/local-chain";
import { ONE, acknowledge, bid, increaseTime, providerApi, setUpMarket } from "../sdk/helpers";
import type { Market } from "../sdk/helpers";
import { STACK_LINE, runCli } from "./helpers";
import type { CliRun } from "./helpers";

const HELLO = join(REPO_ROOT, "examples", "hello.yaml");

/** `tom3` against a real node: balances, escrow, the provider directory and a deployment from file to close. */
describe("cli: against a local chain", function () {
  this.timeout(60_000);
  let chain: LocalChain;
  let m: Market;
  let env: Record<string, string>;
  const tom3 = (...args: string[]): Promise<CliRun> => runCli([...args, "--json"], env);

  before(async function () {
    chain = await startLocalChain();
    m = await setUpMarket(chain, 2);
    env = {
      TOM3_RPC_URL: chain.rpcUrl,
      TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir,
      TOM3_PRIVATE_KEY: chain.accounts[1].privateKey,
    };
  });

  after(async function () {
    await chain?.stop();
  });

  it("deposits with a permit, shows the balance, and decodes a refused withdrawal", async function () {
    const deposit = await tom3("deposit", "10");
    expect(deposit.code, deposit.stderr).to.equal(0);
    expect(JSON.parse(deposit.stdout)).to.include({ amount: (10n * ONE).toString(), permit: true });

    const [balance, refused] = await Promise.all([tom3("balance"), tom3("withdraw", "11")]);
    expect(JSON.parse(balance.stdout)).to.deep.equal({
      account: chain.accounts[1].address,
      wallet: (990n * ONE).toString(),
      available: (10n * ONE).toString(),
      locked: "0",
    });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(
      /^error: reverted: 0x[0-9a-fA-F]{40} has 10 TOM3 available in the market but needs 11 TOM3 \(MarketInsufficientBalance\)\n$/,
    );
    expect(refused.stderr).to.not.match(STACK_LINE);
    expect(JSON.parse(refused.stdout).error).to.include({ code: "MarketInsufficientBalance", contract: "Market" });
  });

  it("lists the providers, without needing a key", async function () {
    const run = await runCli(["providers", "--json", "--attribute", "region=eu-west"], {
      TOM3_RPC_URL: chain.rpcUrl,
      TOM3_DEPLOYMENTS_DIR: chain.deploymentsDir,
    });
    expect(run.code, run.stderr).to.equal(0);
    const { providers } = JSON.parse(run.stdout);
    expect(providers.map((p: { address: string }) => p.address)).to.have.members(m.providers.map((p) => p.address));
    expect(providers[0]).to.include({ registered: true, completed: 0, failed: 0 });
    expect(providers[0].knownAttributes).to.deep.equal(["region=eu-west"]);
  });

  it("deploys a manifest to a matched charter, shows its status, extends it and closes it", async function () {
    const ordersBefore = await m.market.orderCount();
    let exited: CliRun | undefined;
    const deploying = tom3("deploy", HELLO, "--no-deliver").then((run) => (exited = run));
    // Bid as a provider daemon would, as soon as the order appears, then let the window close.
    let orderId = 0n;
    while (orderId === 0n && exited === undefined) {
      const count = await m.market.orderCount();
      if (count > ordersBefore) orderId = count;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(orderId, `the CLI created no order: ${exited?.stderr}`).to.not.equal(0n);
    await bid(m, m.providers[0], orderId, 90n);
    await increaseTime(m, 31);
    const deployed = await deploying;
    expect(deployed.code, deployed.stderr).to.equal(0);
    const result = JSON.parse(deployed.stdout);
    expect(result.version).to.equal(parseManifest(readFileSync(HELLO, "utf8")).version);
    expect(result.orders).to.deep.equal([
      { orderId: orderId.toString(), group: "eu", services: ["api", "web"], closesAt: result.orders[0].closesAt },
    ]);
    expect(result.matched).to.have.length(1);
    expect(result.matched[0]).to.include({ charterId: orderId.toString(), provider: m.providers[0].address, pricePerSecond: "90" });
    expect(deployed.stderr).to.include(`order ${orderId} matched: charter ${orderId}`);

    await acknowledge(m, m.providers[0], orderId);
    const deploymentId = result.deploymentId as string;
    const status = await tom3("status", "--deployment", deploymentId);
    expect(status.code, status.stderr).to.equal(0);
    const [deployment] = JSON.parse(status.stdout).deployments;
    expect(deployment.charters[0]).to.include({ state: "Active", provider: m.providers[0].address, pricePerSecond: "90" });
    // The provider's API (a loopback port nothing listens on here) cannot say where the service answers: said so.
    expect(deployment.charters[0].serviceEndpointsError).to.match(/^http:\/\/127\.0\.0\.1:2 did not answer \(.*ECONNREFUSED/);

    const extended = await tom3("extend", deploymentId, "--by", "1h");
    expect(extended.code, extended.stderr).to.equal(0);
    expect(BigInt(JSON.parse(extended.stdout).charters[0].endsAt)).to.equal(BigInt(deployment.charters[0].endsAt) + 3600n);

    const closed = await tom3("close", deploymentId);
    expect(closed.code, closed.stderr).to.equal(0);
    const closing = JSON.parse(closed.stdout);
    expect(closing.charters[0].reason).to.equal("ClosedByTenant");
    expect(BigInt(closing.refunded)).to.be.greaterThan(0n);
    const [, locked] = await m.market.balanceOf(m.tenant.address);
    expect(locked).to.equal(0n);
  });

  it("a partial match with --keep-open: says what runs and what does not, names each provider, and tom3 cancel unlocks", async function () {
    // Two groups: a provider bids on eu only; us gets no bid.
    const twoGroups = readFileSync(HELLO, "utf8").replace(
      /placement:[\s\S]*?(?=duration:)/,
      `placement:
  eu:
    attributes: { region: eu-west }
    maxPricePerSecond: 120
    minReputation: 0
    services: [web]
  us:
    attributes: { region: us-east }
    maxPricePerSecond: 50
    minReputation: 0
    services: [api]
`,
    ).replace("to: [web]         # only web may connect", "to: [global]");
    const file = join(mkdtempSync(join(tmpdir(), "tom3-cli-")), "two-groups.yaml");
    writeFileSync(file, twoGroups);
    const ordersBefore = (await m.market.orderCount()) as bigint;
    let exited: CliRun | undefined;
    const deploying = runCli(["deploy", file, "--no-deliver", "--keep-open"], env).then((run) => (exited = run));
    while ((await m.market.orderCount()) < ordersBefore + 2n && exited === undefined) await new Promise((r) => setTimeout(r, 100));
    const [eu, us] = [ordersBefore + 1n, ordersBefore + 2n];
    await bid(m, m.providers[0], eu, 90n);
    await increaseTime(m, 31);
    const run = await deploying;
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stderr).to.not.match(STACK_LINE);
    expect(run.stdout, run.stdout).to.include(`charter ${eu}: ${m.providers[0].address} at 90 wei/s`);
    expect(run.stdout).to.include(`order ${us} (group us: api): no provider bid`);
    // Every registered provider is named; these announce an API nobody answers at.
    for (const [i, p] of m.providers.entries()) {
      expect(run.stdout).to.match(new RegExp(`  ${p.address}: no answer \\(${providerApi(i).replace(/[.:/]/g, "\\$&")} did not answer`));
    }
    expect(run.stdout).to.include(`  order ${us} stays open and keeps 180000 wei locked; cancel it with: tom3 cancel ${us}`);
    expect(run.stderr).to.match(/^error: deployment \d+ runs in part; not running: group us \(api\)\. Keep it as it is, or close it \(tom3 close \d+\) and deploy again with a manifest a provider bids on$/m);
    expect(((await m.market.balanceOf(m.tenant.address)) as bigint[])[1]).to.be.greaterThan(0n);

    const cancelled = await runCli(["cancel", String(us)], env);
    expect(cancelled.code, cancelled.stderr).to.equal(0);
    expect(cancelled.stdout).to.include(`order ${us}: cancelled, 180000 wei went back to your available balance`);
    const again = await runCli(["cancel", String(us)], env);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.equal(`error: order ${us} is cancelled, not open: nothing to cancel\n`);
  });
});
