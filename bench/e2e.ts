/**
 * End-to-end latency of the market (a script, not a test): `npm run bench:e2e`.
 *
 * From the tenant's createOrder to the first HTTP 200 from the tenant's web container, with bidding windows of 2 s,
 * 5 s and 30 s, on the demo's market (scripts/market-demo.ts: three daemon processes, libp2p delivery, Docker). The
 * embedded `hardhat node` runs like a real chain: a block every second plus automine (a transaction is mined at
 * once), real wall-clock windows, no time travel. Figures per run:
 *
 *   order→bids          createOrder sent → the tenant has seen both eu-west bids on chain (inside the window)
 *   close→match         the window's end (createOrder sent + window) → the order is Matched on chain, split into
 *                       close→block (until the first block whose timestamp reaches the order's closesAt: the chain's
 *                       own clock decides when the window is over) and block→match
 *   match→delivered     → the workload pushed peer to peer and accepted by the winner
 *   delivered→ack       → the provider's acknowledge is on chain, as the tenant sees it
 *   ack→200             → the first HTTP 200 from the web container (polled from delivery on, so it may be < 0)
 *   overhead            total − window (target < 3 s) = close→match + match→delivered + delivered→ack + ack→200
 *
 * Two match modes: "tenant" is the SDK's default (the tenant matches once its clock passes the window, racing the
 * best bidder's daemon); "daemon" leaves the match to the best bidder's daemon alone, whose bid engine ticks on the
 * watcher's heads (the latest block's timestamp), to show what that wait costs.
 *
 * Baseline in the same run: the same workload started directly by the Docker executor, no market (→ HTTP 200).
 * Prints a table and writes bench/results/e2e.json. TOM3_BENCH_E2E_REPEATS (default 3) runs per window and mode.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet } from "ethers";
import { parseManifest } from "../offchain/manifest";
import { DockerExecutor } from "../offchain/provider/executor";
import { closeDeployment, deliverWorkload, deployManifest, waitForAcknowledgements, waitForMatches } from "../offchain/sdk";
import { DemoMarket, charterDetail, labelled, until, type Daemon } from "../scripts/market-demo";
import { REPO_ROOT } from "../test/harness/local-chain";

const REPEATS = Number(process.env.TOM3_BENCH_E2E_REPEATS ?? 3);
const BLOCK_INTERVAL_MS = 1000;
const PLAN: { windowS: number; mode: "tenant" | "daemon" }[] = [
  { windowS: 2, mode: "tenant" },
  { windowS: 5, mode: "tenant" },
  { windowS: 30, mode: "tenant" },
  { windowS: 5, mode: "daemon" },
];
const HELLO = readFileSync(join(REPO_ROOT, "examples", "hello.yaml"), "utf8");
/** `OrderState.Matched` (IMarket.sol). */
const MATCHED = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunFigures {
  windowS: number;
  mode: "tenant" | "daemon";
  matchedBy: "tenant" | "daemon";
  totalMs: number;
  overheadMs: number;
  /** Wall clock at createOrder minus the order block's timestamp. */
  chainClockBehindMs: number;
  parts: {
    orderToBids: number;
    closeToMatch: number;
    closeToBlock: number;
    blockToMatch: number;
    matchToDelivered: number;
    deliveredToAck: number;
    ackTo200: number;
  };
}

function manifestFor(windowS: number, tag: string): string {
  const text = HELLO.replace(/biddingWindow: .*/, `biddingWindow: ${windowS}s`).replace("GREETING: hello", `GREETING: ${tag}`);
  if (!text.includes(`biddingWindow: ${windowS}s`) || !text.includes(tag)) throw new Error("examples/hello.yaml changed shape");
  return text;
}

/** Polls `fn` every 25 ms (from `notBefore` on); resolves with the wall time (ms) when it first held. */
async function firstTime(what: string, fn: () => Promise<boolean>, timeoutMs: number, notBefore = 0): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  if (notBefore > Date.now()) await sleep(notBefore - Date.now());
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return Date.now();
    } catch (error) {
      last = error;
    }
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

