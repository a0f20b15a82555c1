/**
 * Provider daemon market-side benchmark (a script, not a test): `npx hardhat run bench/provider.ts`.
 *
 * (a) Burst: 1,000 orders land in a handful of blocks (automine off while the tenant sends them); one provider's
 *     watcher + bid engine (poll 20 ms, durable journal) decides and bids on each. Latency is from the moment the
 *     order's block was mined to the moment the bid transaction was handed to the node; missed = orders without a
 *     bid. Resident memory (rss) is sampled after the burst, with every order still open.
 * (b) Start-up: a fresh data dir against that chain after the orders aged past the 30-day bidding limit and
 *     `TOM3_BENCH_EMPTY_BLOCKS` (default 100,000) more blocks were mined: time to the first "live" status.
 *     Generating 100,000 real orders is beyond this machine's budget; the figure shows the watcher does not scan
 *     history (it only scans the 30-day window for orders, plus its own charters by indexed topic).
 *
 * Prints a table and writes bench/results/provider.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { defaultSpec, marketFixture } from "../test/market/fixtures";
import { marketSide } from "../test/offchain/provider/helpers";

const ORDERS = Number(process.env.TOM3_BENCH_ORDERS ?? 1000);
const EMPTY_BLOCKS = Number(process.env.TOM3_BENCH_EMPTY_BLOCKS ?? 100_000);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const fx = await marketFixture();
  // Capacity for every order of the burst: the figure is about the engine, not about declines.
  const capacity = { cpuMillis: 2000 * ORDERS, memoryMiB: 4096 * ORDERS, storageMiB: 10240 * ORDERS, bandwidthMbps: 100 * ORDERS };
  const side = await marketSide(fx, fx.provider1, { capacity });
  const sentAt = new Map<string, number>();
  side.engine.on("bidSent", (d) => sentAt.set(d.orderId, performance.now()));

  // (a) burst
  const minedAt = new Map<string, number>();
  await ethers.provider.send("evm_setAutomine", [false]);
  const first = (await fx.market.orderCount()) + 1n;
  const spec = defaultSpec({ biddingWindow: 3600n });
  let nonce = await fx.tenant.getNonce();
  const sends = [];
  for (let i = 0; i < ORDERS; i++) sends.push(fx.market.connect(fx.tenant).createOrder(fx.deploymentId, spec, { nonce: nonce++, gasLimit: 400_000 }));
  await Promise.all(sends);
  await ethers.provider.send("evm_setAutomine", [true]);
  const burstStart = performance.now();
  let counted = first - 1n;
  let blocks = 0;
  while (counted < first - 1n + BigInt(ORDERS)) {
    await ethers.provider.send("evm_mine", []);
    blocks++;
    const now = performance.now();
    const count = await fx.market.orderCount();
    for (let id = counted + 1n; id <= count; id++) minedAt.set(String(id), now);
    counted = count;
  }
  const deadline = Date.now() + 300_000;
  while (side.engine.decisions().length < ORDERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const burstSeconds = (performance.now() - burstStart) / 1000;
  const latencies = [...minedAt].filter(([id]) => sentAt.has(id)).map(([id, t]) => sentAt.get(id)! - t).sort((a, b) => a - b);
  const rss = process.memoryUsage().rss;
  const missed = ORDERS - latencies.length;
  const declined = side.engine.decisions().filter((d) => d.kind === "decline").map((d) => (d as { code: string }).code);
  if (declined.length > 0) console.log("declined:", declined.slice(0, 5));
  await side.stop();

  // (b) start-up over old history
  await time.increase(31 * 24 * 3600);
  await ethers.provider.send("hardhat_mine", ["0x" + EMPTY_BLOCKS.toString(16)]);
  const startupBegin = performance.now();
  const fresh = await marketSide(fx, fx.provider1, { capacity });
  const startupMs = performance.now() - startupBegin;
  const head = await ethers.provider.getBlockNumber();
  await fresh.stop();

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    burst: {
      orders: ORDERS,
      blocks,
      bidsSent: latencies.length,
      missed,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
      seconds: burstSeconds,
      bidsPerSecond: latencies.length / burstSeconds,
      rssMiB: rss / 2 ** 20,
      openOrdersAtRss: ORDERS,
    },
    startup: { historicalOrders: ORDERS, emptyBlocksAfter: EMPTY_BLOCKS, chainHead: head, ms: startupMs },
  };
  const rows = [
    ["burst orders", `${ORDERS} in ${blocks} blocks`],
    ["bids sent / missed", `${latencies.length} / ${missed}`],
    ["OrderCreated → bid sent p50", `${results.burst.latencyMs.p50.toFixed(0)} ms`],
    ["OrderCreated → bid sent p99", `${results.burst.latencyMs.p99.toFixed(0)} ms`],
    ["throughput", `${results.burst.bidsPerSecond.toFixed(1)} bids/s`],
    [`rss with ${ORDERS} open orders`, `${results.burst.rssMiB.toFixed(0)} MiB (whole process, chain included)`],
    [`start-up, ${ORDERS} old orders + ${EMPTY_BLOCKS} blocks`, `${startupMs.toFixed(0)} ms`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(48)} ${v}`);
  mkdirSync(join(__dirname, "results"), { recursive: true });
  writeFileSync(join(__dirname, "results", "provider.json"), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
