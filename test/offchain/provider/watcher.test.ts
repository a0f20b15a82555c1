import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JsonRpcProvider, Network, type Provider } from "ethers";
import { createOrder, marketFixture, type MarketFixture } from "../../market/fixtures";
import { ChainWatcher, StateStore, type MarketEvent, type WatcherStatus } from "../../../offchain/provider";
import { eventually, tempDir } from "./helpers";

/** A JSON-RPC proxy on 127.0.0.1 in front of the in-process chain, which a test can stop and start again. */
class RpcProxy {
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", async () => {
        const call = JSON.parse(body) as { id: number; method: string; params?: unknown[] } | { id: number; method: string; params?: unknown[] }[];
        const one = async (c: { id: number; method: string; params?: unknown[] }) => {
          try {
            return { jsonrpc: "2.0", id: c.id, result: await hre.network.provider.request({ method: c.method, params: c.params ?? [] }) };
          } catch (error) {
            return { jsonrpc: "2.0", id: c.id, error: { code: -32000, message: (error as Error).message } };
          }
        };
        const out = Array.isArray(call) ? await Promise.all(call.map(one)) : await one(call);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(out));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe("provider chain watcher", function () {
  let fx: MarketFixture;
  let watcher: ChainWatcher | undefined;
  let state: StateStore | undefined;

  beforeEach(async function () {
    fx = await loadFixture(marketFixture);
  });

  afterEach(async function () {
    await watcher?.stop();
    state?.close();
    watcher = undefined;
  });

  async function startWatcher(provider: Provider = ethers.provider, extra: Partial<ConstructorParameters<typeof ChainWatcher>[0]> = {}) {
    state = new StateStore(tempDir(), { durable: false });
    watcher = new ChainWatcher({
      provider,
      market: await fx.market.getAddress(),
      self: fx.provider1.address,
      deployedAtBlock: 0,
      state,
      confirmations: 0,
      pollIntervalMs: 20,
      ...extra,
    });
    const events: MarketEvent[] = [];
    watcher.subscribe((batch) => void events.push(...batch));
    watcher.start();
    await watcher.waitForBlock(await ethers.provider.getBlockNumber());
    return events;
  }

  it("loads only open orders at first start, then follows new events in order", async function () {
    const cancelled = await createOrder(fx);
    const open = await createOrder(fx);
    await fx.market.connect(fx.tenant).cancelOrder(cancelled);
    const events = await startWatcher();
    expect(events.filter((e) => e.type === "OrderCreated").map((e) => (e as { orderId: bigint }).orderId)).to.deep.equal([open]);
    expect(events.every((e) => e.replayed)).to.equal(true);

    const next = await createOrder(fx);
    await fx.market.connect(fx.provider1).placeBid(next, 900n, { cpuMillis: 2000, memoryMiB: 4096, storageMiB: 10240, bandwidthMbps: 100 });
    await eventually(() => events.some((e) => e.type === "BidPlaced"), 10_000, "BidPlaced");
    const live = events.filter((e) => !e.replayed).map((e) => e.type);
    expect(live).to.deep.equal(["OrderCreated", "BidPlaced"]);
  });

  it("rewinds on a reorg and delivers the new chain's events", async function () {
    const events = await startWatcher();
    const reorgs: { from: number; to: number }[] = [];
    watcher!.on("reorg", (r) => reorgs.push(r));
    const snapshot = await ethers.provider.send("evm_snapshot", []);
    const orphan = await createOrder(fx);
    await eventually(() => events.some((e) => e.type === "OrderCreated" && e.orderId === orphan), 10_000, "orphan order");
    const orphanBlock = watcher!.status.cursor!;

    await ethers.provider.send("evm_revert", [snapshot]);
    await ethers.provider.send("hardhat_mine", ["0x3"]); // a different chain, longer than the old one
    await eventually(() => reorgs.length > 0, 10_000, "reorg");
    expect(reorgs[0].from).to.equal(orphanBlock.block);
    expect(reorgs[0].to).to.be.lessThan(orphanBlock.block);
    const replacement = await createOrder(fx, undefined, fx.otherTenant, await (async () => {
      await fx.market.connect(fx.otherTenant).createDeployment(ethers.id("other"));
      return fx.market.deploymentCount();
    })());
    await eventually(
      () => events.some((e) => e.type === "OrderCreated" && e.tenant === fx.otherTenant.address && e.orderId === replacement),
      10_000,
      "the new chain's order",
    );
    expect(watcher!.status.cursor!.hash).to.equal((await ethers.provider.getBlock(watcher!.status.cursor!.block))!.hash);
  });

  it("survives an RPC drop: reports it, backs off, and catches up", async function () {
    const proxy = new RpcProxy();
    await proxy.start();
    const provider = new JsonRpcProvider(`http://127.0.0.1:${proxy.port}`, undefined, {
      staticNetwork: Network.from(31337),
      batchMaxCount: 1,
    });
    try {
      const events = await startWatcher(provider, { rpcTimeoutMs: 1_000, backoff: { initialMs: 20, maxMs: 200 } });
      const statuses: WatcherStatus[] = [];
      watcher!.on("status", (s) => statuses.push(s));
      await proxy.stop();
      const orderId = await createOrder(fx);
      await eventually(() => statuses.some((s) => s.state === "degraded" && s.consecutiveFailures >= 2), 10_000, "degraded");
      expect(statuses.find((s) => s.state === "degraded")!.lastError).to.be.a("string");
      await proxy.start();
      await eventually(() => events.some((e) => e.type === "OrderCreated" && e.orderId === orderId), 15_000, "catch-up");
      expect(watcher!.status.state).to.equal("live");
      expect(watcher!.status.consecutiveFailures).to.equal(0);
    } finally {
      await watcher?.stop();
      provider.destroy();
      await proxy.stop();
    }
  });
});
