/**
 * `npm run demo:chain`: the TOM3 market on the in-process Hardhat chain, step by step (no Docker, no daemons).
 *
 * Deploys the suite with the deployment module, funds a tenant and three providers, and walks one order through
 * its whole life on chain: bids at three prices (one provider declines, with the contract's own reason), the
 * lowest bid winning, acknowledgement, payment accruing per second and being claimed, an extension, the close,
 * and final balances that add up to what was deposited.
 */
import hre from "hardhat";
import { formatUnits, id, parseUnits } from "ethers";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import Tom3Module from "../deploy/modules/Tom3";
import { decodeRevertData } from "../offchain/chain/errors";
import type { Market, ProviderRegistry, TOM3Token } from "../typechain-types";

const fmt = (wei: bigint) => `${formatUnits(wei, 18)} TOM3`;
let step = 0;
const say = (text: string) => console.log(`\n[${++step}] ${text}`);
const detail = (text: string) => console.log(`    ${text}`);

async function main(): Promise<void> {
  const [deployer, tenant, ...providers] = await hre.ethers.getSigners();
  const names = ["alpha (eu-west)", "bravo (eu-west)", "charlie (us-east)"];

  say(`Deploying the TOM3 suite on the embedded chain (id ${(await hre.ethers.provider.getNetwork()).chainId})`);
  const deployed = await hre.ignition.deploy(Tom3Module, { displayUi: false });
  const token = deployed.token as unknown as TOM3Token;
  const registry = deployed.registry as unknown as ProviderRegistry;
  const market = deployed.market as unknown as Market;
  detail(`token ${await token.getAddress()}`);
  detail(`market ${await market.getAddress()}`);

  say("Funding the tenant and three providers");
  const tenantFunds = parseUnits("1000", 18);
  await token.connect(deployer).transfer(tenant.address, tenantFunds);
  await token.connect(tenant).approve(await market.getAddress(), tenantFunds);
  await market.connect(tenant).deposit(tenantFunds);
  detail(`tenant deposited ${fmt(tenantFunds)} into escrow`);
  const regions = ["region=eu-west", "region=eu-west", "region=us-east"];
  for (const [i, p] of providers.slice(0, 3).entries()) {
    const stake = parseUnits(String(1000 * (i + 1)), 18);
    await token.connect(deployer).transfer(p.address, stake);
    await registry.connect(p).register(`https://provider-${i}.example/api`, [id(regions[i])]);
    await token.connect(p).approve(await registry.getAddress(), stake);
    await registry.connect(p).stake(stake);
    detail(`${names[i]} registered, staked ${fmt(stake)}, reputation ${await registry.reputationOf(p.address)}`);
  }

  say("The tenant creates a deployment and posts an order (1 CPU, 512 MiB, region eu-west, 1 h, 30 s window)");
  const version = id("examples/hello.yaml v1");
  await (await market.connect(tenant).createDeployment(version)).wait();
  const deploymentId = await market.deploymentCount();
  const maxPrice = parseUnits("0.0001", 18);
  const spec = {
    resources: { cpuMillis: 1000, memoryMiB: 512, storageMiB: 1024, bandwidthMbps: 10 },
    maxPricePerSecond: maxPrice,
    duration: 3600n,
    biddingWindow: 30n,
    minReputation: 0,
    attributes: [id("region=eu-west")],
  };
  await (await market.connect(tenant).createOrder(deploymentId, spec)).wait();
  const orderId = await market.orderCount();
  detail(`order ${orderId}: max ${fmt(maxPrice)}/s, locks ${fmt(maxPrice * 3600n)} of the tenant's escrow`);

  say("Providers bid");
  const prices = [parseUnits("0.00008", 18), parseUnits("0.00006", 18), parseUnits("0.00005", 18)];
  for (const [i, p] of providers.slice(0, 3).entries()) {
    const [qualifies, reason] = await market.checkBid(orderId, p.address, prices[i], spec.resources);
    if (!qualifies) {
      detail(`${names[i]} declines: ${decodeRevertData(reason).message}`);
      continue;
    }
    await (await market.connect(p).placeBid(orderId, prices[i], spec.resources)).wait();
    detail(`${names[i]} bids ${fmt(prices[i])}/s`);
  }

  say("The bidding window closes; anyone matches the order: the lowest qualifying bid wins");
  await time.increase(31);
  const winner = await market.bid(await market.bestBid(orderId));
  await (await market.connect(providers[1]).matchOrder(orderId)).wait();
  const charter = await market.charter(orderId);
  detail(`charter ${orderId}: ${names[providers.indexOf(providers.find((p) => p.address === winner.provider)!)]}`);
  detail(`at ${fmt(charter.pricePerSecond)}/s for ${charter.duration} s; unused escrow returned to the tenant`);

  const provider = providers.find((p) => p.address === charter.provider)!;
  say("The provider acknowledges: the workload runs and payment accrues per second");
  await (await market.connect(provider).acknowledge(orderId)).wait();
  await time.increase(600);
  detail(`after 10 minutes: accrued ${fmt(await market.accrued(orderId))}`);
  await (await market.connect(provider).claim(orderId)).wait();
  detail(`claimed; provider's available balance ${fmt((await market.balanceOf(provider.address))[0])}`);

  say("The tenant extends the charter by 30 minutes, then closes it early after 20 more minutes");
  await (await market.connect(tenant).extendCharter(orderId, 1800n)).wait();
  await time.increase(1200);
  const closeTx = await market.connect(tenant).closeCharter(orderId);
  const receipt = await closeTx.wait();
  const closed = receipt!.logs.map((l) => market.interface.parseLog(l)).find((l) => l?.name === "CharterClosed");
  detail(`closed: paid the provider ${fmt(closed!.args.paidToProvider)}, refunded ${fmt(closed!.args.refundedToTenant)}`);
  const [completed, failed] = await registry.deliveryOf(provider.address);
  detail(`provider history: ${completed} completed, ${failed} failed; reputation ${await registry.reputationOf(provider.address)}`);

  say("Final balances add up");
  let sum = 0n;
  for (const who of [tenant, ...providers.slice(0, 3)]) {
    const [available, locked] = await market.balanceOf(who.address);
    sum += available + locked;
  }
  const held = await token.balanceOf(await market.getAddress());
  const [tenantAvailable] = await market.balanceOf(tenant.address);
  detail(`tenant available ${fmt(tenantAvailable)}; provider earned ${fmt((await market.balanceOf(provider.address))[0])}`);
  detail(`market holds ${fmt(held)} = sum of escrow accounts ${fmt(sum)}: ${held === sum ? "OK" : "MISMATCH"}`);
  if (held !== sum) throw new Error("escrow does not add up");
  console.log("\nDemo finished.");
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
