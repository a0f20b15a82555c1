/**
 * The world the Market property tests run in: the suite deployed by the Ignition module, eight actors, a model
 * that mirrors the Market, and the two ways the tests touch the chain: `send` (one transaction, at the model's
 * clock) and `readChain` (the whole observable state in one `eth_call`).
 *
 * Block time is the model's: every transaction is mined at `evm_setNextBlockTimestamp(model.now)` (the network
 * allows equal timestamps), and time only moves on an explicit time jump. Runs are therefore reproducible from
 * their seed, whatever the wall clock does.
 */
import hre, { ethers } from "hardhat";
import { MaxUint256, toQuantity, type Interface, type Log, type Result } from "ethers";
import { deployTom3, type Tom3Suite } from "../fixtures/deploy";
import { readBatch, type ViewCall } from "./batch";
import { ATTRIBUTES, ROLES, TOKEN, type Actors, type Role } from "./actions";
import {
  callArgs,
  emptyState,
  REGISTRY_CALLS,
  MarketModel,
  type Account,
  type Call,
  type Environment,
  type ModelState,
  type Parameters,
  type TxEvent,
} from "./model";

const GAS_LIMIT = toQuantity(5_000_000);

/** What a Market transaction did: its decoded events, or the decoded revert. */
export type Outcome = { ok: true; events: TxEvent[] } | { ok: false; error: string };

export interface ChainCharter {
  tenant: string;
  provider: string;
  bidId: bigint;
  pricePerSecond: bigint;
  duration: bigint;
  acknowledgeBy: bigint;
  acknowledgedAt: bigint;
  endsAt: bigint;
  claimed: bigint;
  feeBps: bigint;
  state: bigint;
  closeReason: bigint;
}

/** Everything the invariants look at, read in one call. */
export interface ChainState {
  marketTokens: bigint;
  registryTokens: bigint;
  wallets: Map<string, bigint>;
  accounts: Map<string, Account>;
  counts: { deployments: bigint; orders: bigint; bids: bigint };
  params: Parameters;
  deployments: { owner: string; version: string; closedAt: bigint }[];
  orders: { tenant: string; state: bigint; bestBidId: bigint; closesAt: bigint; bidBond: bigint }[];
  bids: { orderId: bigint; provider: string; pricePerSecond: bigint; released: boolean }[];
  charters: Map<bigint, ChainCharter>;
  approvals: Map<string, { allowance: bigint; expiry: bigint; active: boolean }>;
  reputation: Map<string, bigint>;
  stake: Map<string, bigint>;
  unbonding: Map<string, bigint>;
}

export interface World {
  suite: Tom3Suite;
  actors: Actors;
  /** The nine accounts that can hold Market balances: the roles and the treasury. */
  accounts: string[];
  addresses: { market: string; registry: string; token: string };
  supply: bigint;
  /** Model state right after the fixture; every run starts from a clone of it. */
  initialState: ModelState;
  initialChain: ChainState;
}

const PROVIDER_SETUP: Record<"providerA" | "providerB" | "providerC", { stake: bigint; attributes: string[] }> = {
  providerA: { stake: 1000n * TOKEN, attributes: [ATTRIBUTES.euWest, ATTRIBUTES.gpu] },
  providerB: { stake: 300n * TOKEN, attributes: [ATTRIBUTES.euWest] },
  providerC: { stake: 20n * TOKEN, attributes: [] },
};

const WALLETS: Record<Role, bigint> = {
  owner: 0n, // keeps the rest of the supply
  tenantA: 200n * TOKEN,
  tenantB: 200n * TOKEN,
  providerA: 1100n * TOKEN,
  providerB: 400n * TOKEN,
  providerC: 100n * TOKEN,
  operator: 50n * TOKEN,
  stranger: 50n * TOKEN,
};

/**
 * Market calls made once in the fixture, through the model as well, so that every run starts with objects in
 * every state: balances, two deployments, an operator, an acknowledged charter (1), a pending one (2), an open
 * order with a bonded bid (3) and an open order without bids (4). Orders 1 and 2 are matched on ties, so the
 * earliest-bid rule is exercised from the start.
 */
