/**
 * The market's life cycle, in the protocol's words:
 * deployments (`tom3:deployment:create|update|close`), orders (`tom3:order:create|cancel`), bids (`tom3:bid`,
 * `tom3:bid:release`), matching (`tom3:match`), charters (`tom3:ack|claim|close|cancel-undelivered|extend`),
 * operators (`tom3:operator:approve`) and listings from events (`tom3:orders`, `tom3:bids`, `tom3:charters`).
 */
import { readFileSync } from "node:fs";
import { types } from "hardhat/config";
import { parseAttributes } from "../offchain/chain/attributes";
import { CHARTER_STATES, CLOSE_REASONS, ORDER_STATES, enumName } from "../offchain/chain/enums";
import { parseCpuMillis, parseMbps, parseMiB, parseResources } from "../offchain/chain/units";
import type { Resources } from "../offchain/chain/units";
import type { Report, Tom3Context } from "./lib";
import {
  addressFlag,
  amountFlag,
  bytes32Flag,
  fail,
  idFlag,
  price,
  resources,
  seconds,
  secondsFlag,
  time,
  tokens,
  tom3Task,
  txFacts,
} from "./lib";

const OPEN = ORDER_STATES.indexOf("Open");
const VERSION_HELP =
  "Deployment version: keccak256 of the manifest's canonical form (0x + 64 hex digits, as `npx tom3 manifest hash <file>` prints)";
const MANIFEST_HELP = "Manifest file (YAML) whose version to use, instead of --version-hash";

interface VersionArgs {
  versionHash?: string;
  manifest?: string;
}

/** The version from exactly one of --version-hash and --manifest (parsed and hashed as `tom3 manifest hash` does). */
async function versionOf(args: VersionArgs): Promise<{ version: string; manifest?: string }> {
  if ((args.versionHash === undefined) === (args.manifest === undefined)) {
    throw fail("give the version as --manifest <file.yaml> or --version-hash 0x<64 hex digits> (one of the two)");
  }
  if (args.versionHash !== undefined) return { version: bytes32Flag("version-hash", args.versionHash) };
  const file = args.manifest!;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw fail(`--manifest: ${file}: ${code === "ENOENT" ? "no such file" : "cannot be read"}`);
  }
  // Loaded on use: the manifest parser (YAML, JSON Schema) is for these two tasks only.
  const { ManifestError, parseManifest } = await import("../offchain/manifest");
  try {
    return { version: parseManifest(text, { source: file }).version, manifest: file };
  } catch (error) {
    if (error instanceof ManifestError) throw fail(`--manifest: ${error.format()}`, error);
    throw error;
  }
}

// ------------------------------------------------------------------ deployments

// Hardhat reserves --version for itself, hence --version-hash.
tom3Task<VersionArgs>(
  "tom3:deployment:create",
  "Create a deployment (a workload's identity) at a version: --manifest <file> or --version-hash <hash>",
  (t) =>
    t
      .addOptionalParam("manifest", MANIFEST_HELP, undefined, types.string)
      .addOptionalParam("versionHash", VERSION_HELP, undefined, types.string),
  async (args, ctx) => {
    const { version, manifest } = await versionOf(args);
    const sent = await ctx.send("market", "createDeployment", () => ctx.contracts.market.createDeployment(version));
    const created = sent.event("market", "DeploymentCreated");
    return {
      deploymentId: created.deploymentId,
      owner: created.owner,
      version: created.version,
      manifest,
      ...txFacts(sent),
    };
  },
);

tom3Task<VersionArgs & { deployment: string }>(
  "tom3:deployment:update",
  "Point a deployment at a new version (its providers re-fetch and roll out): --manifest <file> or --version-hash <hash>",
  (t) =>
    t
      .addParam("deployment", "Deployment id")
      .addOptionalParam("manifest", MANIFEST_HELP, undefined, types.string)
      .addOptionalParam("versionHash", VERSION_HELP, undefined, types.string),
  async (args, ctx) => {
    const deploymentId = idFlag("deployment", args.deployment);
    const { version, manifest } = await versionOf(args);
    const sent = await ctx.send("market", "updateDeployment", () =>
      ctx.contracts.market.updateDeployment(deploymentId, version),
    );
    return { deploymentId, version: sent.event("market", "DeploymentUpdated").version, manifest, ...txFacts(sent) };
  },
);

