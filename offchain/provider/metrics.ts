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
  charters: Gauge<"phase">;
  claims: Counter;
  claimedWei: Counter;
  workloadRefusals: Counter<"code">;
  p2pRequests: Counter<"type" | "code">;
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
    charters: new Gauge({
      name: "tom3_provider_charters",
      help: "Charters this provider holds, by phase (waiting, starting, running, closed, failed)",
      labelNames: ["phase"],
      registers: [registry],
    }),
    claims: new Counter({ name: "tom3_provider_claims_total", help: "Payment claims mined (PaymentClaimed)", registers: [registry] }),
    claimedWei: new Counter({
      name: "tom3_provider_claimed_wei_total",
      help: "TOM3 wei claimed (the PaymentClaimed amounts, before the protocol fee)",
      registers: [registry],
    }),
    workloadRefusals: new Counter({
      name: "tom3_provider_workload_verification_failures_total",
      help: "Workloads refused by the charter manager, by code (VERSION_MISMATCH: not the on-chain version; NO_MATCHING_GROUP: no placement group matches the order)",
      labelNames: ["code"],
      registers: [registry],
    }),
    p2pRequests: new Counter({
      name: "tom3_provider_p2p_requests_total",
      help: "Inbound /tom3/manifest/1.0.0 requests by type (push, fetch) and answer (OK or the refusal code: VERSION_MISMATCH, NOT_A_PARTICIPANT, TOO_LARGE, ...)",
      labelNames: ["type", "code"],
      registers: [registry],
    }),
  };
}
