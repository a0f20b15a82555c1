/**
 * The signed HTTP manifest upload (`PUT /deployments/:id/manifest` on a provider's API): what the uploader signs,
 * and how the provider checks it. Browser-safe (ethers only), so a web app signs with MetaMask exactly as the SDK
 * signs with a key.
 *
 * The deployment's owner, or an operator of the owner, signs with EIP-712 (`eth_signTypedData_v4`):
 *
 *   domain         { name: "TOM3", version: "1" }
 *   ManifestUpload { uint256 deploymentId; bytes32 version; uint256 chainId; address market; uint64 expiry }
 *
 * and sends the signature and expiry in headers (`MANIFEST_UPLOAD_HEADERS`) with the manifest as the body. The
 * signature binds the body through `version` (the body must hash to it, and it must be the deployment's version on
 * chain). Like the session-key delegation, chain and Market are in the struct, not the domain, so a wallet signs
 * whatever chain it is connected to and the struct still names one deployment on one chain. A captured request
 * can only upload the same manifest again, to the same deployment, before `expiry`: harmless, and the provider
 * refuses expiries more than `MANIFEST_UPLOAD_MAX_TTL_SECONDS` ahead.
 */
import { getAddress, verifyTypedData } from "ethers";

export const MANIFEST_UPLOAD_DOMAIN = { name: "TOM3", version: "1" } as const;
export const MANIFEST_UPLOAD_TYPES = {
  ManifestUpload: [
    { name: "deploymentId", type: "uint256" },
    { name: "version", type: "bytes32" },
    { name: "chainId", type: "uint256" },
    { name: "market", type: "address" },
    { name: "expiry", type: "uint64" },
  ],
} as const;

/** The longest an upload signature may be valid for, from the provider's clock: one hour. */
export const MANIFEST_UPLOAD_MAX_TTL_SECONDS = 3_600;

/** Request headers of an upload (lower case, as HTTP/2 and Node report them). */
export const MANIFEST_UPLOAD_HEADERS = {
  /** The EIP-712 signature, 0x + 130 hex digits. */
  signature: "x-tom3-signature",
  /** The signed expiry, unix seconds. */
  expiry: "x-tom3-expiry",
  /** The signed version (the manifest's), 0x + 64 hex digits. */
  version: "x-tom3-version",
  /** `canonical` (RFC 8785 JSON of the normal form) or `yaml`; default `yaml`. */
  encoding: "x-tom3-manifest-encoding",
} as const;

export interface ManifestUpload {
  deploymentId: bigint;
  version: string;
  chainId: bigint | number;
  market: string;
  /** Unix seconds. */
  expiry: bigint | number;
}

/** What can sign it: an ethers Signer (a Wallet, or MetaMask's JsonRpcSigner through a BrowserProvider). */
export interface ManifestUploadSigner {
  signTypedData(
    domain: typeof MANIFEST_UPLOAD_DOMAIN,
    types: { ManifestUpload: { name: string; type: string }[] },
    value: Record<string, unknown>,
  ): Promise<string>;
}

function message(upload: ManifestUpload): Record<string, unknown> {
  return {
    deploymentId: upload.deploymentId,
    version: upload.version,
    chainId: BigInt(upload.chainId),
    market: getAddress(upload.market),
    expiry: BigInt(upload.expiry),
  };
}

/** Sign an upload; resolves with the signature. */
export function signManifestUpload(signer: ManifestUploadSigner, upload: ManifestUpload): Promise<string> {
  return signer.signTypedData(
    MANIFEST_UPLOAD_DOMAIN,
    { ManifestUpload: [...MANIFEST_UPLOAD_TYPES.ManifestUpload] },
    message(upload),
  );
}

/** The address that signed `upload`; throws when the signature is malformed. */
export function recoverManifestUploader(upload: ManifestUpload, signature: string): string {
  return getAddress(
    verifyTypedData(MANIFEST_UPLOAD_DOMAIN, { ManifestUpload: [...MANIFEST_UPLOAD_TYPES.ManifestUpload] }, message(upload), signature),
  );
}