tom3Task<{ deployment: string }>(
  "tom3:deployment:close",
  "Close a deployment: no new orders; its charters stop accruing now",
  (t) => t.addParam("deployment", "Deployment id"),
  async (args, ctx) => {
    const deploymentId = idFlag("deployment", args.deployment);
    const sent = await ctx.send("market", "closeDeployment", () => ctx.contracts.market.closeDeployment(deploymentId));
    sent.event("market", "DeploymentClosed");
    return { deploymentId, closed: true, ...txFacts(sent) };
  },
);

// ------------------------------------------------------------------ orders

interface ResourceArgs {
  cpu?: string;
  memory?: string;
  storage?: string;
  bandwidth?: string;
}

const RESOURCE_FLAGS = { cpu: "--cpu", memory: "--memory", storage: "--storage", bandwidth: "--bandwidth" };

tom3Task<
  ResourceArgs & {
    deployment: string;
    maxPrice: string;
    duration: string;
    window: string;
    minReputation: string;
    attributes: string;
  }
>(
  "tom3:order:create",
  "Post an order (a requirement specification) for a deployment; locks max price x duration",
  (t) =>
    t
      .addParam("deployment", "Deployment id")
      .addParam("cpu", 'CPU: CPUs ("0.5") or millicores ("500m")')
      .addParam("memory", 'Memory: bytes or Ki/Mi/Gi ("256Mi")')
      .addParam("storage", 'Storage: bytes or Ki/Mi/Gi ("1Gi")')
      .addParam("bandwidth", 'Bandwidth: Kbps/Mbps/Gbps ("10Mbps")')
      .addParam("maxPrice", 'Highest price per second for the whole order: "0.0001" (TOM3) or "120wei"')
      .addParam("duration", 'Service time once acknowledged: "1h", "30m", "2d" or seconds')
      .addOptionalParam("window", "Bidding window", "30s", types.string)
      .addOptionalParam("minReputation", "Lowest provider reputation accepted, 0..10000", "0", types.string)
      .addOptionalParam("attributes", 'Required provider attributes: "region=eu-west,tier=gpu"', "", types.string),
  async (args, ctx) => {
    const deploymentId = idFlag("deployment", args.deployment);
    const spec = {
      resources: parseResources(
        { cpu: args.cpu!, memory: args.memory!, storage: args.storage!, bandwidth: args.bandwidth! },
        RESOURCE_FLAGS,
      ),
      maxPricePerSecond: amountFlag("max-price", args.maxPrice),
      duration: secondsFlag("duration", args.duration),
      biddingWindow: secondsFlag("window", args.window),
      minReputation: reputationFlag(args.minReputation),
      attributes: parseAttributes(args.attributes, "--attributes"),
    };
    const sent = await ctx.send("market", "createOrder", () => ctx.contracts.market.createOrder(deploymentId, spec));
    const created = sent.event("market", "OrderCreated");
    return {
      orderId: created.orderId,
      deploymentId,
      tenant: created.tenant,
      resources: resources(spec.resources),
      maxPrice: price(spec.maxPricePerSecond),
      duration: seconds(spec.duration),
      locked: tokens(spec.maxPricePerSecond * BigInt(spec.duration)),
      closesAt: time(created.closesAt),
      ...txFacts(sent),
    };
  },
);

tom3Task<{ order: string }>(
  "tom3:order:cancel",
  "Cancel an open order and unlock its escrow",
  (t) => t.addParam("order", "Order id"),
  async (args, ctx) => {
    const orderId = idFlag("order", args.order);
    const sent = await ctx.send("market", "cancelOrder", () => ctx.contracts.market.cancelOrder(orderId));
    sent.event("market", "OrderCancelled");
    return { orderId, cancelled: true, ...txFacts(sent) };
  },
);

// ------------------------------------------------------------------ bids and matching

