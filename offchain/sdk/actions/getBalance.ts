import { getAddress } from "ethers";
import type { Tom3Client } from "../client";

export interface GetBalanceParameters {
  /** Default: the signer. */
  account?: string;
}

export interface GetBalanceReturnType {
  account: string;
  /** TOM3 in the wallet (wei). */
  wallet: bigint;
  /** Escrow that can be withdrawn or locked (wei). */
  available: bigint;
  /** Escrow backing orders, charters and bid bonds (wei). */
  locked: bigint;
}

/**
 * An account's TOM3: in its wallet, and in the Market's escrow (available and locked).
 *
 * @example
 * import { getBalance } from "./offchain/sdk";
 * import { formatTokens } from "./offchain/chain";
 *
 * const { wallet, available, locked } = await getBalance(client);
 * console.log(formatTokens(available));
 */
export async function getBalance(client: Tom3Client, parameters: GetBalanceParameters = {}): Promise<GetBalanceReturnType> {
  const account = parameters.account ? getAddress(parameters.account) : await client.account("getBalance without an account");
  const [wallet, [available, locked]] = await Promise.all([
    client.read<bigint>("token", "balanceOf", [account]),
    client.read<[bigint, bigint]>("market", "balanceOf", [account]),
  ]);
  return { account, wallet, available, locked };
}
