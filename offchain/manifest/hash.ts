/**
 * keccak256 of bytes, 0x-prefixed lower-case hex: the deployment version of a canonical manifest.
 *
 * Receivers hash every manifest they are sent before acting on it, so speed matters: ethers' pure-JavaScript
 * keccak takes about 90 ms for 1 MiB on this project's machines, the native binding of the `keccak` package
 * (prebuilt N-API, also what Hardhat uses) about 5 ms. The binding is optional: where it does not load (another
 * platform, no prebuild) ethers' implementation gives the same digest.
 */
import { keccak256 } from "ethers";

interface NativeHash {
  update(data: Buffer): NativeHash;
  digest(encoding: "hex"): string;
}
type NativeKeccak = (algorithm: "keccak256") => NativeHash;

const native: NativeKeccak | undefined = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const create = require("keccak/bindings") as NativeKeccak;
    return create("keccak256").update(Buffer.alloc(0)).digest("hex") ===
      "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
      ? create
      : undefined;
  } catch {
    return undefined;
  }
})();

/** The binding takes Buffers only: a view of the same memory, not a copy. */
const view = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** keccak256 of `bytes`, as `0x…` (64 lower-case hex digits). */
export function keccak256Bytes(bytes: Uint8Array): string {
  if (!native) return keccak256(bytes);
  return `0x${native("keccak256").update(view(bytes)).digest("hex")}`;
}

/** keccak256 computed piece by piece, as bytes arrive. */
export interface Keccak256Hasher {
  /** Hash `bytes` next (they may be reused once this returns: nothing is kept). */
  update(bytes: Uint8Array): void;
  /** keccak256 of everything given to `update`, in order, as `0x…`; call once. */
  digest(): string;
}

/**
 * A hasher for bytes that arrive in pieces: a receiver hashes each frame as it lands, so the hash is ready with
 * the last byte instead of costing ~3 ms/MiB after it. Without the native binding the pieces are kept and hashed
 * at the end (ethers' keccak has no incremental form).
 */
export function keccak256Hasher(): Keccak256Hasher {
  if (native) {
    const hash = native("keccak256");
    return {
      update: (bytes) => void hash.update(view(bytes)),
      digest: () => `0x${hash.digest("hex")}`,
    };
  }
  const pieces: Uint8Array[] = [];
  return {
    update: (bytes) => void pieces.push(bytes.slice()),
    digest: () => keccak256(Buffer.concat(pieces)),
  };
}