async function marketRun(m: DemoMarket, windowS: number, mode: "tenant" | "daemon", tag: string): Promise<RunFigures> {
  const t: { orderSent?: number; bids: number[]; matched?: number; delivered?: number; ack?: number; ok200?: number } = { bids: [] };
  const client = m.client({
    pollIntervalMs: 100,
    onProgress: (e) => {
      const now = Date.now();
      if (e.type === "transactionSent" && e.method === "createOrder") t.orderSent ??= now;
      if (e.type === "bidPlaced") t.bids.push(now);
    },
  });
  const deployed = await deployManifest(client, { manifest: manifestFor(windowS, tag), source: tag, permit: true });
  const order = deployed.orders[0];
  const orderSent = t.orderSent!;
  const windowEnd = orderSent + windowS * 1000;
  // Hardhat stamps a block with a time a second or two behind the wall clock: the chain closes the window when a
  // block's timestamp reaches closesAt, which is about when the wall clock reaches windowEnd.
  const chainClockBehindMs = orderSent - Number(order.closesAt - BigInt(windowS)) * 1000;

  // The chain as seen from outside, every 25 ms from shortly before the window's end: the first block at or past
  // it, and the match.
  const watchFrom = windowEnd - 1500;
  const limit = (windowS + 60) * 1000;
  const blockAtClose = firstTime("a block at closesAt", async () => (await m.rpc.getBlock("latest"))!.timestamp >= Number(order.closesAt), limit, watchFrom);
  const matchedOnChain = firstTime("the match", async () => Number((await m.market.order(order.orderId)).state) === MATCHED, limit, watchFrom);
  const matches = await waitForMatches(client, { orderIds: [order.orderId], timeoutMs: 60_000, matchWhenWindowCloses: mode === "tenant" });
  if (matches.matched.length !== 1) throw new Error(`order ${order.orderId} not matched: ${JSON.stringify(matches.unmatched)}`);
  const match = matches.matched[0];
  t.matched = await matchedOnChain;
  const blockAt = await blockAtClose;
  const winner = m.daemons.find((d) => d.key.address === match.provider)!;

  const delivery = await deliverWorkload(client, { deploymentId: deployed.deploymentId, manifest: manifestFor(windowS, tag), charterIds: [match.charterId] });
  if (delivery.delivered.length !== 1) throw new Error(`not delivered: ${JSON.stringify(delivery.failed)}`);
  t.delivered = Date.now();
  await Promise.all([
    waitForAcknowledgements(client, { charterIds: [match.charterId], timeoutMs: 60_000 }).then((acks) => {
      if (acks.acknowledged.length !== 1) throw new Error(`not acknowledged: ${JSON.stringify(acks.unacknowledged)}`);
      t.ack = Date.now();
    }),
    firstHttp200(winner, match.charterId).then((at) => (t.ok200 = at)),
  ]).catch(async (error: unknown) => {
    const detail = await charterDetail(winner, match.charterId).catch((e: unknown) => String(e));
    throw new Error(`${(error as Error).message}; ${winner.spec.name}'s charter: ${JSON.stringify(detail)}\n${winner.log.tail(20)}`);
  });

  await closeDeployment(client, { deploymentId: deployed.deploymentId });
  await until("the teardown", async () => (await labelled(m.docker, winner.key.address, match.charterId)).length === 0, 60_000);

  const bidsSeen = t.bids.length >= 2 ? Math.max(...t.bids.slice(0, 2)) : NaN;
  const totalMs = t.ok200! - orderSent;
  return {
    windowS,
    mode,
    matchedBy: match.matchedByUs ? "tenant" : "daemon",
    totalMs,
    overheadMs: totalMs - windowS * 1000,
    chainClockBehindMs,
    parts: {
      orderToBids: bidsSeen - orderSent,
      closeToMatch: t.matched - windowEnd,
      closeToBlock: blockAt - windowEnd,
      blockToMatch: t.matched - blockAt,
      matchToDelivered: t.delivered - t.matched,
      deliveredToAck: t.ack! - t.delivered,
      ackTo200: t.ok200! - t.ack!,
    },
  };
}

/** Wall time of the first 200 from the charter's web endpoint (as soon as the daemon publishes one). */
async function firstHttp200(d: Daemon, charterId: bigint): Promise<number> {
  let url: string | undefined;
  return firstTime("the first HTTP 200", async () => {
    if (!url) {
      const web = (await charterDetail(d, charterId)).endpoints?.find((e) => e.service === "web");
      if (!web) return false;
      url = `http://${web.host}:${web.hostPort}/`;
    }
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status === 200;
  }, 60_000);
}

/** The same workload, no market: DockerExecutor.run → first HTTP 200. */
async function baselineRun(executor: DockerExecutor, i: number): Promise<number> {
  const parsed = parseManifest(manifestFor(2, `baseline-${i}`), { source: "baseline" });
  const charterId = `9000${i}`;
  const start = Date.now();
  const result = await executor.run({ charterId, deploymentId: "0", version: parsed.version, manifest: parsed.manifest });
  const web = result.endpoints.find((e) => e.service === "web")!;
  const at = await firstTime("the baseline's first 200", async () => (await fetch(`http://${web.host}:${web.hostPort}/`, { signal: AbortSignal.timeout(2000) })).status === 200, 60_000);
  await executor.teardown(charterId);
  return at - start;
}

