/**
 * One `eth_chainId` round trip over HTTP: how every part checks that a node answers before it builds on it (ethers
 * would otherwise retry its network detection forever). Callers word the failure for their own user.
 */

/** The node answered, but not with a JSON-RPC chain id. */
export class RpcAnswerError extends Error {
  override name = "RpcAnswerError";
  constructor(readonly status: number) {
    super(`unexpected answer (HTTP ${status})`);
  }
}

/**
 * The chain id the node at `rpcUrl` reports. Throws what `fetch` throws when nothing answers in `timeoutMs` (a
 * `TimeoutError`, or a `TypeError` whose `cause` is the socket's error), and `RpcAnswerError` for any other answer.
 */
export async function requestChainId(rpcUrl: string, timeoutMs: number): Promise<bigint> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json().catch(() => undefined)) as { result?: unknown } | undefined;
  if (typeof body?.result !== "string") throw new RpcAnswerError(response.status);
  return BigInt(body.result);
}