function setupCalls(a: Record<Role, string>, now: bigint): Call[] {
  const spec = (maxPricePerSecond: bigint, duration: bigint, biddingWindow: bigint, attributes: string[]) => ({
    resources: { cpuMillis: 500n, memoryMiB: 512n, storageMiB: 1024n, bandwidthMbps: 10n },
    maxPricePerSecond,
    duration,
    biddingWindow,
    minReputation: 0n,
    attributes,
  });
  const offer = { cpuMillis: 1000n, memoryMiB: 1024n, storageMiB: 2048n, bandwidthMbps: 100n };
  return [
    { fn: "deposit", actor: a.tenantA, amount: 40n * TOKEN },
    { fn: "deposit", actor: a.tenantB, amount: 40n * TOKEN },
    { fn: "deposit", actor: a.providerA, amount: 20n * TOKEN },
    { fn: "deposit", actor: a.providerB, amount: 20n * TOKEN },
    { fn: "deposit", actor: a.providerC, amount: 5n * TOKEN },
    { fn: "deposit", actor: a.operator, amount: 5n * TOKEN },
    { fn: "deposit", actor: a.stranger, amount: 5n * TOKEN },
    { fn: "createDeployment", actor: a.tenantA, version: ethers.id("manifest-v1") },
    { fn: "createDeployment", actor: a.tenantB, version: ethers.id("manifest-v2") },
    {
      fn: "approveOperator",
      actor: a.tenantA,
      operator: a.operator,
      allowance: 30n * TOKEN,
      expiry: now + 2n * 86_400n,
    },
    { fn: "createOrder", actor: a.tenantA, deploymentId: 1n, spec: spec(10n ** 12n, 3600n, 120n, [ATTRIBUTES.euWest]) },
    { fn: "createOrder", actor: a.tenantB, deploymentId: 2n, spec: spec(1000n, 600n, 120n, []) },
    { fn: "placeBid", actor: a.providerB, orderId: 1n, price: 5n * 10n ** 11n, offered: offer },
    { fn: "placeBid", actor: a.providerA, orderId: 1n, price: 5n * 10n ** 11n, offered: offer },
    { fn: "placeBid", actor: a.providerC, orderId: 2n, price: 900n, offered: offer },
    { fn: "placeBid", actor: a.providerA, orderId: 2n, price: 800n, offered: offer },
    { fn: "placeBid", actor: a.providerB, orderId: 2n, price: 800n, offered: offer },
    { fn: "matchOrder", actor: a.tenantA, orderId: 1n },
    { fn: "matchOrder", actor: a.tenantB, orderId: 2n },
    { fn: "acknowledge", actor: a.providerB, charterId: 1n },
    { fn: "setBidBond", actor: a.owner, bond: TOKEN },
    { fn: "createOrder", actor: a.operator, deploymentId: 1n, spec: spec(10n ** 15n, 600n, 300n, []) },
    { fn: "createOrder", actor: a.tenantB, deploymentId: 2n, spec: spec(7n, 86_400n, 900n, [ATTRIBUTES.gpu]) },
    { fn: "placeBid", actor: a.providerC, orderId: 3n, price: 10n ** 15n, offered: offer },
  ];
}

/** Sends Market transactions at the model's clock and decodes what happened. */
export class Chain {
  private readonly logInterfaces: Map<string, Interface>;
  private readonly errorInterfaces: Interface[];

  constructor(readonly world: Pick<World, "suite" | "addresses">) {
    const { market, registry } = world.suite;
    this.logInterfaces = new Map<string, Interface>([
      [world.addresses.market.toLowerCase(), market.interface as Interface],
      [world.addresses.registry.toLowerCase(), registry.interface as Interface],
    ]);
    this.errorInterfaces = [market.interface, registry.interface, world.suite.token.interface] as Interface[];
  }

  /** Send `call` (to the Market, or to the registry for provider calls) as a transaction mined at time `now`. */
  async send(call: Call, now: bigint): Promise<Outcome> {
    const provider = hre.network.provider;
    const toRegistry = REGISTRY_CALLS.has(call.fn);
    const to = toRegistry ? this.world.addresses.registry : this.world.addresses.market;
    const iface = (toRegistry ? this.world.suite.registry.interface : this.world.suite.market.interface) as Interface;
    const data = iface.encodeFunctionData(call.fn, callArgs(call));
    await provider.request({ method: "evm_setNextBlockTimestamp", params: [toQuantity(now)] });
    let hash: string;
    try {
      hash = (await provider.request({
        method: "eth_sendTransaction",
        params: [{ from: call.actor, to, data, gas: GAS_LIMIT }],
      })) as string;
    } catch (e) {
      return { ok: false, error: this.decodeError(e) };
    }
    const receipt = (await provider.request({ method: "eth_getTransactionReceipt", params: [hash] })) as {
      logs: Log[];
    };
    const events: TxEvent[] = [];
    for (const log of receipt.logs) {
      const parsed = this.logInterfaces.get(log.address.toLowerCase())?.parseLog(log);
      if (parsed) events.push({ name: parsed.name, args: parsed.args as unknown as TxEvent["args"] });
    }
    return { ok: true, events };
  }