const median = (xs: number[]): number => {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const started = Date.now();
  const quiet = process.env.TOM3_BENCH_VERBOSE ? (line: string) => console.log(line) : () => undefined;
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort(new Error("interrupted by SIGINT")));
  const m = new DemoMarket({ blockIntervalMs: BLOCK_INTERVAL_MS, say: (s) => console.log(`setup: ${s}`), detail: quiet, signal: controller.signal });
  const baseline: number[] = [];
  const runs: RunFigures[] = [];
  try {
    await m.start();
    const executor = new DockerExecutor({
      provider: Wallet.createRandom().address,
      publishAddress: "127.0.0.1",
      pullPolicy: "never",
      namePrefix: "tom3-bench-e2e-",
    });
    await executor.start();
    try {
      for (let i = 0; i < REPEATS; i++) baseline.push(await baselineRun(executor, i));
    } finally {
      for (const c of await executor.list()) await executor.teardown(c.charterId).catch(() => undefined);
      await executor.stop();
    }
    console.log(`baseline (Docker executor, no market) → 200: ${baseline.map((x) => `${x} ms`).join(", ")}`);

    for (const { windowS, mode } of PLAN) {
      for (let i = 0; i < REPEATS; i++) {
        controller.signal.throwIfAborted();
        const run = await marketRun(m, windowS, mode, `bench-${windowS}s-${mode}-${i}`);
        runs.push(run);
        console.log(
          `window ${windowS} s, ${mode} match #${i + 1}: total ${run.totalMs} ms, overhead ${run.overheadMs} ms ` +
            `(matched by the ${run.matchedBy}) ${JSON.stringify(run.parts)}`,
        );
      }
    }
  } catch (error) {
    if (process.env.TOM3_BENCH_VERBOSE) console.error(m.chainOutput().split("\n").filter((l) => !/^\s*eth_/.test(l)).slice(-80).join("\n"));
    throw error;
  } finally {
    await m.stop();
  }

  const base = median(baseline);
  const groups = PLAN.map(({ windowS, mode }) => {
    const rs = runs.filter((r) => r.windowS === windowS && r.mode === mode);
    const part = (k: keyof RunFigures["parts"]) => median(rs.map((r) => r.parts[k]));
    return {
      windowS,
      mode,
      runs: rs.length,
      matchedBy: [...new Set(rs.map((r) => r.matchedBy))].join("/"),
      medianMs: {
        total: median(rs.map((r) => r.totalMs)),
        overhead: median(rs.map((r) => r.overheadMs)),
        orderToBids: part("orderToBids"),
        closeToMatch: part("closeToMatch"),
        closeToBlock: part("closeToBlock"),
        blockToMatch: part("blockToMatch"),
        matchToDelivered: part("matchToDelivered"),
        deliveredToAck: part("deliveredToAck"),
        ackTo200: part("ackTo200"),
      },
      maxOverheadMs: Math.max(...rs.map((r) => r.overheadMs)),
      ratioToBaseline: median(rs.map((r) => r.totalMs)) / base,
      overheadRatioToBaseline: median(rs.map((r) => r.overheadMs)) / base,
    };
  });

  const s = (ms: number) => (Number.isNaN(ms) ? "-" : `${(ms / 1000).toFixed(2)}`);
  console.log(
    `\nEnd to end, createOrder → first HTTP 200 (median of ${REPEATS}; seconds). Embedded hardhat node with interval mining: ` +
      `a block every ${BLOCK_INTERVAL_MS / 1000} s plus automine, real wall-clock windows, no time travel.`,
  );
  const header = ["window", "match by", "total", "overhead", "max ovh", "order→bids", "close→match", "(→block", "block→match)", "match→deliv", "deliv→ack", "ack→200", "× baseline", "ovh × base"];
  const rows = groups.map((g) => [
    `${g.windowS} s`,
    g.mode === "tenant" ? `tenant (${g.matchedBy})` : "daemon only",
    s(g.medianMs.total),
    s(g.medianMs.overhead),
    s(g.maxOverheadMs),
    s(g.medianMs.orderToBids),
    s(g.medianMs.closeToMatch),
    s(g.medianMs.closeToBlock),
    s(g.medianMs.blockToMatch),
    s(g.medianMs.matchToDelivered),
    s(g.medianMs.deliveredToAck),
    s(g.medianMs.ackTo200),
    `${g.ratioToBaseline.toFixed(1)}×`,
    `${g.overheadRatioToBaseline.toFixed(1)}×`,
  ]);
  rows.push(["no market", "Docker executor", s(base), "", "", "", "", "", "", "", "", "", "1.0×", ""]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padStart(widths[i])).join("  "));
  const worst = Math.max(...groups.filter((g) => g.mode === "tenant").map((g) => g.medianMs.overhead));
  console.log(`\nmedian overhead beyond the window: ${s(worst)} s at worst (target < 3 s): ${worst < 3000 ? "met" : "NOT met"}`);

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    chain: { kind: "embedded hardhat node", blockIntervalMs: BLOCK_INTERVAL_MS, automine: true, timeTravel: false },
    repeats: REPEATS,
    targetOverheadMs: 3000,
    baseline: { what: "DockerExecutor.run of examples/hello.yaml → first HTTP 200, no market", runsMs: baseline, medianMs: base },
    windows: groups,
    runs,
    benchSeconds: (Date.now() - started) / 1000,
  };
  mkdirSync(join(__dirname, "results"), { recursive: true });
  writeFileSync(join(__dirname, "results", "e2e.json"), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote bench/results/e2e.json (${results.benchSeconds.toFixed(0)} s)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:e2e failed: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.TOM3_BENCH_VERBOSE && error instanceof Error) console.error(error.stack);
    process.exit(1);
  },
);
