import type { Tom3Client } from "../client";
import { depositToEscrow } from "../escrow";
import { getBalance } from "./getBalance";

export interface DepositParameters {
  /** Wei to move from the wallet into escrow. */
  amount: bigint;
  /** Use an EIP-2612 permit signature where the token supports it (default true); else approve + deposit. */
  permit?: boolean;
}

export interface DepositReturnType {
  amount: bigint;
  /** Whether a permit signature was used. */
  permit: boolean;
  /** Escrow after the deposit. */
  available: bigint;
  locked: bigint;
  transactions: string[];
}

/**
 * Move TOM3 from the signer's wallet into its Market escrow: one `depositWithPermit` transaction with an EIP-2612
 * signature where possible, otherwise `approve` then `deposit`.
 *
 * @example
 * import { parseTokenAmount } from "./offchain/chain";
 * import { deposit } from "./offchain/sdk";
 *
 * const { available } = await deposit(client, { amount: parseTokenAmount("100") });
 */
export async function deposit(client: Tom3Client, parameters: DepositParameters): Promise<DepositReturnType> {
  const made = await depositToEscrow(client, parameters.amount, parameters.permit ?? true);
  const { available, locked } = await getBalance(client);
  return { amount: made.amount, permit: made.permit, available, locked, transactions: made.transactions };
}
