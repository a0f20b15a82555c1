/**
 * Prometheus metrics of the market side, in a registry of their own (the API serves `registry.metrics()`; tests
 * and several engines in one process do not collide on the global registry).
 */
import { Counter, Gauge, Registry } from "prom-client";

export interface ProviderMetrics {
  registry: Registry;
  ordersSeen: Counter;
  bidsSent: Counter;
  declines: Counter<"code">;
  reservations: Gauge<"state">;
  watcherLag: Gauge;
  watcherBlock: Gauge;
  rpcErrors: Counter;
}

export function createProviderMetrics(registry: Registry = new Registry()): ProviderMetrics {
  return {
    registry,
    ordersSeen: new Counter({ name: "tom3_provider_orders_seen_total", help: "Orders seen", registers: [registry] }),
    bidsSent: new Counter({ name: "tom3_provider_bids_sent_total", help: "Bids sent", registers: [registry] }),
    declines: new Counter({
      name: "tom3_provider_declines_total",
      help: "Orders declined, by reason code",
      labelNames: ["code"],
      registers: [registry],
    }),
    reservations: new Gauge({
      name: "tom3_provider_reservations",
      help: "Inventory reservations, by state (reserved: bid outstanding; committed: charter)",
      labelNames: ["state"],
      registers: [registry],
    }),
    watcherLag: new Gauge({
      name: "tom3_provider_watcher_lag_blocks",
      help: "Blocks between the chain head and the watcher's cursor",
      registers: [registry],
    }),
    watcherBlock: new Gauge({
      name: "tom3_provider_watcher_block",
      help: "Last block the watcher processed",
      registers: [registry],
    }),
    rpcErrors: new Counter({ name: "tom3_provider_rpc_errors_total", help: "Failed RPC polls", registers: [registry] }),
  };
}
