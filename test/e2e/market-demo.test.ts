/**
 * `npm run demo` as a test: the same scenario (scripts/market-demo.ts) against a real `hardhat node`, three
 * provider daemon processes and the local Docker engine, asserting what each step saw. Needs a Docker engine.
 */
import { expect } from "chai";
import Docker from "dockerode";
import { V2_GREETING, greetingOf, runMarketDemo, type MarketDemoResult } from "../../scripts/market-demo";

describe("market demo (end to end)", function () {
  this.timeout(300_000);
  let result: MarketDemoResult;
  const lines: string[] = [];

  before(async function () {
    result = await runMarketDemo({ log: (line) => lines.push(line) });
  });

  it("prints every step", function () {
    expect(lines.filter((l) => /^\n\[\d+\]/.test(l))).to.have.length(15);
  });

  it("the two eu-west providers bid their prices; us-east declines for the region", function () {
    const seen = JSON.stringify(result.decisions);
    expect(result.decisions, seen).to.deep.include({ provider: "alpha", kind: "bid", price: "100", code: undefined, reason: undefined });
    expect(result.decisions, seen).to.deep.include({ provider: "bravo", kind: "bid", price: "80", code: undefined, reason: undefined });
    const charlie = result.decisions.find((d) => d.provider === "charlie")!;
    expect(charlie.kind).to.equal("decline");
    expect(charlie.code).to.equal("ProviderMissingAttribute");
  });

  it("the lowest bid wins, the workload is delivered peer to peer, runs and is acknowledged", function () {
    expect(result.winner).to.equal("bravo");
    expect(result.winningPrice).to.equal(80n);
    expect(result.delivered).to.equal(true);
    expect(result.acknowledged).to.equal(true);
  });

  it("web answers on its published port and reaches api; api refuses outsiders", function () {
    expect(result.webStatus).to.equal(200);
    expect(result.webBody).to.contain("Hello from TOM3");
    expect(result.viaWebToApi).to.contain("hello from the internal api");
    expect(result.apiPublishedPorts).to.equal(0);
    expect(result.outsiderRefused).to.equal(true);
  });

  it("payment is claimed, the new version rolls out, the charter closes, balances add up", function () {
    expect(result.claimed > 0n).to.equal(true);
    expect(result.runningVersion).to.equal(result.updatedVersion);
    expect(result.closed).to.equal(true);
    expect(result.marketHeldChange > 0n).to.equal(true);
    expect(result.marketHeldChange).to.equal(result.accountsChange);
  });

  it("the page served after the update shows the new version, and the demo prints it before and after", function () {
    expect(greetingOf(result.webBody)).to.equal("hello");
    expect(greetingOf(result.webBodyAfterUpdate)).to.equal(V2_GREETING);
    expect(lines).to.include(`    the page's greeting: before "hello", after "${V2_GREETING}"`);
    expect(lines.filter((l) => l.includes(`Greeting: <b>${V2_GREETING}</b>`))).to.have.length(1);
  });

  it("moves the embedded chain's time instead of waiting", function () {
    expect(result.realTime).to.equal(false);
    expect(lines.some((l) => /chain time advanced \d+ s/.test(l))).to.equal(true);
  });

  it("leaves no container or network of the demo behind", async function () {
    const docker = new Docker();
    const left = { containers: 0, networks: 0 };
    for (const address of result.providerAddresses) {
      const filters = JSON.stringify({ label: [`tom3.provider=${address}`] });
      left.containers += (await docker.listContainers({ all: true, filters })).length;
      left.networks += (await docker.listNetworks({ filters })).length;
    }
    expect(left).to.deep.equal({ containers: 0, networks: 0 });
  });
});
