/**
 * Moving tokens into the Market's escrow: with an EIP-2612 permit signature (`depositWithPermit`, one
 * transaction) where the token and the signer support it, otherwise `approve` then `deposit`. Shared by the
 * `deposit` action and by every action that locks funds (`deployManifest`, `extendCharter`), which top up only
 * the shortfall of the available balance.
 */
import type { Signature } from "ethers";
import { signPermit } from "../chain/permit";
import type { Tom3Client } from "./client";
import { Tom3InputError } from "./errors";

/** How long a permit signature stays valid. */
const PERMIT_LIFETIME_S = 3600n;

export interface EscrowDeposit {
  amount: bigint;
  /** Whether the deposit went through a permit signature (else approve + deposit). */
  permit: boolean;
  transactions: string[];
}

/**
 * Deposit `amount` from the signer's wallet. `usePermit`: try the permit path first (default); a token or signer
 * without EIP-2612 / EIP-712 support falls back to approve + deposit.
 */
export async function depositToEscrow(client: Tom3Client, amount: bigint, usePermit = true): Promise<EscrowDeposit> {
  if (amount <= 0n) throw new Tom3InputError(`a deposit must be positive, got ${amount} wei`);
  const owner = await client.account("deposit");
  const signature = usePermit ? await permitSignature(client, owner, amount) : undefined;
  let result: EscrowDeposit;
  if (signature) {
    const { deadline, v, r, s } = signature;
    const sent = await client.send("market", "depositWithPermit", [amount, deadline, v, r, s]);
    result = { amount, permit: true, transactions: [sent.hash] };
  } else {
    const approved = await client.send("token", "approve", [client.deployment.contracts.market, amount]);
    const sent = await client.send("market", "deposit", [amount]);
    result = { amount, permit: false, transactions: [approved.hash, sent.hash] };
  }
  client.progress({ type: "escrowDeposited", amount, permit: result.permit });
  return result;
}

/**
 * Make sure the signer has at least `needed` available in escrow, depositing the shortfall. Returns the deposit
 * made, or undefined when the balance already sufficed.
 */
export async function ensureAvailable(
  client: Tom3Client,
  needed: bigint,
  usePermit = true,
): Promise<EscrowDeposit | undefined> {
  const owner = await client.account("deposit");
  const [available] = await client.read<[bigint, bigint]>("market", "balanceOf", [owner]);
  if (available >= needed) return undefined;
  return depositToEscrow(client, needed - available, usePermit);
}

/** An EIP-2612 permit for the Market, or undefined when the token or the signer cannot make one. */
async function permitSignature(
  client: Tom3Client,
  owner: string,
  value: bigint,
): Promise<{ deadline: bigint; v: number; r: string; s: string } | undefined> {
  const signer = client.requireSigner("deposit");
  let domain: { name: string; version: string; chainId: bigint; verifyingContract: string };
  let nonce: bigint;
  try {
    // ERC-5267: the token states its own EIP-712 domain, so name and version are never guessed.
    const d = await client.contracts.token.getFunction("eip712Domain").staticCall();
    domain = { name: d[1], version: d[2], chainId: d[3], verifyingContract: d[4] };
    nonce = await client.contracts.token.getFunction("nonces").staticCall(owner);
  } catch {
    return undefined;
  }
  const deadline = (await client.now()) + PERMIT_LIFETIME_S;
  const message = { owner, spender: client.deployment.contracts.market, value, nonce, deadline };
  let signature: Signature;
  try {
    signature = await signPermit(signer, domain, message);
  } catch {
    return undefined; // a signer without EIP-712 support
  }
  const { v, r, s } = signature;
  return { deadline, v, r, s };
}
