/**
 * The libp2p host every TOM3 node runs: TCP, TLS 1.3 first (the faster secure channel for bulk data) with Noise as
 * a fallback, yamux multiplexing, no discovery and no other services. Only secp256k1 peers (Ethereum keys) get past
 * the handshake: any other key has no address and could never be a participant.
 */
import type { Libp2p } from "libp2p";
import type { PrivateKey } from "@libp2p/interface";
import { loadLibp2p } from "./esm";

export type Encryption = "tls" | "noise";

export interface TransportOptions {
  privateKey: PrivateKey;
  /** Listen addresses (default `/ip4/0.0.0.0/tcp/0`; tests use `/ip4/127.0.0.1/tcp/0`). */
  listen?: string[];
  /** Secure channels offered, in order of preference (default TLS then Noise). */
  encryption?: Encryption[];
}

/** A libp2p host, not yet started. */
export async function createTransport(options: TransportOptions): Promise<Libp2p> {
  const m = await loadLibp2p();
  const encrypters = (options.encryption ?? ["tls", "noise"]).map((name) =>
    name === "tls" ? m.tls.tls() : m.noise.noise(),
  );
  const ethereumKeysOnly = (peerId: { type: string }) => peerId.type !== "secp256k1";
  return m.libp2p.createLibp2p({
    privateKey: options.privateKey,
    start: false,
    addresses: { listen: options.listen ?? ["/ip4/0.0.0.0/tcp/0"] },
    // The factories' component types are declared twice (once per package copy under node10 resolution) and do not
    // unify structurally; at run time they are the same objects.
    transports: [m.tcp.tcp() as never],
    connectionEncrypters: encrypters as never[],
    streamMuxers: [m.yamux.yamux() as never],
    connectionGater: {
      denyInboundEncryptedConnection: ethereumKeysOnly,
      denyOutboundEncryptedConnection: ethereumKeysOnly,
    },
  });
}
