/**
 * What the provider daemon tests share: the market fixture (tenant, three registered providers) and a market side
 * (state, inventory, watcher, bid engine) for one provider, polling the in-process Hardhat chain.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Provider } from "ethers";
import { BidEngine, ChainWatcher, Inventory, LinearPricing, StateStore, createProviderMetrics } from "../../../offchain/provider";
import type { PricingConfig, ProviderMetrics } from "../../../offchain/provider";
import type { Resources } from "../../../offchain/chain/units";
import { ATTR, type MarketFixture } from "../../market/fixtures";

export const BIG_CAPACITY: Resources = { cpuMillis: 64_000, memoryMiB: 262_144, storageMiB: 1_048_576, bandwidthMbps: 10_000 };

/** 2 CPU, 4 GiB, 10 GiB, 100 Mbps (the default order) → 200 + 80 + 10 + 200 = 490, +10 % = 539 wei/s. */
export const PRICING: PricingConfig = { strategy: "linear", cpu: 100n, memory: 20n, storage: 1n, bandwidth: 2n, marginBps: 1000, floor: 10n };
/** The same order at 50 per CPU → 100 + 80 + 10 + 200 = 390, +10 % = 429 wei/s. */
export const CHEAP_PRICING: PricingConfig = { ...PRICING, cpu: 50n };

const made: string[] = [];
process.once("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh data dir, removed when the test process exits. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tom3-provider-"));
  made.push(dir);
  return dir;
}

export interface Side {
  dir: string;
  state: StateStore;
  inventory: Inventory;
  watcher: ChainWatcher;
  engine: BidEngine;
  metrics: ProviderMetrics;
  stop(): Promise<void>;
}

export interface SideOptions {
  dir?: string;
  capacity?: Resources;
  pricing?: PricingConfig;
  attributes?: string[];
  maxConcurrentCharters?: number;
  expiryGraceSeconds?: number;
  provider?: Provider;
  start?: boolean;
}

/** The market side of `signer`'s daemon; started unless `start: false`. */
export async function marketSide(fx: MarketFixture, signer: HardhatEthersSigner, options: SideOptions = {}): Promise<Side> {
  const dir = options.dir ?? tempDir();
  const state = new StateStore(dir, { durable: false });
  const inventory = new Inventory(options.capacity ?? BIG_CAPACITY, state);
  const metrics = createProviderMetrics();
  const market = await fx.market.getAddress();
  const provider = options.provider ?? ethers.provider;
  const watcher = new ChainWatcher({
    provider,
    market,
    self: signer.address,
    deployedAtBlock: 0,
    state,
    confirmations: 0,
    pollIntervalMs: 20,
    metrics,
  });
  const engine = new BidEngine({
    watcher,
    provider,
    signer,
    market,
    self: signer.address,
    inventory,
    state,
    strategy: new LinearPricing(options.pricing ?? PRICING),
    attributes: options.attributes ?? [ATTR.euWest],
    maxConcurrentCharters: options.maxConcurrentCharters,
    expiryGraceSeconds: options.expiryGraceSeconds ?? 30,
    metrics,
  });
  if (options.start !== false) {
    engine.start();
    watcher.start();
    await watcher.waitForBlock(await ethers.provider.getBlockNumber());
  }
  return {
    dir,
    state,
    inventory,
    watcher,
    engine,
    metrics,
    async stop() {
      await watcher.stop();
      await engine.stop();
      state.close();
    },
  };
}

/** Resolves when `check` holds, polling every 20 ms (rejects after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