  private decodeError(e: unknown): string {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x")) {
      for (const iface of this.errorInterfaces) {
        const parsed = iface.parseError(data);
        if (parsed) return `${parsed.name}(${parsed.args.map((x) => String(x)).join(", ")})`;
      }
      if (data.startsWith("0x4e487b71")) return `Panic(0x${data.slice(-2)})`;
      return data;
    }
    return (e as Error).message?.split("\n")[0] ?? String(e);
  }

  /** The observable state of the suite for the objects `model` knows, in one `eth_call`. */
  async read(model: ModelState, accounts: string[], actors: Actors): Promise<ChainState> {
    const { market, token, registry } = this.world.suite;
    const m = { target: this.world.addresses.market, iface: market.interface };
    const t = { target: this.world.addresses.token, iface: token.interface };
    const r = { target: this.world.addresses.registry, iface: registry.interface };
    const providers = ["providerA", "providerB", "providerC"].map((p) => actors.address[p as Role]);
    const approvalKeys = [...model.approvals.keys()];
    const chargerIds = [...model.charters.keys()];
    const calls: ViewCall[] = [
      { ...t, fn: "balanceOf", args: [this.world.addresses.market] },
      { ...t, fn: "balanceOf", args: [this.world.addresses.registry] },
      ...accounts.map((a): ViewCall => ({ ...t, fn: "balanceOf", args: [a] })),
      ...accounts.map((a): ViewCall => ({ ...m, fn: "balanceOf", args: [a] })),
      { ...m, fn: "deploymentCount" },
      { ...m, fn: "orderCount" },
      { ...m, fn: "bidCount" },
      { ...m, fn: "bidBond" },
      { ...m, fn: "startTimeout" },
      { ...m, fn: "slashBps" },
      { ...m, fn: "protocolFeeBps" },
      { ...m, fn: "treasury" },
      ...providers.map((p): ViewCall => ({ ...r, fn: "reputationOf", args: [p] })),
      ...providers.map((p): ViewCall => ({ ...r, fn: "stakeOf", args: [p] })),
      ...providers.map((p): ViewCall => ({ ...r, fn: "unbondingOf", args: [p] })),
      ...model.deployments.map((d): ViewCall => ({ ...m, fn: "deployment", args: [d.id] })),
      ...model.orders.map((o): ViewCall => ({ ...m, fn: "order", args: [o.id] })),
      ...model.bids.map((b): ViewCall => ({ ...m, fn: "bid", args: [b.id] })),
      ...chargerIds.map((id): ViewCall => ({ ...m, fn: "charter", args: [id] })),
      ...approvalKeys.map((k): ViewCall => ({ ...m, fn: "operatorApproval", args: k.split("/") })),
    ];
    const results = await readBatch(hre.network.provider, calls);
    let i = 0;
    const next = (): Result => results[i++];
    const value = (): bigint => next()[0] as bigint;

    const marketTokens = value();
    const registryTokens = value();
    const wallets = new Map(accounts.map((a) => [a, value()]));
    const balances = new Map(
      accounts.map((a) => {
        const [available, locked] = next();
        return [a, { available: available as bigint, locked: locked as bigint }];
      }),
    );
    const counts = { deployments: value(), orders: value(), bids: value() };
    const params: Parameters = {
      bidBond: value(),
      startTimeout: value(),
      slashBps: value(),
      protocolFeeBps: value(),
      treasury: next()[0] as string,
    };
    const reputation = new Map(providers.map((p) => [p, value()]));
    const stake = new Map(providers.map((p) => [p, value()]));
    const unbonding = new Map(providers.map((p) => [p, value()]));
    const deployments = model.deployments.map(() => {
      const d = next()[0];
      return { owner: d.owner as string, version: d.version as string, closedAt: d.closedAt as bigint };
    });
    const orders = model.orders.map(() => {
      const o = next()[0];
      return {
        tenant: o.tenant as string,
        state: o.state as bigint,
        bestBidId: o.bestBidId as bigint,
        closesAt: o.closesAt as bigint,
        bidBond: o.bidBond as bigint,
      };
    });
    const bids = model.bids.map(() => {
      const b = next()[0];
      return {
        orderId: b.orderId as bigint,
        provider: b.provider as string,
        pricePerSecond: b.pricePerSecond as bigint,
        released: b.released as boolean,
      };
    });
    const charters = new Map<bigint, ChainCharter>(
      chargerIds.map((id) => {
        const c = next()[0];
        return [
          id,
          {
            tenant: c.tenant,
            provider: c.provider,
            bidId: c.bidId,
            pricePerSecond: c.pricePerSecond,
            duration: c.duration,
            acknowledgeBy: c.acknowledgeBy,
            acknowledgedAt: c.acknowledgedAt,
            endsAt: c.endsAt,
            claimed: c.claimed,
            feeBps: c.feeBps,
            state: c.state,
            closeReason: c.closeReason,
          },
        ];
      }),
    );
    const approvals = new Map(
      approvalKeys.map((k) => {
        const a = next()[0];
        return [k, { allowance: a.allowance as bigint, expiry: a.expiry as bigint, active: a.active as boolean }];
      }),
    );
    return {
      marketTokens,
      registryTokens,
      wallets,
      accounts: balances,
      counts,
      params,
      deployments,
      orders,
      bids,
      charters,
      approvals,
      reputation,
      stake,
      unbonding,
    };
  }
}

