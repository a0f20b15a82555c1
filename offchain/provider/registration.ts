/**
 * First start: register the provider (endpoint + attributes) and stake, when the config asks for it and the chain
 * does not know the provider yet. Idempotent: a registered provider is left as is.
 */
import { Contract } from "ethers";
import type { Signer } from "ethers";
import { providerRegistryAbi, tom3TokenAbi } from "../chain/abis";

export interface RegistrationResult {
  registered: boolean;
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
  if (await registry.isProvider(self)) return { registered: false, staked: 0n };
  await (await registry.register(options.endpoint, [...options.attributes])).wait();
  if (options.stake > 0n) {
    const token = new Contract(String(await registry.token()), tom3TokenAbi, options.signer);
    await (await token.approve(options.registry, options.stake)).wait();
    await (await registry.stake(options.stake)).wait();
  }
  return { registered: true, staked: options.stake };
}
