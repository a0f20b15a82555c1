/**
 * The Market's records (deployment, order, charter) as plain typed objects, enums by name: what the actions read
 * and what they return.
 */
import { CHARTER_STATES, CLOSE_REASONS, ORDER_STATES, enumName } from "../chain/enums";
import type { Tom3Client } from "./client";

export type OrderStateName = (typeof ORDER_STATES)[number];
export type CharterStateName = (typeof CHARTER_STATES)[number];
export type CloseReasonName = (typeof CLOSE_REASONS)[number];

/** Resources in on-chain units (Resources of IMarket.sol). */
export interface ResourcesRecord {
  cpuMillis: number;
  memoryMiB: number;
  storageMiB: number;
  bandwidthMbps: number;
}

export interface DeploymentRecord {
  deploymentId: bigint;
  owner: string;
  version: string;
  createdAt: bigint;
  /** 0 while open. */
  closedAt: bigint;
}

export interface OrderRecord {
  orderId: bigint;
  deploymentId: bigint;
  tenant: string;
  state: OrderStateName;
  resources: ResourcesRecord;
  maxPricePerSecond: bigint;
  duration: bigint;
  createdAt: bigint;
  closesAt: bigint;
  minReputation: number;
  bidBond: bigint;
  /** 0 while no bid. */
  bestBidId: bigint;
  bestPrice: bigint;
  attributes: string[];
}

export interface CharterRecord {
  charterId: bigint;
  tenant: string;
  provider: string;
  deploymentId: bigint;
  orderId: bigint;
  bidId: bigint;
  pricePerSecond: bigint;
  duration: bigint;
  acknowledgeBy: bigint;
  acknowledgedAt: bigint;
  endsAt: bigint;
  claimed: bigint;
  feeBps: number;
  state: CharterStateName;
  closeReason: CloseReasonName;
}

type Struct = Record<string, unknown> & { toObject?: (deep?: boolean) => Record<string, unknown> };

function plain(value: unknown): Record<string, unknown> {
  const struct = value as Struct;
  return typeof struct.toObject === "function" ? struct.toObject() : struct;
}

function resources(value: unknown): ResourcesRecord {
  const r = plain(value);
  return {
    cpuMillis: Number(r.cpuMillis),
    memoryMiB: Number(r.memoryMiB),
    storageMiB: Number(r.storageMiB),
    bandwidthMbps: Number(r.bandwidthMbps),
  };
}

/** `market.deployment(id)`; an unknown id has owner 0x0 (the view does not revert). */
export async function readDeploymentRecord(client: Tom3Client, deploymentId: bigint): Promise<DeploymentRecord> {
  const d = plain(await client.read("market", "deployment", [deploymentId]));
  return {
    deploymentId,
    owner: String(d.owner),
    version: String(d.version),
    createdAt: BigInt(d.createdAt as bigint),
    closedAt: BigInt(d.closedAt as bigint),
  };
}

export async function readOrder(client: Tom3Client, orderId: bigint): Promise<OrderRecord> {
  const o = plain(await client.read("market", "order", [orderId]));
  return {
    orderId,
    deploymentId: o.deploymentId as bigint,
    tenant: String(o.tenant),
    state: enumName(ORDER_STATES, o.state as bigint) as OrderStateName,
    resources: resources(o.resources),
    maxPricePerSecond: o.maxPricePerSecond as bigint,
    duration: o.duration as bigint,
    createdAt: o.createdAt as bigint,
    closesAt: o.closesAt as bigint,
    minReputation: Number(o.minReputation),
    bidBond: o.bidBond as bigint,
    bestBidId: o.bestBidId as bigint,
    bestPrice: o.bestPrice as bigint,
    attributes: Array.from(o.attributes as string[]),
  };
}

export async function readCharter(client: Tom3Client, charterId: bigint): Promise<CharterRecord> {
  const c = plain(await client.read("market", "charter", [charterId]));
  return {
    charterId,
    tenant: String(c.tenant),
    provider: String(c.provider),
    deploymentId: c.deploymentId as bigint,
    orderId: c.orderId as bigint,
    bidId: c.bidId as bigint,
    pricePerSecond: c.pricePerSecond as bigint,
    duration: c.duration as bigint,
    acknowledgeBy: c.acknowledgeBy as bigint,
    acknowledgedAt: c.acknowledgedAt as bigint,
    endsAt: c.endsAt as bigint,
    claimed: c.claimed as bigint,
    feeBps: Number(c.feeBps),
    state: enumName(CHARTER_STATES, c.state as bigint) as CharterStateName,
    closeReason: enumName(CLOSE_REASONS, c.closeReason as bigint) as CloseReasonName,
  };
}

/** Ids of every order of a deployment, from its `OrderCreated` events, ascending. */
export async function orderIdsOf(client: Tom3Client, deploymentId: bigint): Promise<bigint[]> {
  const events = await client.events("market", "OrderCreated", [null, deploymentId]);
  return events.map((e) => e.args.orderId as bigint).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The charters of a deployment (one per matched order; a charter's id is its order's id). */
export async function chartersOf(client: Tom3Client, deploymentId: bigint): Promise<CharterRecord[]> {
  const charters: CharterRecord[] = [];
  for (const orderId of await orderIdsOf(client, deploymentId)) {
    const charter = await readCharter(client, orderId);
    if (charter.state !== "None") charters.push(charter);
  }
  return charters;
}
