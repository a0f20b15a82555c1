/**
 * `npm run demo` as a test: the same scenario (scripts/market-demo.ts) against a real `hardhat node`, three
 * provider daemon processes and the local Docker engine, asserting what each step saw. Needs a Docker engine.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import Docker from "dockerode";
import { UNITS_NOTE, V2_GREETING, greetingOf, runMarketDemo, type MarketDemoResult } from "../../scripts/market-demo";
import { hardhatAccounts, startLocalChain } from "../harness/local-chain";

describe("market demo (end to end)", function () {
  this.timeout(300_000);
  let result: MarketDemoResult;
  const lines: string[] = [];
  const logDir = mkdtempSync(join(tmpdir(), "tom3-demo-test-logs-"));

  before(async function () {
    result = await runMarketDemo({ log: (line) => lines.push(line), logDir });
  });

  after(function () {
    rmSync(logDir, { recursive: true, force: true });
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

  it("every figure adds up: accrued = claimed + paid at close, locked = paid + refunded, tenant spent = provider received + fee", function () {
    const r = result.reconciliation;
    const seen = JSON.stringify(r, (_, v) => (typeof v === "bigint" ? v.toString() : v));
    expect(r.accrued > 0n, seen).to.equal(true);
    expect(r.accrued % 80n, seen).to.equal(0n);
    expect(r.claims, seen).to.be.greaterThan(0);
    expect(r.claimedWhileRunning + r.paidAtClose, seen).to.equal(r.accrued);
    expect(r.lockedForCharter, seen).to.equal(80n * 3600n);
    expect(r.accrued + r.refunded, seen).to.equal(r.lockedForCharter);
    expect(r.fees, seen).to.equal(0n);
    expect(r.tenantSpent, seen).to.equal(r.accrued);
    expect(r.providerReceived, seen).to.deep.equal({ alpha: 0n, bravo: r.accrued, charlie: 0n });
    expect(lines.filter((l) => l.endsWith("+ protocol fee 0 TOM3: OK"))).to.have.length(1);
  });

  it("prints amounts in TOM3, with wei beside the small ones, never wei alone", function () {
    expect(lines).to.include(UNITS_NOTE);
    const withWei = lines.filter((l) => l !== UNITS_NOTE && /\d wei\b/.test(l));
    expect(withWei.length).to.be.greaterThan(5);
    for (const line of withWei) expect(line).to.match(/\d TOM3(\/s)? \([\d,]+ wei(\/s)?\)/);
    for (const line of withWei) expect(line.replace(/\d TOM3(\/s)? \([\d,]+ wei(\/s)?\)/g, "")).not.to.match(/\d wei/);
    const charterLine = `    charter ${result.orderId}: bravo at 0.00000000000000008 TOM3/s (80 wei/s) (matched by `;
    expect(lines.filter((l) => l.startsWith(charterLine))).to.have.length(1);
  });

  it("says where each log is, and no log or line shows a private key", function () {
    expect(lines[0]).to.equal(`Logs of this run (kept after it) in ${logDir}/: compile.log, chain.log, deploy.log, alpha.log, bravo.log, charlie.log`);
    for (const name of ["alpha", "bravo", "charlie"]) {
      expect(lines.some((l) => l.includes(`${name} (`) && l.endsWith(`log ${join(logDir, `${name}.log`)}`)), name).to.equal(true);
    }
    const keys = hardhatAccounts(20).map((a) => a.privateKey.slice(2));
    for (const [name, file] of Object.entries(result.logs)) {
      expect(existsSync(file), name).to.equal(true);
      const text = readFileSync(file, "utf8");
      expect(text, name).not.to.match(/private key/i);
      for (const key of keys) expect(text.includes(key), `${name} shows a key`).to.equal(false);
    }
    expect(readFileSync(result.logs.chain, "utf8")).to.contain("eth_sendRawTransaction");
    const printed = lines.join("\n");
    expect(printed).not.to.match(/private key/i);
    for (const key of keys) expect(printed.includes(key)).to.equal(false);
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

describe("the embedded chain when a step fails", function () {
  this.timeout(120_000);

  it("names the failing step's own error first, with a short tail and no private key", async function () {
    const error = await startLocalChain({ deployEnv: { TOM3_PARAMETERS: "/nonexistent/params.json" } }).then(
      () => expect.fail("the chain should not start"),
      (e: Error) => e,
    );
    const [first, ...rest] = error.message.split("\n");
    expect(first).to.equal(
      "local chain did not start: the deployment (scripts/deploy.ts) failed: " +
        "ENOENT: no such file or directory, open '/nonexistent/params.json'",
    );
    expect(rest.length).to.be.lessThan(10);
    expect(error.message).not.to.match(/private key|Account #/i);
  });
});
