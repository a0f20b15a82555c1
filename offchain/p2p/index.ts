/**
 * Peer-to-peer workload delivery: the `/tom3/manifest/1.0.0` protocol over libp2p, with identities bound to
 * on-chain addresses and every transfer checked against the chain. See README.md in this folder.
 */
export {
  allowAllAuthorizer,
  ChainAuthorizer,
  type ChainAuthorizerOptions,
  type DeploymentInfo,
  type ManifestAuthorizer,
} from "./authorizer";
export {
  addressOfKey,
  addressOfPeer,
  createSessionKey,
  DelegationError,
  libp2pKeyFromEthereumKey,
  SESSION_KEY_DOMAIN,
  SESSION_KEY_TYPES,
  signSessionKey,
  verifyDelegation,
  type DelegationContext,
  type SessionKeyDelegation,
  type SessionKeyGrant,
  type TypedDataSigner,
} from "./identity";
export {
  createManifestNode,
  libp2pEntries,
  type FetchFromPeersResult,
  type ManifestNode,
  type ManifestNodeOptions,
  type NodeStatus,
  type RequestOptions,
  type VerifiedManifest,
  type InboundAnswer,
} from "./node";
export {
  DEFAULT_LIMITS,
  MANIFEST_PROTOCOL,
  ManifestProtocolError,
  RESPONSE_CODES,
  statusOf,
  type FetchRequest,
  type ManifestLimits,
  type ManifestRequest,
  type ManifestResponse,
  type PushRequest,
  type RefusalCode,
  type ResponseCode,
  type ResponseStatus,
} from "./protocol";
export { ManifestStore, type StoredManifest } from "./store";
export { createTransport, type Encryption, type TransportOptions } from "./transport";
