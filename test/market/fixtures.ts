/**
 * Shared state and helpers for the Market and UsageLedger tests.
 *
 * `marketFixture` deploys the suite through the Ignition module (what is tested is what is deployed) and sets up
 * a small market: a tenant with a deposit and one deployment, three registered and staked providers with
 * deposits (for bid bonds), an operator candidate and a stranger. Helpers create orders, place bids and start
 * charters the way a user would, and pin block timestamps so that expected amounts are exact.
 */
import { ethers } from "hardhat";
import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { AddressLike, BytesLike } from "ethers";
import { deployTom3, type Tom3Suite } from "../fixtures/deploy";

export const ONE = 10n ** 18n;

/** Enum values of IMarket, as the contract returns them. */
export const OrderState = { None: 0n, Open: 1n, Matched: 2n, Cancelled: 3n } as const;
export const CharterState = { None: 0n, Pending: 1n, Active: 2n, Closed: 3n } as const;
export const CloseReason = {
  None: 0n,
  ClosedByTenant: 1n,
  ClosedByProvider: 2n,
  Expired: 3n,
  Undelivered: 4n,
  DeploymentClosed: 5n,
} as const;

/** Attributes are keccak256 of "key=value". */
export const ATTR = {
  euWest: ethers.id("region=eu-west"),
  usEast: ethers.id("region=us-east"),
  gpu: ethers.id("tier=gpu"),
} as const;

export const VERSION_1 = ethers.id("manifest v1");
export const VERSION_2 = ethers.id("manifest v2");

export const TENANT_DEPOSIT = 1_000n * ONE;
export const PROVIDER_DEPOSIT = 100n * ONE;
/** Provider stakes: provider 1 holds half of all stake, so it has the best reputation of the three. */
export const STAKES = [3_000n * ONE, 2_000n * ONE, 1_000n * ONE] as const;

/** Defaults of the local deployment (PROTOCOL.md, "Local defaults"). */
export const DEFAULT_START_TIMEOUT = 600n;
export const DEFAULT_SLASH_BPS = 500n;

export interface Resources {
  cpuMillis: bigint;
  memoryMiB: bigint;
  storageMiB: bigint;
  bandwidthMbps: bigint;
}

export interface Spec {
  resources: Resources;
  maxPricePerSecond: bigint;
  duration: bigint;
  biddingWindow: bigint;
  minReputation: bigint;
  attributes: string[];
}

export const DEFAULT_RESOURCES: Resources = {
  cpuMillis: 2000n,
  memoryMiB: 4096n,
  storageMiB: 10240n,
  bandwidthMbps: 100n,
};

/** An order for 2 CPUs etc. in eu-west, at most 1000 wei/s for an hour, bids open for a minute. */
export function defaultSpec(overrides: Partial<Spec> = {}): Spec {
  return {
    resources: { ...DEFAULT_RESOURCES },
    maxPricePerSecond: 1_000n,
    duration: 3_600n,
    biddingWindow: 60n,
    minReputation: 0n,
    attributes: [ATTR.euWest],
    ...overrides,
  };
}

/** The spec as the OrderCreated event carries it, for `withArgs`. */
export function specArgs(spec: Spec): unknown[] {
  const r = spec.resources;
  return [
    [r.cpuMillis, r.memoryMiB, r.storageMiB, r.bandwidthMbps],
    spec.maxPricePerSecond,
    spec.duration,
    spec.biddingWindow,
    spec.minReputation,
    spec.attributes,
  ];
}

export async function marketFixture() {
  const [owner, tenant, provider1, provider2, provider3, operator, stranger, otherTenant] = await ethers.getSigners();
  const suite: Tom3Suite = await deployTom3();
  const { token, registry, market } = suite;
  const marketAddress = await market.getAddress();
  const registryAddress = await registry.getAddress();

  for (const account of [tenant, otherTenant]) {
    await token.transfer(account, 10n * TENANT_DEPOSIT);
    await token.connect(account).approve(marketAddress, ethers.MaxUint256);
    await market.connect(account).deposit(TENANT_DEPOSIT);
  }

  const providers = [provider1, provider2, provider3];
  const providerAttributes = [[ATTR.euWest, ATTR.gpu], [ATTR.euWest], [ATTR.usEast]];
  for (const [i, provider] of providers.entries()) {
    await token.transfer(provider, STAKES[i] + 10n * PROVIDER_DEPOSIT);
    await registry.connect(provider).register(`/dns4/provider${i + 1}.example/tcp/4001`, providerAttributes[i]);
    await token.connect(provider).approve(registryAddress, STAKES[i]);
    await registry.connect(provider).stake(STAKES[i]);
    await token.connect(provider).approve(marketAddress, ethers.MaxUint256);
    await market.connect(provider).deposit(PROVIDER_DEPOSIT);
  }

  await market.connect(tenant).createDeployment(VERSION_1);
  const deploymentId = await market.deploymentCount();

  return {
    ...suite,
    owner,
    treasury: owner, // the local deployment's treasury is the deployer
    tenant,
    otherTenant,
    provider1,
    provider2,
    provider3,
    providers,
    operator,
    stranger,
    deploymentId,
    /** Every account that can hold a Market balance in these tests. */
    accounts: [owner, tenant, otherTenant, provider1, provider2, provider3, operator, stranger],
  };
}