/** The model's view of everything outside the Market, taken from the chain. */
export function environment(chain: ChainState): Environment {
  return {
    wallets: new Map(chain.wallets),
    reputation: new Map(chain.reputation),
    stake: new Map(chain.stake),
    unbonding: new Map(chain.unbonding),
  };
}

/**
 * Fixture (use through `loadFixture`): the suite, funded and approved actors, three registered and staked
 * providers, and the Market set-up of `setupCalls`, run on the chain and through the model together.
 */
export async function marketWorld(): Promise<World> {
  const suite = await deployTom3();
  const signers = await ethers.getSigners();
  const address = Object.fromEntries(ROLES.map((r, i) => [r, signers[i].address])) as Record<Role, string>;
  const treasury = signers[ROLES.length].address;
  const actors: Actors = { address, treasury };
  const accounts = [...ROLES.map((r) => address[r]), treasury];
  const addresses = {
    market: await suite.market.getAddress(),
    registry: await suite.registry.getAddress(),
    token: await suite.token.getAddress(),
  };
  const owner = signers[0];

  for (const [i, r] of ROLES.entries()) {
    if (WALLETS[r] !== 0n) await suite.token.connect(owner).transfer(address[r], WALLETS[r]);
    await suite.token.connect(signers[i]).approve(addresses.market, MaxUint256);
  }
  for (const [name, p] of Object.entries(PROVIDER_SETUP)) {
    const signer = signers[ROLES.indexOf(name as Role)];
    await suite.token.connect(signer).approve(addresses.registry, MaxUint256);
    await suite.registry.connect(signer).register(`/dns4/${name}.test/tcp/4001`, p.attributes);
    await suite.registry.connect(signer).stake(p.stake);
  }

  const chain = new Chain({ suite, addresses });
  const latest = await ethers.provider.getBlock("latest");
  const moduleTreasury = await suite.market.treasury();
  const state = emptyState(
    BigInt(latest!.timestamp) + 1n,
    { market: addresses.market, registry: addresses.registry },
    owner.address,
    moduleTreasury,
    {
      wallets: new Map(),
      reputation: new Map(),
      stake: new Map(),
      unbonding: new Map(),
    },
  );
  for (const [name, p] of Object.entries(PROVIDER_SETUP))
    state.providers.set(address[name as Role], new Set(p.attributes));
  state.env = environment(await chain.read(state, accounts, actors));

  const model = new MarketModel(state);
  for (const call of setupCalls(address, state.now)) {
    const prediction = model.predict(call);
    const outcome = await chain.send(call, state.now);
    if (!prediction.ok || !outcome.ok) {
      throw new Error(
        `fixture call ${call.fn} failed: ${prediction.ok ? "" : prediction.why} ${outcome.ok ? "" : outcome.error}`,
      );
    }
    prediction.commit(outcome.events);
  }
  state.walletDeltas.clear();
  const initialChain = await chain.read(state, accounts, actors);
  state.env = environment(initialChain);
  return {
    suite,
    actors,
    accounts,
    addresses,
    supply: await suite.token.totalSupply(),
    initialState: state,
    initialChain,
  };
}
