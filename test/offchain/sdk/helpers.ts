/**
 * What the SDK and CLI tests share: a funded market on a harness chain, providers that register, stake and bid
 * with plain ethers (as a provider daemon would), and the chain's clock.
 */
import { Contract, parseUnits, Wallet } from "ethers";
import type { InterfaceAbi, JsonRpcProvider } from "ethers";
import { providerRegistryAbi, marketAbi, tom3TokenAbi } from "../../../offchain/chain/abis";
import { attributeId } from "../../../offchain/chain/attributes";
import type { LocalChain } from "../../harness/local-chain";
import { testProvider } from "../../harness/local-chain";

export const ONE = parseUnits("1", 18);
/** What a provider offers: above examples/hello.yaml's one group (750m, 192Mi, 320Mi, 15Mbps). */
export const OFFER = { cpuMillis: 1000, memoryMiB: 1024, storageMiB: 1024, bandwidthMbps: 100 };
export const PEER_ID = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";

export interface Market {
  provider: JsonRpcProvider;
  tenant: Wallet;
  providers: Wallet[];
  token: Contract;
  registry: Contract;
  market: Contract;
}

/**
 * The API URL provider `i` registers: a loopback port nothing listens on, so a client that asks it (service URLs,
 * decisions) gets "did not answer" at once and no traffic leaves the machine.
 */
export const providerApi = (i: number): string => `http://127.0.0.1:${2 + i}`; // fetch refuses port 1 ("bad port")

/**
 * Fund the tenant (account 1) and `providerCount` providers (accounts 2..) from the deployer, and register and
 * stake each provider in region eu-west with a multiaddr and an https endpoint.
 */
export async function setUpMarket(chain: LocalChain, providerCount = 2): Promise<Market> {
  const provider = testProvider(chain.rpcUrl);
  const wallet = (i: number): Wallet => new Wallet(chain.accounts[i].privateKey, provider);
  const deployer = wallet(0);
  const tenant = wallet(1);
  const providers = Array.from({ length: providerCount }, (_, i) => wallet(2 + i));
  const at = (address: string, abi: unknown, runner: Wallet): Contract =>
    new Contract(address, abi as InterfaceAbi, runner);
  const { contracts } = chain.deployment;
  const token = at(contracts.token, tom3TokenAbi, deployer);
  await (await token.transfer(tenant.address, 1000n * ONE)).wait();
  for (const [i, p] of providers.entries()) {
    await (await token.transfer(p.address, 100n * ONE)).wait();
    const registry = at(contracts.registry, providerRegistryAbi, p);
    const endpoint = `/ip4/127.0.0.1/tcp/${4001 + i}/p2p/${PEER_ID} ${providerApi(i)}`;
    await (await registry.register(endpoint, [attributeId("region=eu-west")])).wait();
    await (await at(contracts.token, tom3TokenAbi, p).approve(contracts.registry, 100n * ONE)).wait();
    await (await registry.stake(10n * ONE * BigInt(i + 1))).wait();
  }
  return {
    provider,
    tenant,
    providers,
    token: at(contracts.token, tom3TokenAbi, tenant),
    registry: at(contracts.registry, providerRegistryAbi, tenant),
    market: at(contracts.market, marketAbi, tenant),
  };
}

/** `provider` bids `price` wei/s on `orderId`. */
export async function bid(m: Market, provider: Wallet, orderId: bigint, price: bigint): Promise<void> {
  const market = m.market.connect(provider) as Contract;
  await (await market.placeBid(orderId, price, OFFER)).wait();
}

/** `provider` acknowledges charter `charterId`. */
export async function acknowledge(m: Market, provider: Wallet, charterId: bigint): Promise<void> {
  await (await (m.market.connect(provider) as Contract).acknowledge(charterId)).wait();
}

/** Move the chain's clock forward and mine a block. */
export async function increaseTime(m: Market, seconds: number): Promise<void> {
  await m.provider.send("evm_increaseTime", [seconds]);
  await m.provider.send("evm_mine", []);
}
