import type { Tom3Client } from "../client";
import { parseEndpoint } from "../delivery";
import type { EndpointEntry } from "../delivery";
import { attributeId } from "../../chain/attributes";

export interface ListProvidersParameters {
  /** Also list accounts that registered once and are no longer providers (default false). */
  includeUnregistered?: boolean;
  /** `key=value` attributes to name in the result: the chain holds only their hashes. */
  knownAttributes?: readonly string[];
}

export interface ProviderInfo {
  address: string;
  registered: boolean;
  endpoint: string;
  /** The endpoint's entries, multiaddrs first. */
  endpoints: EndpointEntry[];
  /** keccak256("key=value") of each attribute it declared. */
  attributes: string[];
  /** The declared attributes among `knownAttributes`, as text. */
  knownAttributes: string[];
  stake: bigint;
  /** 0..10000. */
  reputation: number;
  completed: number;
  failed: number;
  /** Block of its first registration. */
  registeredAtBlock: number;
}

export interface ListProvidersReturnType {
  providers: ProviderInfo[];
}

/**
 * The provider directory: every account that registered (from `ProviderRegistered` / `ProviderUpdated` logs),
 * with its current endpoint, attributes, stake, reputation and delivery history from the registry's views.
 * Sorted by reputation, highest first.
 *
 * @example
 * import { listProviders } from "./offchain/sdk";
 *
 * const { providers } = await listProviders(client, { knownAttributes: ["region=eu-west"] });
 * for (const p of providers) console.log(p.address, p.reputation, p.knownAttributes.join(","), p.endpoint);
 */
export async function listProviders(
  client: Tom3Client,
  parameters: ListProvidersParameters = {},
): Promise<ListProvidersReturnType> {
  const firstSeen = new Map<string, number>();
  const registered = await client.events("registry", "ProviderRegistered");
  const updated = await client.events("registry", "ProviderUpdated");
  for (const event of [...registered, ...updated].sort((a, b) => a.blockNumber - b.blockNumber)) {
    const address = String(event.args.provider);
    if (!firstSeen.has(address)) firstSeen.set(address, event.blockNumber);
  }
  const known = new Map((parameters.knownAttributes ?? []).map((text) => [attributeId(text), text]));
  const providers: ProviderInfo[] = [];
  for (const [address, registeredAtBlock] of firstSeen) {
    const isProvider = await client.read<boolean>("registry", "isProvider", [address]);
    if (!isProvider && !parameters.includeUnregistered) continue;
    const [endpoint, attributes, stake, reputation, [completed, failed]] = await Promise.all([
      client.read<string>("registry", "endpointOf", [address]),
      client.read<string[]>("registry", "attributesOf", [address]),
      client.read<bigint>("registry", "stakeOf", [address]),
      client.read<bigint>("registry", "reputationOf", [address]),
      client.read<[bigint, bigint]>("registry", "deliveryOf", [address]),
    ]);
    providers.push({
      address,
      registered: isProvider,
      endpoint,
      endpoints: parseEndpoint(endpoint),
      attributes: [...attributes],
      knownAttributes: attributes.filter((a) => known.has(a.toLowerCase())).map((a) => known.get(a.toLowerCase())!),
      stake,
      reputation: Number(reputation),
      completed: Number(completed),
      failed: Number(failed),
      registeredAtBlock,
    });
  }
  providers.sort((a, b) => b.reputation - a.reputation || a.registeredAtBlock - b.registeredAtBlock);
  return { providers };
}
