/**
 * Pricing strategies (Akash's bidengine: the strategy is swappable). A strategy prices an order in TOM3 wei per
 * second for the whole order, or declines it with a stable code and a sentence. `linear` is the default;
 * `registerPricingStrategy` adds others by name, which the config's `pricing.strategy` then selects.
 */
import type { Resources } from "../chain/units";

/** What a strategy sees of an order. */
export interface PricedOrder {
  orderId: bigint;
  resources: Resources;
  maxPricePerSecond: bigint;
  duration: bigint;
  attributes: readonly string[];
}

/** Unit prices in wei per second (config `pricing`). */
export interface PricingConfig {
  strategy: string;
  /** per CPU (1000 millicores) */
  cpu: bigint;
  /** per GiB of memory */
  memory: bigint;
  /** per GiB of storage */
  storage: bigint;
  /** per Mbps of bandwidth */
  bandwidth: bigint;
  /** added on top, in basis points */
  marginBps: number;
  /** the lowest price ever bid */
  floor: bigint;
}

export interface PriceBreakdown {
  cpu: bigint;
  memory: bigint;
  storage: bigint;
  bandwidth: bigint;
  /** sum of the four, before margin */
  base: bigint;
  margin: bigint;
  /** true when the floor raised the price */
  floored: boolean;
}

export type PriceResult =
  | { kind: "price"; price: bigint; breakdown: PriceBreakdown }
  | { kind: "decline"; code: string; reason: string };

export interface PricingStrategy {
  readonly name: string;
  price(order: PricedOrder): PriceResult;
}

/** Division rounding up: a provider never prices below its unit prices. */
function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * sum(resource × unit price) × (1 + margin), at least the floor; declined when above the order's limit (the
 * contract would refuse it with MarketPriceAboveLimit anyway, so no reservation or call is wasted on it).
 */
export class LinearPricing implements PricingStrategy {
  readonly name = "linear";
  constructor(private readonly config: PricingConfig) {}

  price(order: PricedOrder): PriceResult {
    const r = order.resources;
    const c = this.config;
    const cpu = ceilDiv(BigInt(r.cpuMillis) * c.cpu, 1000n);
    const memory = ceilDiv(BigInt(r.memoryMiB) * c.memory, 1024n);
    const storage = ceilDiv(BigInt(r.storageMiB) * c.storage, 1024n);
    const bandwidth = BigInt(r.bandwidthMbps) * c.bandwidth;
    const base = cpu + memory + storage + bandwidth;
    const margin = ceilDiv(base * BigInt(c.marginBps), 10_000n);
    let price = base + margin;
    const floored = price < c.floor;
    if (floored) price = c.floor;
    if (price === 0n) price = 1n; // the contract refuses a zero price (MarketZeroPrice)
    if (price > order.maxPricePerSecond) {
      return {
        kind: "decline",
        code: "ProviderPriceAboveLimit",
        reason: `our price ${price} wei/s is above the order's limit ${order.maxPricePerSecond} wei/s`,
      };
    }
    return { kind: "price", price, breakdown: { cpu, memory, storage, bandwidth, base, margin, floored } };
  }
}

type StrategyFactory = (config: PricingConfig) => PricingStrategy;

const strategies = new Map<string, StrategyFactory>([["linear", (config) => new LinearPricing(config)]]);

/** Make a strategy available under `name` for the config's `pricing.strategy`. */
export function registerPricingStrategy(name: string, factory: StrategyFactory): void {
  strategies.set(name, factory);
}

export function pricingStrategyNames(): string[] {
  return [...strategies.keys()];
}

/** The strategy the config names. */
export function createPricingStrategy(config: PricingConfig): PricingStrategy {
  const factory = strategies.get(config.strategy);
  if (!factory) {
    throw new Error(`unknown pricing strategy "${config.strategy}" (known: ${pricingStrategyNames().join(", ")})`);
  }
  return factory(config);
}