tom3Task<ResourceArgs & { order: string; price: string }>(
  "tom3:bid",
  "Bid on an open order as a provider; offered resources default to what the order requests",
  (t) =>
    t
      .addParam("order", "Order id")
      .addParam("price", 'Price per second for the whole order: "0.0001" (TOM3) or "100wei"')
      .addOptionalParam("cpu", "Offered CPU (default: the order's)", undefined, types.string)
      .addOptionalParam("memory", "Offered memory (default: the order's)", undefined, types.string)
      .addOptionalParam("storage", "Offered storage (default: the order's)", undefined, types.string)
      .addOptionalParam("bandwidth", "Offered bandwidth (default: the order's)", undefined, types.string),
  async (args, ctx) => {
    const orderId = idFlag("order", args.order);
    const pricePerSecond = amountFlag("price", args.price);
    const { market } = ctx.contracts;
    const order = await ctx.read("market", "order", () => market.order(orderId));
    const requested = order.resources;
    const offered: Resources = {
      cpuMillis: args.cpu === undefined ? Number(requested.cpuMillis) : parseCpuMillis(args.cpu, "--cpu"),
      memoryMiB: args.memory === undefined ? Number(requested.memoryMiB) : parseMiB(args.memory, "--memory"),
      storageMiB: args.storage === undefined ? Number(requested.storageMiB) : parseMiB(args.storage, "--storage"),
      bandwidthMbps:
        args.bandwidth === undefined ? Number(requested.bandwidthMbps) : parseMbps(args.bandwidth, "--bandwidth"),
    };
    const sent = await ctx.send("market", "placeBid", () => market.placeBid(orderId, pricePerSecond, offered));
    const placed = sent.event("market", "BidPlaced");
    return {
      bidId: placed.bidId,
      orderId,
      provider: placed.provider,
      price: price(placed.pricePerSecond),
      offered: resources(offered),
      bond: tokens(order.bidBond),
      ...txFacts(sent),
    };
  },
);

tom3Task<{ bid: string }>(
  "tom3:bid:release",
  "Return the bond of a bid that did not win (anyone may call; the bond goes to the provider)",
  (t) => t.addParam("bid", "Bid id"),
  async (args, ctx) => {
    const bidId = idFlag("bid", args.bid);
    const sent = await ctx.send("market", "releaseBid", () => ctx.contracts.market.releaseBid(bidId));
    const released = sent.event("market", "BidReleased");
    return { bidId, provider: released.provider, bond: tokens(released.bond), ...txFacts(sent) };
  },
);

tom3Task<{ order: string }>(
  "tom3:match",
  "Match an order with its best bid, creating the charter (anyone after the window; the tenant any time)",
  (t) => t.addParam("order", "Order id"),
  async (args, ctx) => {
    const orderId = idFlag("order", args.order);
    const sent = await ctx.send("market", "matchOrder", () => ctx.contracts.market.matchOrder(orderId));
    const matched = sent.event("market", "OrderMatched");
    const created = sent.event("market", "CharterCreated");
    // The order locked its maximum price for the duration; the charter keeps the winning price's share, the
    // difference goes back to the tenant's available balance (so the order's "locked" = these two).
    const order = await ctx.read("market", "order", () => ctx.contracts.market.order(orderId));
    const lockedForCharter = created.pricePerSecond * created.duration;
    return {
      charterId: matched.charterId,
      orderId,
      bidId: matched.bidId,
      tenant: created.tenant,
      provider: created.provider,
      price: price(created.pricePerSecond),
      duration: seconds(created.duration),
      lockedForCharter: tokens(lockedForCharter),
      returnedToTenant: tokens(order.maxPricePerSecond * order.duration - lockedForCharter),
      ...txFacts(sent),
    };
  },
);

// ------------------------------------------------------------------ charters

tom3Task<{ charter: string }>(
  "tom3:ack",
  "Acknowledge a charter as its provider: the workload runs, payment starts",
  (t) => t.addParam("charter", "Charter id"),
  async (args, ctx) => {
    const charterId = idFlag("charter", args.charter);
    const sent = await ctx.send("market", "acknowledge", () => ctx.contracts.market.acknowledge(charterId));
    return { charterId, endsAt: time(sent.event("market", "CharterAcknowledged").endsAt), ...txFacts(sent) };
  },
);

tom3Task<{ charter: string }>(
  "tom3:claim",
  "Move a charter's accrued payment to its provider's market account (anyone may call)",
  (t) => t.addParam("charter", "Charter id"),
  async (args, ctx) => {
    const charterId = idFlag("charter", args.charter);
    const sent = await ctx.send("market", "claim", () => ctx.contracts.market.claim(charterId));
    const claimed = sent.event("market", "PaymentClaimed");
    return {
      charterId,
      provider: claimed.provider,
      paid: tokens(claimed.amount),
      fee: tokens(claimed.fee),
      ...txFacts(sent),
    };
  },
);

