/**
 * EIP-2612 permits: one definition of the typed data, used by the SDK's escrow deposit, the tests and benchmarks.
 */
import { Signature, type TypedDataDomain, type TypedDataField } from "ethers";

export const PERMIT_TYPES: Record<string, TypedDataField[]> = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export interface PermitMessage {
  owner: string;
  spender: string;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
}

/** Anything that signs EIP-712 typed data (an ethers Signer, a Hardhat signer, a wallet bridge). */
export interface TypedDataSigner {
  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** Sign `message` as an EIP-2612 permit under the token's `domain`; returns the split signature (v, r, s). */
export async function signPermit(
  signer: TypedDataSigner,
  domain: TypedDataDomain,
  message: PermitMessage,
): Promise<Signature> {
  return Signature.from(await signer.signTypedData(domain, PERMIT_TYPES, { ...message }));
}