export type MarketFixture = Awaited<ReturnType<typeof marketFixture>>;

/** Pin the next block's timestamp (default: one second after the latest block) and return it. */
export async function nextBlockAt(timestamp?: bigint | number): Promise<bigint> {
  const t = timestamp === undefined ? BigInt(await time.latest()) + 1n : BigInt(timestamp);
  await time.setNextBlockTimestamp(t);
  return t;
}

/** Mine a block at `timestamp`, so views called next see that time. */
export async function mineAt(timestamp: bigint | number): Promise<void> {
  await time.increaseTo(timestamp);
}

/** Post an order as `by` (the tenant unless said otherwise) and return its id. */
export async function createOrder(
  fx: MarketFixture,
  spec: Spec = defaultSpec(),
  by: HardhatEthersSigner = fx.tenant,
  deploymentId: bigint = fx.deploymentId,
): Promise<bigint> {
  await fx.market.connect(by).createOrder(deploymentId, spec);
  return fx.market.orderCount();
}

export interface BidRequest {
  provider: HardhatEthersSigner;
  price: bigint;
  resources?: Resources;
}

/** Place the bids in order and return their ids. */
export async function placeBids(fx: MarketFixture, orderId: bigint, bids: BidRequest[]): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (const b of bids) {
    await fx.market.connect(b.provider).placeBid(orderId, b.price, b.resources ?? DEFAULT_RESOURCES);
    ids.push(await fx.market.bidCount());
  }
  return ids;
}

/** The signer of a provider address among the fixture's providers. */
export function providerSigner(fx: MarketFixture, address: string): HardhatEthersSigner {
  const signer = fx.providers.find((p) => p.address === address);
  if (!signer) throw new Error(`no provider signer for ${address}`);
  return signer;
}

/** The tenant matches the order (allowed any time) and the winner acknowledges at once. */
export async function matchAndAck(
  fx: MarketFixture,
  orderId: bigint,
): Promise<{ charterId: bigint; provider: HardhatEthersSigner; acknowledgedAt: bigint; endsAt: bigint }> {
  await fx.market.connect(fx.tenant).matchOrder(orderId);
  const charterId = orderId;
  const provider = providerSigner(fx, (await fx.market.charter(charterId)).provider);
  const acknowledgedAt = await nextBlockAt();
  await fx.market.connect(provider).acknowledge(charterId);
  const { endsAt } = await fx.market.charter(charterId);
  return { charterId, provider, acknowledgedAt, endsAt };
}

/** An acknowledged charter on a default order won by provider 1 at `price`. */
export async function activeCharter(fx: MarketFixture, price = 900n, spec: Spec = defaultSpec()) {
  const orderId = await createOrder(fx, spec);
  await placeBids(fx, orderId, [{ provider: fx.provider1, price }]);
  return matchAndAck(fx, orderId);
}

/** A matched, not yet acknowledged charter won by provider 1 at `price`; returns its id and deadline. */
export async function pendingCharter(fx: MarketFixture, price = 900n, spec: Spec = defaultSpec()) {
  const orderId = await createOrder(fx, spec);
  const [bidId] = await placeBids(fx, orderId, [{ provider: fx.provider1, price }]);
  await fx.market.connect(fx.tenant).matchOrder(orderId);
  const { acknowledgeBy } = await fx.market.charter(orderId);
  return { charterId: orderId, bidId, acknowledgeBy };
}

/** [available, locked] of an account, as a plain tuple for deep equality. */
export async function balance(fx: MarketFixture, account: AddressLike): Promise<[bigint, bigint]> {
  const [available, locked] = await fx.market.balanceOf(account);
  return [available, locked];
}

/**
 * Conservation (PROTOCOL.md invariant 1): the Market holds exactly the sum of the available and locked balances of
 * every account (fees are credited to the treasury's balance, so they are included).
 */
export async function expectConservation(
  fx: { market: MarketFixture["market"]; token: Pick<MarketFixture["token"], "balanceOf"> },
  accounts: AddressLike[],
) {
  const seen = new Set<string>();
  let total = 0n;
  for (const account of accounts) {
    const address = await ethers.resolveAddress(account);
    if (seen.has(address)) continue;
    seen.add(address);
    const [available, locked] = await fx.market.balanceOf(address);
    total += available + locked;
  }
  expect(await fx.token.balanceOf(fx.market)).to.equal(total);
}

/** Decode the reason `checkBid` returns into the custom error's name and arguments. */
export function decodeReason(fx: MarketFixture, reason: BytesLike): { name: string; args: unknown[] } {
  const error = fx.market.interface.parseError(reason);
  if (!error) throw new Error(`undecodable reason ${ethers.hexlify(reason)}`);
  return { name: error.name, args: [...error.args] };
}