tom3Task<{ charter: string }>(
  "tom3:close",
  "Close a charter: settle what accrued to the provider, refund the rest to the tenant",
  (t) => t.addParam("charter", "Charter id"),
  async (args, ctx) => {
    const charterId = idFlag("charter", args.charter);
    const sent = await ctx.send("market", "closeCharter", () => ctx.contracts.market.closeCharter(charterId));
    return { charterId, ...closedFacts(sent.event("market", "CharterClosed")), ...txFacts(sent) };
  },
);

tom3Task<{ charter: string }>(
  "tom3:cancel-undelivered",
  "As the tenant, end a charter never acknowledged within the start timeout: refund, bond, slash",
  (t) => t.addParam("charter", "Charter id"),
  async (args, ctx) => {
    const charterId = idFlag("charter", args.charter);
    const sent = await ctx.send("market", "cancelUndelivered", () => ctx.contracts.market.cancelUndelivered(charterId));
    const seized = sent.events.find((e) => e.name === "BondSeized");
    return {
      charterId,
      ...closedFacts(sent.event("market", "CharterClosed")),
      bondToTenant: seized ? tokens(seized.args.bond as bigint) : undefined,
      ...txFacts(sent),
    };
  },
);

tom3Task<{ charter: string; seconds: string }>(
  "tom3:extend",
  "Extend an active charter; locks price x extra seconds more",
  (t) => t.addParam("charter", "Charter id").addParam("seconds", 'Extra time: "3600", "1h", "2d"'),
  async (args, ctx) => {
    const charterId = idFlag("charter", args.charter);
    const extra = secondsFlag("seconds", args.seconds);
    const { market } = ctx.contracts;
    const charter = await ctx.read("market", "charter", () => market.charter(charterId));
    const sent = await ctx.send("market", "extendCharter", () => market.extendCharter(charterId, extra));
    return {
      charterId,
      extendedBy: seconds(extra),
      locked: tokens(charter.pricePerSecond * BigInt(extra)),
      endsAt: time(sent.event("market", "CharterExtended").endsAt),
      ...txFacts(sent),
    };
  },
);

// ------------------------------------------------------------------ operators

tom3Task<{ operator: string; allowance: string; expiry: string }>(
  "tom3:operator:approve",
  "Let an operator manage your deployments and lock up to an allowance of your balance (allowance 0 revokes)",
  (t) =>
    t
      .addParam("operator", "Operator address")
      .addParam("allowance", 'Total it may lock: "100" (TOM3) or "100wei"; 0 revokes')
      .addOptionalParam(
        "expiry",
        'When the rights end: a duration from now ("7d", "12h") or a unix time (plain seconds)',
        "30d",
        types.string,
      ),
  async (args, ctx) => {
    const operator = addressFlag("operator", args.operator);
    const allowance = amountFlag("allowance", args.allowance);
    const expiry = /^\d+$/.test(args.expiry.trim())
      ? BigInt(args.expiry.trim())
      : (await ctx.now()) + BigInt(secondsFlag("expiry", args.expiry));
    const sent = await ctx.send("market", "approveOperator", () =>
      ctx.contracts.market.approveOperator(operator, allowance, expiry),
    );
    const approved = sent.event("market", "OperatorApproved");
    return {
      owner: approved.owner,
      operator: approved.operator,
      allowance: tokens(approved.allowance),
      expiry: time(approved.expiry),
      ...txFacts(sent),
    };
  },
);

// ------------------------------------------------------------------ listings

tom3Task<{ deployment?: string; all: boolean }>(
  "tom3:orders",
  "List open orders (from OrderCreated events and each order's state)",
  (t) =>
    t
      .addOptionalParam("deployment", "Only this deployment's orders", undefined, types.string)
      .addFlag("all", "Include matched and cancelled orders"),
  async (args, ctx) => {
    const { market } = ctx.contracts;
    const deploymentId = args.deployment === undefined ? undefined : idFlag("deployment", args.deployment);
    const filter = market.filters.OrderCreated(undefined, deploymentId);
    const events = await ctx.scan((from, to) => market.queryFilter(filter, from, to));
    const now = await ctx.now();
    const orders = await Promise.all(
      events.map(async (event) => {
        const orderId = event.args.orderId;
        const order = await ctx.read("market", "order", () => market.order(orderId));
        return { orderId, order };
      }),
    );
    return {
      orders: orders
        .filter(({ order }) => args.all || Number(order.state) === OPEN)
        .map(({ orderId, order }) => ({
          id: orderId,
          deployment: order.deploymentId,
          tenant: order.tenant,
          state: enumName(ORDER_STATES, order.state),
          resources: resources(order.resources),
          maxPrice: price(order.maxPricePerSecond),
          duration: seconds(order.duration),
          bidding: Number(order.state) === OPEN ? (order.closesAt > now ? "open" : "closed") : undefined,
          closesAt: time(order.closesAt),
          bestBid: order.bestBidId === 0n ? "none" : order.bestBidId,
          bestPrice: order.bestBidId === 0n ? undefined : price(order.bestPrice),
          attributes: order.attributes.length,
        })),
    };
  },
);

