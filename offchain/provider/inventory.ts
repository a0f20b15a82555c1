/**
 * Capacity accounting (Akash's `cluster/inventory`): the bid engine reserves an order's resources *before* it bids,
 * so the provider never offers what it could not run; a reservation becomes a commitment when the order is won
 * (keyed by the charter id, which equals the order id) and is released when the bid loses, the order is cancelled
 * or expires, the deployment closes, or the charter ends. Every change is persisted through the state store, so
 * reservations survive a restart.
 */
import { EventEmitter } from "node:events";
import type { Resources } from "../chain/units";
import type { StateStore } from "./state";

export const RESOURCE_KEYS = ["cpuMillis", "memoryMiB", "storageMiB", "bandwidthMbps"] as const;
export type ResourceKey = (typeof RESOURCE_KEYS)[number];

export type ReleaseReason = "lost" | "cancelled" | "expired" | "deployment-closed" | "charter-closed" | "declined" | "failed";

export interface Reservation {
  orderId: string;
  deploymentId: string;
  resources: Resources;
  state: "reserved" | "committed";
  /** Set once won (equals orderId). */
  charterId?: string;
  reservedAt: number;
}

export type ReserveResult =
  | { ok: true; reservation: Reservation }
  | { ok: false; resource: ResourceKey; requested: number; free: number; capacity: number };

export interface InventoryEvents {
  reserved: [Reservation];
  committed: [Reservation];
  released: [Reservation, ReleaseReason];
}

export class Inventory extends EventEmitter<InventoryEvents> {
  private readonly used: Resources = { cpuMillis: 0, memoryMiB: 0, storageMiB: 0, bandwidthMbps: 0 };

  constructor(
    readonly capacity: Resources,
    private readonly state: StateStore,
  ) {
    super();
    for (const [, reservation] of state.all<Reservation>("reservations")) this.add(reservation.resources, 1);
  }

  /** Resources not reserved or committed. */
  free(): Resources {
    const out = { ...this.capacity };
    for (const key of RESOURCE_KEYS) out[key] = this.capacity[key] - this.used[key];
    return out;
  }

  /** What is held, reserved or committed. */
  usage(): Resources {
    return { ...this.used };
  }

  get(orderId: bigint | string): Reservation | undefined {
    return this.state.get<Reservation>("reservations", String(orderId));
  }

  list(): Reservation[] {
    return this.state.all<Reservation>("reservations").map(([, r]) => r);
  }

  /** Reservations that await an outcome, and charters this provider runs. */
  counts(): { reserved: number; committed: number } {
    let reserved = 0;
    let committed = 0;
    for (const r of this.list()) {
      if (r.state === "reserved") reserved++;
      else committed++;
    }
    return { reserved, committed };
  }

  /**
   * Hold `resources` for `orderId`. Refused (nothing held) when any resource would go beyond capacity: the
   * inventory never over-commits. Reserving an order already held returns the existing reservation.
   */
  reserve(orderId: bigint | string, deploymentId: bigint | string, resources: Resources): ReserveResult {
    const existing = this.get(orderId);
    if (existing) return { ok: true, reservation: existing };
    const free = this.free();
    for (const key of RESOURCE_KEYS) {
      if (resources[key] > free[key]) {
        return { ok: false, resource: key, requested: resources[key], free: free[key], capacity: this.capacity[key] };
      }
    }
    const reservation: Reservation = {
      orderId: String(orderId),
      deploymentId: String(deploymentId),
      resources: { ...resources },
      state: "reserved",
      reservedAt: Date.now(),
    };
    this.add(resources, 1);
    this.state.put("reservations", reservation.orderId, reservation);
    this.emit("reserved", reservation);
    return { ok: true, reservation };
  }

  /**
   * The order was won: its reservation now backs charter `charterId`. When nothing was reserved (a charter found at
   * start-up that the state does not know), `adopt` gives the order's resources: the charter runs whatever the
   * capacity says, so a commitment is never refused.
   */
  commit(orderId: bigint | string, charterId: bigint | string, adopt?: { deploymentId: bigint | string; resources: Resources }): Reservation | undefined {
    let reservation = this.get(orderId);
    if (!reservation) {
      if (!adopt) return undefined;
      reservation = {
        orderId: String(orderId),
        deploymentId: String(adopt.deploymentId),
        resources: { ...adopt.resources },
        state: "reserved",
        reservedAt: Date.now(),
      };
      this.add(adopt.resources, 1);
    }
    if (reservation.state === "committed") return reservation;
    const committed: Reservation = { ...reservation, state: "committed", charterId: String(charterId) };
    this.state.put("reservations", committed.orderId, committed);
    this.emit("committed", committed);
    return committed;
  }

  /** Give back what `id` (an order id, or a charter id: the same number) holds. Returns what was released. */
  release(id: bigint | string, reason: ReleaseReason): Reservation | undefined {
    const reservation = this.get(id);
    if (!reservation) return undefined;
    this.add(reservation.resources, -1);
    this.state.put("reservations", reservation.orderId, undefined);
    this.emit("released", reservation, reason);
    return reservation;
  }

  /** Release everything held for a deployment (it closed). */
  releaseDeployment(deploymentId: bigint | string, reason: ReleaseReason = "deployment-closed"): Reservation[] {
    const released: Reservation[] = [];
    for (const r of this.list()) {
      if (r.deploymentId === String(deploymentId)) {
        const out = this.release(r.orderId, reason);
        if (out) released.push(out);
      }
    }
    return released;
  }

  private add(resources: Resources, sign: 1 | -1): void {
    for (const key of RESOURCE_KEYS) this.used[key] += sign * resources[key];
  }
}
