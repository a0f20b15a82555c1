import type { Tom3Client } from "../client";
import { Tom3InputError } from "../errors";
import { getBalance } from "./getBalance";

export interface WithdrawParameters {
  /** Wei to take out of the available escrow, or "all" of it. */
  amount: bigint | "all";
}

export interface WithdrawReturnType {
  amount: bigint;
  /** Escrow after the withdrawal. */
  available: bigint;
  locked: bigint;
  transaction: string;
}

/**
 * Send part of the signer's available escrow back to its wallet. More than is available reverts with
 * `MarketInsufficientBalance`, thrown as a `Tom3ContractError` that says how much is available.
 *
 * @example
 * import { parseTokenAmount } from "./offchain/chain";
 * import { withdraw } from "./offchain/sdk";
 *
 * await withdraw(client, { amount: parseTokenAmount("40") });
 * await withdraw(client, { amount: "all" });
 */
export async function withdraw(client: Tom3Client, parameters: WithdrawParameters): Promise<WithdrawReturnType> {
  client.requireSigner("withdraw");
  const amount = parameters.amount === "all" ? (await getBalance(client)).available : parameters.amount;
  if (amount <= 0n) throw new Tom3InputError(parameters.amount === "all" ? "nothing available to withdraw" : `a withdrawal must be positive, got ${amount} wei`);
  const sent = await client.send("market", "withdraw", [amount]);
  const { available, locked } = await getBalance(client);
  return { amount, available, locked, transaction: sent.hash };
}
