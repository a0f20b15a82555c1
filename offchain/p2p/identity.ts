/**
 * A participant's libp2p identity, bound to its on-chain address.
 *
 * - Direct: the account's secp256k1 private key (the Ethereum key) is also its libp2p key, so the peer id carries
 *   the public key and the address is `computeAddress(remotePeer.publicKey.raw)` once the secure channel has proved
 *   that the peer holds the key.
 * - Delegated: a wallet whose key stays cold (MetaMask, a hardware wallet) signs an EIP-712 `SessionKey` naming a
 *   fresh session key, the session node's libp2p identity. The node presents the delegation in its requests; the
 *   receiver checks the signature, that the connection's peer is the session key, the expiry, the chain and the
 *   Market. The effective participant is then the signing account.
 */
import { computeAddress, getAddress, hexlify, isAddress, isHexString, verifyTypedData, Wallet } from "ethers";
import type { PeerId, PrivateKey } from "@libp2p/interface";
import { loadLibp2p } from "./esm";

/** EIP-712 domain of session-key delegations. The struct carries chain and Market, so the domain need not. */
export const SESSION_KEY_DOMAIN = { name: "TOM3", version: "1" } as const;
export const SESSION_KEY_TYPES = {
  SessionKey: [
    { name: "sessionKey", type: "address" },
    { name: "expiry", type: "uint64" },
    { name: "chainId", type: "uint256" },
    { name: "market", type: "address" },
  ],
} as const;

/** What the account signs. */
export interface SessionKeyGrant {
  sessionKey: string;
  /** Unix seconds; the delegation is refused from this time on. */
  expiry: number;
  chainId: number;
  market: string;
}

/** A signed delegation as it travels in a request header (JSON: numbers, hex strings). */
export interface SessionKeyDelegation extends SessionKeyGrant {
  /** The account that signed: the effective participant. */
  account: string;
  signature: string;
}

/** Anything that signs EIP-712 typed data: an ethers Signer, a browser wallet bridged to ethers. */
export interface TypedDataSigner {
  getAddress(): Promise<string>;
  signTypedData(
    domain: typeof SESSION_KEY_DOMAIN,
    types: { SessionKey: Array<{ name: string; type: string }> },
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** The libp2p private key of an Ethereum private key (32 bytes, hex). */
export async function libp2pKeyFromEthereumKey(privateKey: string): Promise<PrivateKey> {
  if (!isHexString(privateKey, 32)) throw new TypeError("a private key is 32 bytes of hex (0x…)");
  const { keys } = await loadLibp2p();
  // @libp2p/crypto ships its own copy of @libp2p/interface; the two PrivateKey types differ only in typed-array
  // generics, and libp2p takes the key @libp2p/crypto makes.
  return keys.privateKeyFromRaw(Buffer.from(privateKey.slice(2), "hex")) as unknown as PrivateKey;
}

/** The Ethereum address of an Ethereum private key. */
export function addressOfKey(privateKey: string): string {
  return new Wallet(privateKey).address;
}

/**
 * The Ethereum address a peer id stands for, or undefined when its key is not secp256k1 (such a peer has no
 * address and is never a participant).
 */
export function addressOfPeer(peerId: PeerId): string | undefined {
  if (peerId.type !== "secp256k1" || peerId.publicKey === undefined) return undefined;
  const key = hexlify(peerId.publicKey.raw);
  let address = addresses.get(key);
  if (address === undefined) {
    // Decompressing the key is ~0.2 ms of curve arithmetic, on every inbound stream: remembered per key (a pure
    // function of it), for the peers seen last.
    address = computeAddress(key);
    if (addresses.size >= ADDRESS_CACHE_SIZE) addresses.delete(addresses.keys().next().value as string);
    addresses.set(key, address);
  }
  return address;
}

const ADDRESS_CACHE_SIZE = 1024;
const addresses = new Map<string, string>();

/** A fresh session key: a random Ethereum key whose address the account delegates to. */
export function createSessionKey(): { privateKey: string; address: string } {
  const wallet = Wallet.createRandom();
  return { privateKey: wallet.privateKey, address: wallet.address };
}

/** Sign a session-key delegation with the account's wallet. */
export async function signSessionKey(signer: TypedDataSigner, grant: SessionKeyGrant): Promise<SessionKeyDelegation> {
  const value = grantValue(grant);
  const signature = await signer.signTypedData(
    SESSION_KEY_DOMAIN,
    { SessionKey: [...SESSION_KEY_TYPES.SessionKey] },
    value,
  );
  return {
    ...grant,
    sessionKey: getAddress(grant.sessionKey),
    market: getAddress(grant.market),
    account: getAddress(await signer.getAddress()),
    signature,
  };
}

/** Why a delegation was refused. */
export class DelegationError extends Error {
  override readonly name = "DelegationError";
}

export interface DelegationContext {
  /** Address of the connection's authenticated peer. */
  peerAddress: string;
  chainId: number;
  market: string;
  /** Unix seconds now (the later of the local clock and the chain's). */
  now: number;
}

/**
 * Check a delegation against the connection it came on; returns the effective participant (the signing account)
 * or throws a `DelegationError` saying why not.
 */
export function verifyDelegation(input: unknown, context: DelegationContext): string {
  const d = parseDelegation(input);
  let signer: string;
  try {
    signer = verifyTypedData(
      SESSION_KEY_DOMAIN,
      { SessionKey: [...SESSION_KEY_TYPES.SessionKey] },
      grantValue(d),
      d.signature,
    );
  } catch (cause) {
    throw new DelegationError("the signature does not decode", { cause });
  }
  if (signer !== getAddress(d.account))
    throw new DelegationError(`signed by ${signer}, not by ${getAddress(d.account)}`);
  if (getAddress(d.sessionKey) !== getAddress(context.peerAddress)) {
    throw new DelegationError(
      `delegates to ${getAddress(d.sessionKey)}, but the peer is ${getAddress(context.peerAddress)}`,
    );
  }
  if (d.expiry <= context.now) throw new DelegationError(`expired at ${d.expiry} (now ${context.now})`);
  if (d.chainId !== context.chainId)
    throw new DelegationError(`for chain ${d.chainId}, this is chain ${context.chainId}`);
  if (getAddress(d.market) !== getAddress(context.market)) {
    throw new DelegationError(`for Market ${getAddress(d.market)}, not ${getAddress(context.market)}`);
  }
  return signer;
}

function parseDelegation(input: unknown): SessionKeyDelegation {
  if (typeof input !== "object" || input === null) throw new DelegationError("a delegation is an object");
  const d = input as Record<string, unknown>;
  for (const key of ["account", "sessionKey", "market"] as const) {
    if (typeof d[key] !== "string" || !isAddress(d[key])) throw new DelegationError(`${key} must be an address`);
  }
  for (const key of ["expiry", "chainId"] as const) {
    if (typeof d[key] !== "number" || !Number.isSafeInteger(d[key]) || (d[key] as number) < 0) {
      throw new DelegationError(`${key} must be a non-negative integer`);
    }
  }
  if (typeof d.signature !== "string" || !isHexString(d.signature)) throw new DelegationError("signature must be hex");
  return d as unknown as SessionKeyDelegation;
}

function grantValue(grant: SessionKeyGrant): Record<string, unknown> {
  return {
    sessionKey: getAddress(grant.sessionKey),
    expiry: BigInt(grant.expiry),
    chainId: BigInt(grant.chainId),
    market: getAddress(grant.market),
  };
}
