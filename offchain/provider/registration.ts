/**
 * First start: register the provider (endpoint + attributes) and stake, when the config asks for it and the chain
 * does not know the provider yet. Idempotent: a registered provider keeps its stake; its endpoint and attributes are
 * updated only when they changed (a restarted node listening on another port must be reachable at the new one).
 */
import { Contract } from "ethers";
import type { Signer } from "ethers";
import { providerRegistryAbi, tom3TokenAbi } from "../chain/abis";

export interface RegistrationResult {
  registered: boolean;
  /** The endpoint or attributes on chain were replaced. */
  updated: boolean;
  staked: bigint;
}

export async function ensureRegistered(options: {
  signer: Signer;
  registry: string;
  endpoint: string;
  attributes: readonly string[];
  stake: bigint;
}): Promise<RegistrationResult> {
  const self = await options.signer.getAddress();
  const registry = new Contract(options.registry, providerRegistryAbi, options.signer);
  if (await registry.isProvider(self)) {
    const endpoint = String(await registry.endpointOf(self));
    const held = ((await registry.attributesOf(self)) as string[]).map((a) => a.toLowerCase()).sort().join();
    const wanted = options.attributes.map((a) => a.toLowerCase()).sort().join();
    if (endpoint === options.endpoint && held === wanted) return { registered: false, updated: false, staked: 0n };
    await (await registry.update(options.endpoint, [...options.attributes])).wait();
    return { registered: false, updated: true, staked: 0n };
  }
  await (await registry.register(options.endpoint, [...options.attributes])).wait();
  if (options.stake > 0n) {
    const token = new Contract(String(await registry.token()), tom3TokenAbi, options.signer);
    await (await token.approve(options.registry, options.stake)).wait();
    await (await registry.stake(options.stake)).wait();
  }
  return { registered: true, updated: false, staked: options.stake };
}
