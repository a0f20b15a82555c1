import type { Tom3Client } from "../client";
import { providerApiGet, providerApiUrl, Tom3ProviderApiError } from "../provider-api";
import { listProviders } from "./listProviders";

export interface GetBidDecisionsParameters {
  orderId: bigint;
  /** Time limit of each provider's answer, ms (default 5000). */
  timeoutMs?: number;
}

/** What one registered provider says about the order. */
export type ProviderDecision =
  | { provider: string; api: string; kind: "bid"; price: bigint; outcome?: string; reason?: string }
  | { provider: string; api: string; kind: "decline"; code: string; reason: string }
  /** The provider's API answered that it made no decision on the order (it has not seen it). */
  | { provider: string; api: string; kind: "none"; reason: string }
  /** No answer: its endpoint names no API, or the API did not answer. */
  | { provider: string; api?: string; kind: "unreachable"; reason: string };

export interface GetBidDecisionsReturnType {
  decisions: ProviderDecision[];
}

/**
 * Why an order got the bids it got: asks every registered provider's API (`GET /orders/:id/decision`) for its bid
 * engine's decision, with the reason of each decline (its stable code and a sentence: "price 121 wei/s above the
 * order's limit of 120"). A provider without an API in its endpoint, or whose API does not answer, is reported as
 * unreachable, so every provider appears once.
 *
 * @example
 * import { getBidDecisions } from "./offchain/sdk";
 *
 * const { decisions } = await getBidDecisions(client, { orderId: 3n });
 * for (const d of decisions) console.log(d.provider, d.kind, "reason" in d ? d.reason : "");
 */
export async function getBidDecisions(client: Tom3Client, parameters: GetBidDecisionsParameters): Promise<GetBidDecisionsReturnType> {
  const { providers } = await listProviders(client);
  const decisions = await Promise.all(
    providers.map(async (p): Promise<ProviderDecision> => {
      const api = providerApiUrl(p.endpoint);
      if (!api) return { provider: p.address, kind: "unreachable", reason: "its endpoint announces no API URL" };
      try {
        // An API answers for one provider: an endpoint left behind by a re-keyed provider must not speak for it.
        const status = await providerApiGet<{ provider?: string }>(api, "/status", { timeoutMs: parameters.timeoutMs ?? 5_000 });
        if (typeof status.provider === "string" && status.provider.toLowerCase() !== p.address.toLowerCase()) {
          return {
            provider: p.address,
            api,
            kind: "unreachable",
            reason: `its endpoint's API ${api} answers for another provider, ${status.provider}: this provider's daemon does not run there`,
          };
        }
        const d = await providerApiGet<Record<string, unknown>>(api, `/orders/${parameters.orderId}/decision`, {
          timeoutMs: parameters.timeoutMs ?? 5_000,
        });
        if (d.kind === "decline") return { provider: p.address, api, kind: "decline", code: String(d.code), reason: String(d.reason) };
        const failure = d.failure as { reason?: string } | undefined;
        return {
          provider: p.address,
          api,
          kind: "bid",
          price: BigInt(String(d.price)),
          ...(d.outcome === undefined ? {} : { outcome: String(d.outcome) }),
          ...(failure?.reason === undefined ? {} : { reason: `its bid failed: ${failure.reason}` }),
        };
      } catch (error) {
        if (error instanceof Tom3ProviderApiError && error.code === "NOT_FOUND") {
          return { provider: p.address, api, kind: "none", reason: await notSeen(client, api, parameters.timeoutMs ?? 5_000) };
        }
        return { provider: p.address, api, kind: "unreachable", reason: (error as Error).message };
      }
    }),
  );
  return { decisions };
}

/**
 * Why a provider may not have seen an order: where its chain watcher is against the chain's head. A daemon acts on
 * events `chain.confirmations` blocks deep, so on a node that mines only for transactions (a plain `hardhat node`)
 * an order created last is never seen.
 */
async function notSeen(client: Tom3Client, api: string, timeoutMs: number): Promise<string> {
  const base = "it made no decision on this order (it has not seen it)";
  try {
    const [status, head] = await Promise.all([
      providerApiGet<{ watcher?: { cursor?: { block?: number } } }>(api, "/status", { timeoutMs }),
      client.provider.getBlockNumber(),
    ]);
    const read = status.watcher?.cursor?.block;
    if (typeof read !== "number") return base;
    if (read >= head) return `${base}; its chain watcher has read every block up to the head (${head})`;
    return (
      `${base}: its chain watcher has read up to block ${read}, the chain is at ${head}; a provider acts on events ` +
      "chain.confirmations blocks deep, so a node that mines only for transactions (a plain `hardhat node`) never " +
      "shows it the last order: run a node that makes blocks by itself (`npx anvil --block-time 1`)"
    );
  } catch {
    return base;
  }
}
