import { getAddress, isAddress } from "ethers";
import type { Tom3Client } from "../client";
import { Tom3InputError } from "../errors";

export interface TransferParameters {
  /** The receiving wallet. */
  to: string;
  /** Wei of TOM3 to send. */
  amount: bigint;
}

export interface TransferReturnType {
  from: string;
  to: string;
  amount: bigint;
  /** The sender's wallet after the transfer (wei). */
  balance: bigint;
  /** The receiver's wallet after the transfer (wei). */
  received: bigint;
  transaction: string;
}

/**
 * Send TOM3 (the ERC-20) from the signer's wallet to another wallet, e.g. a provider's, so it can stake. More than
 * the wallet holds reverts with `ERC20InsufficientBalance`, thrown as a `Tom3ContractError` that says how much it
 * holds.
 *
 * @example
 * import { parseTokenAmount } from "./offchain/chain";
 * import { transfer } from "./offchain/sdk";
 *
 * await transfer(client, { to: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", amount: parseTokenAmount("1000") });
 */
export async function transfer(client: Tom3Client, parameters: TransferParameters): Promise<TransferReturnType> {
  const from = await client.account("transfer");
  if (!isAddress(parameters.to)) throw new Tom3InputError(`"${parameters.to}" is not an address (0x and 40 hex digits)`);
  const to = getAddress(parameters.to);
  if (parameters.amount <= 0n) throw new Tom3InputError(`a transfer must be positive, got ${parameters.amount} wei`);
  const sent = await client.send("token", "transfer", [to, parameters.amount]);
  const [balance, received] = await Promise.all([
    client.read<bigint>("token", "balanceOf", [from]),
    client.read<bigint>("token", "balanceOf", [to]),
  ]);
  return { from, to, amount: parameters.amount, balance, received, transaction: sent.hash };
}