tom3Task<{ order: string }>(
  "tom3:bids",
  "List the bids on an order, best first",
  (t) => t.addParam("order", "Order id"),
  async (args, ctx) => {
    const { market } = ctx.contracts;
    const orderId = idFlag("order", args.order);
    const events = await ctx.scan((from, to) => market.queryFilter(market.filters.BidPlaced(orderId), from, to));
    const best = await ctx.read("market", "bestBid", () => market.bestBid(orderId));
    const bids = await Promise.all(
      events.map(async (event) => {
        const bid = await ctx.read("market", "bid", () => market.bid(event.args.bidId));
        return {
          id: event.args.bidId,
          provider: bid.provider,
          price: price(bid.pricePerSecond),
          best: event.args.bidId === best,
          released: bid.released,
        };
      }),
    );
    // Lowest price first, earliest (lowest id) among equals: the matching rule.
    bids.sort((a, b) => (a.price.wei === b.price.wei ? Number(a.id - b.id) : a.price.wei < b.price.wei ? -1 : 1));
    return { orderId, bids };
  },
);

tom3Task<{ tenant?: string; provider?: string }>(
  "tom3:charters",
  "List charters, optionally of one tenant or one provider",
  (t) =>
    t
      .addOptionalParam("tenant", "Only charters of this tenant", undefined, types.string)
      .addOptionalParam("provider", "Only charters of this provider", undefined, types.string),
  async (args, ctx) => {
    const { market } = ctx.contracts;
    const tenant = args.tenant === undefined ? undefined : addressFlag("tenant", args.tenant);
    const provider = args.provider === undefined ? undefined : addressFlag("provider", args.provider);
    const filter = market.filters.CharterCreated(undefined, tenant, provider);
    const events = await ctx.scan((from, to) => market.queryFilter(filter, from, to));
    const charters = await Promise.all(events.map((event) => charterRow(ctx, event.args.charterId)));
    return { charters };
  },
);

async function charterRow(ctx: Tom3Context, charterId: bigint): Promise<Report> {
  const { market } = ctx.contracts;
  const charter = await ctx.read("market", "charter", () => market.charter(charterId));
  const state = enumName(CHARTER_STATES, charter.state);
  const running = state === "Active";
  const [accrued, claimable] = running
    ? await Promise.all([market.accrued(charterId), market.claimable(charterId)])
    : [undefined, undefined];
  return {
    id: charterId,
    deployment: charter.deploymentId,
    tenant: charter.tenant,
    provider: charter.provider,
    state,
    closeReason: state === "Closed" ? enumName(CLOSE_REASONS, charter.closeReason) : undefined,
    price: price(charter.pricePerSecond),
    duration: seconds(charter.duration),
    acknowledgeBy: state === "Pending" ? time(charter.acknowledgeBy) : undefined,
    endsAt: charter.acknowledgedAt === 0n ? undefined : time(charter.endsAt),
    accrued: accrued === undefined ? undefined : tokens(accrued),
    claimable: claimable === undefined ? undefined : tokens(claimable),
  };
}

// ------------------------------------------------------------------ helpers

function closedFacts(closed: { reason: bigint; paidToProvider: bigint; refundedToTenant: bigint }): Report {
  return {
    reason: enumName(CLOSE_REASONS, closed.reason),
    paidToProvider: tokens(closed.paidToProvider),
    refundedToTenant: tokens(closed.refundedToTenant),
  };
}

function reputationFlag(value: string): number {
  const reputation = Number(value);
  if (!/^\d+$/.test(value.trim()) || reputation > 10_000) {
    throw fail(`--min-reputation: "${value}" is not a reputation (an integer from 0 to 10000)`);
  }
  return reputation;
}
