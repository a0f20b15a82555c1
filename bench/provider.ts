/**
 * Provider daemon market-side benchmark (a script, not a test): `npm run bench:provider`.
 *
 * The chain is a `hardhat node` child process (test/harness/local-chain.ts, the suite deployed by scripts/deploy.ts),
 * so this process holds only the daemon's market side: state (durable journal, as the daemon runs it), inventory,
 * chain watcher and bid engine sending through the daemon's `SerialSigner`, wired as daemon.ts wires them (the
 * executor, p2p node and API see no orders and are left out). Orders are real Market orders, created through the
 * test-only `OrderBatcher` contract (many `createOrder` calls per transaction, the tenant's operator).
 *
 * (a) Burst: 1,000 orders land in one or two blocks; latency is from the moment their block was mined to the moment
 *     the bid transaction was accepted by the node; missed = orders without a bid.
 * (b) Memory: the same daemon goes on to 10,000 open orders it has decided (capacity for 5,000: bids, then capacity
 *     declines); rss and heap after a GC, against the same daemon idle with 0 orders (measured before the burst).
 * (c) Start-up: the chain is filled up to 100,000 orders, time moves past the longest bidding window (30 days), and
 *     a daemon starts on a fresh data dir (no cursor), then restarts on it (cursor): time to "live", and the RPC
 *     requests and blocks of eth_getLogs it made, against the same two start-ups on the chain before any order.
 *
 * Environment: TOM3_BENCH_BURST (1,000), TOM3_BENCH_OPEN (10,000), TOM3_BENCH_HISTORY (100,000),
 * TOM3_BENCH_DURABLE (1; 0 turns fsync off). Prints a table and writes bench/results/provider.json.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Contract, ContractFactory, FetchRequest, JsonRpcProvider, MaxUint256, NonceManager, Wallet, id } from "ethers";
import type { ContractTransactionResponse } from "ethers";
import hre from "hardhat";
import { marketAbi, providerRegistryAbi, tom3TokenAbi } from "../offchain/chain/abis";
import type { Resources } from "../offchain/chain/units";
import { BidEngine, ChainWatcher, Inventory, LinearPricing, StateStore, createProviderMetrics } from "../offchain/provider";
import { chainProvider } from "../offchain/provider/daemon";
import { SerialSigner } from "../offchain/provider/signer";
import { MAX_BIDDING_WINDOW_SECONDS } from "../offchain/provider/watcher";
import { startLocalChain, type LocalChain } from "../test/harness/local-chain";
import { PRICING, tempDir } from "../test/offchain/provider/helpers";

const BURST = Number(process.env.TOM3_BENCH_BURST ?? 1_000);
const OPEN = Number(process.env.TOM3_BENCH_OPEN ?? 10_000);
const HISTORY = Number(process.env.TOM3_BENCH_HISTORY ?? 100_000);
const DURABLE = process.env.TOM3_BENCH_DURABLE !== "0";
/** Orders per OrderBatcher transaction: about 11 M gas, under the 2^24 per-transaction cap of Osaka (EIP-7825). */
const PER_TX = 100;
const BLOCK_GAS_LIMIT = 1_000_000_000;
const REGION = id("region=eu-west");
const ONE = 10n ** 18n;
const RESOURCES: Resources = { cpuMillis: 2000, memoryMiB: 4096, storageMiB: 10240, bandwidthMbps: 100 };
/** Priced 539 wei/s by PRICING; a one-day window keeps burst orders open for the whole run. */
const SPEC = { resources: RESOURCES, maxPricePerSecond: 1000n, duration: 3600n, biddingWindow: 86_400n, minReputation: 0, attributes: [REGION] };
/** History needs no attribute: two storage slots fewer per order, so it is created faster. */
const HISTORY_SPEC = { ...SPEC, attributes: [] as string[] };
/** Room for half the open orders: the other half is declined for capacity. */
const BIDS = Math.floor(OPEN / 2);
const CAPACITY: Resources = {
  cpuMillis: RESOURCES.cpuMillis * BIDS,
  memoryMiB: RESOURCES.memoryMiB * BIDS,
  storageMiB: RESOURCES.storageMiB * BIDS,
  bandwidthMbps: RESOURCES.bandwidthMbps * BIDS,
};

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const began = performance.now();
/** Where a long run is, on stderr. */
function progress(what: string): void {
  console.error(`[${((performance.now() - began) / 1000).toFixed(0)} s] ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A JSON-RPC provider as the daemon makes it, counting its requests and the blocks its eth_getLogs cover. */
function daemonProvider(rpcUrl: string) {
  const provider = chainProvider(rpcUrl);
  const counts = { requests: 0, getLogs: 0, getLogsBlocks: 0 };
  void provider.on("debug", (event: { action: string; payload?: unknown }) => {
    if (event.action !== "sendRpcPayload") return;
    const payloads = (Array.isArray(event.payload) ? event.payload : [event.payload]) as { method: string; params: { fromBlock: string; toBlock: string }[] }[];
    for (const p of payloads) {
      counts.requests++;
      if (p.method !== "eth_getLogs") continue;
      counts.getLogs++;
      const { fromBlock, toBlock } = p.params[0];
      if (fromBlock?.startsWith("0x") && toBlock?.startsWith("0x")) counts.getLogsBlocks += Number(toBlock) - Number(fromBlock) + 1;
    }
  });
  return { provider, counts };
}

interface Side {
  dir: string;
  engine: BidEngine;
  watcher: ChainWatcher;
  inventory: Inventory;
  counts: { requests: number; getLogs: number; getLogsBlocks: number };
  stop(): Promise<void>;
}

/** The daemon's market side on `dir`, started; resolves when the watcher is live at the chain's head. */
async function startSide(chain: LocalChain, providerKey: string, dir: string): Promise<Side> {
  const { provider, counts } = daemonProvider(chain.rpcUrl);
  const wallet = new Wallet(providerKey, provider);
  const state = new StateStore(join(dir, "state"), { durable: DURABLE });
  const market = chain.deployment.contracts.market;
  const watcher = new ChainWatcher({
    provider,
    market,
    self: wallet.address,
    deployedAtBlock: chain.deployment.deployedAtBlock,
    state,
    confirmations: 0,
    pollIntervalMs: 20,
  });
  const inventory = new Inventory(CAPACITY, state);
  const engine = new BidEngine({
    watcher,
    provider,
    signer: new SerialSigner(wallet),
    market,
    self: wallet.address,
    inventory,
    state,
    strategy: new LinearPricing(PRICING),
    attributes: [REGION],
    metrics: createProviderMetrics(),
  });
  engine.start();
  watcher.start();
  const head = await provider.getBlockNumber();
  await watcher.waitForBlock(head, 120_000);
  return {
    dir,
    engine,
    watcher,
    inventory,
    counts,
    async stop() {
      await watcher.stop();
      await engine.stop();
      state.close();
      provider.destroy();
    },
  };
}

/** Start-up of a fresh data dir (no cursor), then of a restart on it (cursor). */
async function measureStartup(chain: LocalChain, providerKey: string) {
  const dir = tempDir();
  const timed = async () => {
    const begin = performance.now();
    const side = await startSide(chain, providerKey, dir);
    const ms = performance.now() - begin;
    const counts = { ...side.counts };
    await side.stop();
    return { ms, rpcRequests: counts.requests, getLogs: counts.getLogs, getLogsBlocks: counts.getLogsBlocks };
  };
  const first = await timed();
  const restart = await timed();
  rmSync(dir, { recursive: true, force: true });
  return { first, restart };
}

function memory() {
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rssMiB: rss / 2 ** 20, heapUsedMiB: heapUsed / 2 ** 20, rss, heapUsed };
}

async function main() {
  const runStart = performance.now();
  const chain = await startLocalChain({ timeoutMs: 120_000 });
  try {
    await run(chain, runStart);
  } finally {
    await chain.stop();
  }
}

async function run(chain: LocalChain, runStart: number) {
  // The tenant's side is idle for many seconds while the daemon bids: a kept-alive socket the node has closed in
  // the meantime would fail the next request ("socket hang up"), so the tenant opens a connection per request.
  const request = new FetchRequest(chain.rpcUrl);
  request.getUrlFunc = FetchRequest.createGetUrlFunc({ agent: new Agent({ keepAlive: false }) });
  const rpc = new JsonRpcProvider(request, 31337, { staticNetwork: true, cacheTimeout: -1, batchStallTime: 0 });
  rpc.pollingInterval = 50;
  // The node's request log (every call, every transaction decoded) is for people watching a terminal.
  await rpc.send("hardhat_setLoggingEnabled", [false]);
  await rpc.send("evm_setBlockGasLimit", ["0x" + BLOCK_GAS_LIMIT.toString(16)]);
  const [deployerKey, tenantKey, providerKey] = chain.accounts.map((a) => a.privateKey);
  const deployer = new NonceManager(new Wallet(deployerKey, rpc));
  const tenant = new NonceManager(new Wallet(tenantKey, rpc));
  const providerWallet = new Wallet(providerKey, rpc);
  const { market: marketAddress, registry: registryAddress, token: tokenAddress } = chain.deployment.contracts;
  const token = new Contract(tokenAddress, tom3TokenAbi, deployer);
  const market = new Contract(marketAddress, marketAbi, tenant);
  const wait = async (tx: Promise<ContractTransactionResponse>) => (await tx).wait();

  // Setup: a tenant with a deposit, a deployment and the batcher as its operator; a registered provider.
  await wait(token.transfer(await tenant.getAddress(), 1_000n * ONE));
  await wait(token.transfer(providerWallet.address, 100n * ONE));
  await wait((token.connect(tenant) as Contract).approve(marketAddress, MaxUint256));
  await wait(market.deposit(1_000n * ONE));
  await wait(market.createDeployment(id("bench manifest")));
  const deploymentId = (await market.deploymentCount()) as bigint;
  const artifact = await hre.artifacts.readArtifact("OrderBatcher");
  const batcher = (await new ContractFactory(artifact.abi, artifact.bytecode, tenant).deploy(marketAddress)) as Contract;
  await batcher.waitForDeployment();
  await wait(market.approveOperator(await batcher.getAddress(), 2n ** 127n, 2n ** 63n));
  const registry = new Contract(registryAddress, providerRegistryAbi, providerWallet);
  await wait(registry.register("/ip4/127.0.0.1/tcp/4001", [REGION]));
  await wait((new Contract(tokenAddress, tom3TokenAbi, providerWallet)).approve(marketAddress, MaxUint256));
  await wait((new Contract(marketAddress, marketAbi, providerWallet)).deposit(100n * ONE));

  const batch = (n: number, spec = SPEC) => batcher.createOrders(deploymentId, spec, n, { gasLimit: 16_000_000 }) as Promise<ContractTransactionResponse>;
  /**
   * `count` more orders in transactions of PER_TX, one after the other (automine: one block each). Counted on chain,
   * so a request lost to a dropped connection (seen on this loaded box) is simply sent again.
   */
  const createOrders = async (count: number, spec = SPEC) => {
    const target = ((await market.orderCount()) as bigint) + BigInt(count);
    let reported = 0n;
    for (;;) {
      const have = (await market.orderCount()) as bigint;
      if (have >= target) return;
      if (have - reported >= 10_000n) {
        progress(`${have} orders on chain`);
        reported = have;
      }
      try {
        await batch(Number(target - have < BigInt(PER_TX) ? target - have : BigInt(PER_TX)), spec);
      } catch (error) {
        if ((error as { code?: string }).code === "CALL_EXCEPTION") throw error;
        progress(`order creation retried after: ${String(error).slice(0, 120)}`);
        tenant.reset();
        await sleep(500);
      }
    }
  };

  // (c, baseline) start-up on the chain with no order
  const startupEmpty = await measureStartup(chain, providerKey);

  // (b, baseline) the daemon idle with 0 orders
  const dir = tempDir();
  const side = await startSide(chain, providerKey, dir);
  await sleep(500);
  const idle = memory();

  progress("baseline measured");
  // (a) burst
  const sentAt = new Map<string, number>();
  side.engine.on("bidSent", (d) => sentAt.set(d.orderId, performance.now()));
  const minedAt = new Map<string, number>();
  const first = ((await market.orderCount()) as bigint) + 1n;
  await rpc.send("evm_setAutomine", [false]);
  const burstTxs: Promise<ContractTransactionResponse>[] = [];
  for (let done = 0; done < BURST; done += PER_TX) burstTxs.push(batch(Math.min(PER_TX, BURST - done)));
  await Promise.all(burstTxs);
  await rpc.send("evm_setAutomine", [true]);
  const burstStart = performance.now();
  let counted = first - 1n;
  let blocks = 0;
  while (counted < first - 1n + BigInt(BURST)) {
    await rpc.send("evm_mine", []);
    blocks++;
    const now = performance.now();
    const count = (await market.orderCount()) as bigint;
    for (let i = counted + 1n; i <= count; i++) minedAt.set(String(i), now);
    counted = count;
  }
  const decided = () => side.engine.decisions().filter((d) => d.kind === "decline" || d.bidId !== undefined || d.outcome !== undefined).length;
  let deadline = Date.now() + 300_000;
  while (decided() < BURST && Date.now() < deadline) await sleep(20);
  const burstSeconds = (performance.now() - burstStart) / 1000;
  const latencies = [...minedAt].filter(([i]) => sentAt.has(i)).map(([i, t]) => sentAt.get(i)! - t).sort((a, b) => a - b);
  const missed = BURST - latencies.length;
  const burstDeclines = side.engine.decisions().filter((d) => d.kind === "decline");
  if (burstDeclines.length > 0) console.log("declined in the burst:", burstDeclines.slice(0, 3));

  progress("burst done");
  // (b) up to OPEN decided open orders
  const openStart = performance.now();
  await createOrders(OPEN - BURST);
  deadline = Date.now() + 600_000;
  while (decided() < OPEN && Date.now() < deadline) await sleep(50);
  const openSeconds = (performance.now() - openStart) / 1000;
  await sleep(500);
  const decisions = side.engine.decisions();
  const held = memory();
  const bids = decisions.filter((d) => d.kind === "bid").length;
  const declines = decisions.length - bids;
  const failed = decisions.filter((d) => d.kind === "bid" && d.outcome === "failed").length;
  await side.stop();
  rmSync(dir, { recursive: true, force: true });

  progress("open orders measured");
  // (c) history: up to HISTORY orders, all past the longest bidding window
  const historyStart = performance.now();
  const existing = Number(await market.orderCount());
  await createOrders(HISTORY - existing, HISTORY_SPEC);
  const historySeconds = (performance.now() - historyStart) / 1000;
  const orders = Number(await market.orderCount());
  await rpc.send("evm_increaseTime", [MAX_BIDDING_WINDOW_SECONDS + 86_400]);
  await rpc.send("evm_mine", []);
  const head = await rpc.getBlockNumber();
  progress("history created");
  const startupHistory = await measureStartup(chain, providerKey);
  rpc.destroy();

  const perOrder = (a: number, b: number) => (a - b) / OPEN;
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    chain: "hardhat node child process (test/harness/local-chain.ts), automine",
    daemon: { parts: "state + inventory + watcher + bid engine + SerialSigner", pollIntervalMs: 20, durableJournal: DURABLE },
    burst: {
      orders: BURST,
      blocks,
      bidsSent: latencies.length,
      missed,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) },
      seconds: burstSeconds,
      bidsPerSecond: latencies.length / burstSeconds,
    },
    memory: {
      openOrders: OPEN,
      bids,
      declines,
      failedBids: failed,
      decideSeconds: openSeconds,
      baseline: { openOrders: 0, rssMiB: idle.rssMiB, heapUsedMiB: idle.heapUsedMiB },
      held: { rssMiB: held.rssMiB, heapUsedMiB: held.heapUsedMiB },
      rssRatio: held.rss / idle.rss,
      heapRatio: held.heapUsed / idle.heapUsed,
      bytesPerOrder: { rss: perOrder(held.rss, idle.rss), heap: perOrder(held.heapUsed, idle.heapUsed) },
    },
    startup: {
      historicalOrders: orders,
      historyCreation: { seconds: historySeconds, ordersPerSecond: (HISTORY - existing) / historySeconds, ordersPerTransaction: PER_TX },
      chainHead: head,
      empty: startupEmpty,
      history: startupHistory,
      ratio: { first: startupHistory.first.ms / startupEmpty.first.ms, restart: startupHistory.restart.ms / startupEmpty.restart.ms },
      targetMs: 2000,
      pass: startupHistory.first.ms < 2000 && startupHistory.restart.ms < 2000,
    },
    runSeconds: (performance.now() - runStart) / 1000,
  };
  const s = results.startup;
  const rows: [string, string][] = [
    ["burst orders", `${BURST} in ${blocks} block(s)`],
    ["bids sent / missed", `${latencies.length} / ${missed}`],
    ["OrderCreated → bid sent p50", `${results.burst.latencyMs.p50.toFixed(0)} ms`],
    ["OrderCreated → bid sent p99", `${results.burst.latencyMs.p99.toFixed(0)} ms`],
    ["throughput", `${results.burst.bidsPerSecond.toFixed(0)} bids/s`],
    [`open orders decided`, `${OPEN}: ${bids} bids (${failed} failed), ${declines} declines, in ${openSeconds.toFixed(1)} s`],
    ["rss, 0 → open orders", `${idle.rssMiB.toFixed(0)} → ${held.rssMiB.toFixed(0)} MiB (×${results.memory.rssRatio.toFixed(2)}), ${results.memory.bytesPerOrder.rss.toFixed(0)} B/order`],
    ["heap used, 0 → open orders", `${idle.heapUsedMiB.toFixed(0)} → ${held.heapUsedMiB.toFixed(0)} MiB (×${results.memory.heapRatio.toFixed(2)}), ${results.memory.bytesPerOrder.heap.toFixed(0)} B/order`],
    ["history created", `${orders} orders, ${(HISTORY - existing) / historySeconds > 0 ? ((HISTORY - existing) / historySeconds).toFixed(0) : "-"} orders/s (${PER_TX}/tx)`],
    ["start-up, empty chain: first / restart", `${s.empty.first.ms.toFixed(0)} / ${s.empty.restart.ms.toFixed(0)} ms`],
    [`start-up, ${orders} old orders: first / restart`, `${s.history.first.ms.toFixed(0)} / ${s.history.restart.ms.toFixed(0)} ms (×${s.ratio.first.toFixed(2)} / ×${s.ratio.restart.toFixed(2)}; target < 2000: ${s.pass ? "pass" : "FAIL"})`],
    ["  RPC requests (getLogs, blocks): first", `${s.history.first.rpcRequests} (${s.history.first.getLogs}, ${s.history.first.getLogsBlocks} of ${head})`],
    ["  RPC requests (getLogs, blocks): restart", `${s.history.restart.rpcRequests} (${s.history.restart.getLogs}, ${s.history.restart.getLogsBlocks})`],
    ["whole run", `${results.runSeconds.toFixed(0)} s`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(48)} ${v}`);
  mkdirSync(join(__dirname, "results"), { recursive: true });
  writeFileSync(join(__dirname, "results", "provider.json"), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
