/**
 * The wire protocol `/tom3/manifest/1.0.0`: messages, status codes, limits and framing.
 *
 * Every message is a sequence of length-prefixed frames (unsigned varint length, then the bytes: it-length-prefixed).
 * A request is a JSON header frame, then for a push the manifest in body frames of at most `chunkBytes` each,
 * `size` bytes in all. A response is a JSON header frame, then for a successful fetch the manifest in body frames.
 * One request per stream; each side closes its writable end after its message.
 */
import type { Stream } from "@libp2p/interface";
import type { ManifestIssue } from "../manifest";
import { MAX_MANIFEST_BYTES } from "../manifest/limits";
import type { SessionKeyDelegation } from "./identity";
import type { Libp2pModules } from "./esm";

export const MANIFEST_PROTOCOL = "/tom3/manifest/1.0.0";

/**
 * How a manifest's bytes are written on the wire. `canonical`: its canonical form (RFC 8785 JSON of the normal
 * form), whose keccak256 is the deployment version, so a receiver checks the hash against the chain before parsing
 * anything and then parses JSON; what senders send. `yaml`: the manifest as the tenant wrote it, parsed before its
 * version is known; the default when a header names no encoding (senders before `encoding` existed).
 */
export type ManifestEncoding = "canonical" | "yaml";
export const MANIFEST_ENCODINGS: readonly ManifestEncoding[] = ["canonical", "yaml"];

/** A push: the sender offers `size` bytes of manifest for a deployment at a version. */
export interface PushRequest {
  type: "push";
  /** Decimal: a uint256 does not fit a JSON number. */
  deploymentId: string;
  version: string;
  size: number;
  /** Default `yaml`. */
  encoding?: ManifestEncoding;
  delegation?: SessionKeyDelegation;
}

/** A fetch: the sender asks for the manifest of a deployment at a version. */
export interface FetchRequest {
  type: "fetch";
  deploymentId: string;
  version: string;
  delegation?: SessionKeyDelegation;
}

export type ManifestRequest = PushRequest | FetchRequest;

export type ResponseStatus = "OK" | "NOT_FOUND" | "REFUSED" | "ERROR";

/**
 * Stable codes (they cross the wire and land in logs; never rename one). `status` says the class:
 * OK → OK; NOT_FOUND → NOT_FOUND; INTERNAL, UNREACHABLE → ERROR; every other code → REFUSED.
 */
export const RESPONSE_CODES = [
  "OK",
  /** The peer is not a charter participant of the deployment (owner, operator, provider with a live charter). */
  "STRANGER",
  "UNKNOWN_DEPLOYMENT",
  /** The deployment was closed on chain: nothing more is delivered for it. */
  "DEPLOYMENT_CLOSED",
  /** This node holds no Pending or Active charter in the deployment, so it takes no manifest for it. */
  "NOT_A_CHARTER_HOLDER",
  /** The manifest's version (keccak256 of its canonical form) is not the deployment's version on chain. */
  "VERSION_MISMATCH",
  /** The bytes are not a valid manifest; `issues` lists the located problems. */
  "INVALID_MANIFEST",
  "TOO_LARGE",
  "TIMEOUT",
  "BAD_REQUEST",
  "BAD_DELEGATION",
  /** Too many transfers in progress on this node; try again later. */
  "BUSY",
  /** This node does not hold that manifest (fetch). */
  "NOT_FOUND",
  /** The receiver failed (chain unreachable, its own handler failed); nothing about the request is implied. */
  "INTERNAL",
  /** Local only, never sent: the peer could not be reached or would not speak the protocol. */
  "UNREACHABLE",
] as const;

export type ResponseCode = (typeof RESPONSE_CODES)[number];
export type RefusalCode = Exclude<ResponseCode, "OK" | "NOT_FOUND" | "INTERNAL" | "UNREACHABLE">;

export interface ManifestResponse {
  status: ResponseStatus;
  code: ResponseCode;
  message: string;
  /** INVALID_MANIFEST: the problems found, with their paths and lines. */
  issues?: ManifestIssue[];
  /** A successful fetch: the body's length in bytes. */
  size?: number;
  /** A successful fetch: how the body is written (default `yaml`). */
  encoding?: ManifestEncoding;
}

export function statusOf(code: ResponseCode): ResponseStatus {
  if (code === "OK") return "OK";
  if (code === "NOT_FOUND") return "NOT_FOUND";
  if (code === "INTERNAL" || code === "UNREACHABLE") return "ERROR";
  return "REFUSED";
}

export function response(code: ResponseCode, message: string, extra: Partial<ManifestResponse> = {}): ManifestResponse {
  return { status: statusOf(code), code, message, ...extra };
}

/** Limits of one node; every one is configurable through `createManifestNode({ limits })`. */
export interface ManifestLimits {
  /** Largest manifest taken or sent, bytes (default `MAX_MANIFEST_BYTES`, which validation enforces too). */
  maxManifestBytes: number;
  /** Largest header frame, bytes. */
  maxHeaderBytes: number;
  /** Time for a whole exchange on one stream, from opening to the response, ms. */
  transferTimeoutMs: number;
  /** Concurrent inbound streams of this protocol on one connection. */
  maxInboundStreamsPerConnection: number;
  /** Concurrent inbound streams of this protocol on the whole node. */
  maxInboundStreams: number;
  /** Concurrent outbound streams of this protocol on one connection. */
  maxOutboundStreamsPerConnection: number;
  /** Largest body frame, bytes. */
  chunkBytes: number;
}

export const DEFAULT_LIMITS: Readonly<ManifestLimits> = Object.freeze({
  maxManifestBytes: MAX_MANIFEST_BYTES,
  maxHeaderBytes: 16 * 1024,
  transferTimeoutMs: 10_000,
  maxInboundStreamsPerConnection: 8,
  maxInboundStreams: 64,
  maxOutboundStreamsPerConnection: 8,
  chunkBytes: 64 * 1024,
});

/** A failed exchange as the caller sees it: the remote's refusal, or a local failure with the same codes. */
export class ManifestProtocolError extends Error {
  override readonly name = "ManifestProtocolError";
  readonly status: ResponseStatus;
  readonly issues?: ManifestIssue[];
  constructor(
    readonly code: ResponseCode,
    message: string,
    options: { cause?: unknown; issues?: ManifestIssue[] } = {},
  ) {
    super(`${code}: ${message}`, { cause: options.cause });
    this.status = statusOf(code);
    if (options.issues) this.issues = options.issues;
  }

  toResponse(): ManifestResponse {
    return response(this.code, this.message.slice(this.code.length + 2), this.issues ? { issues: this.issues } : {});
  }
}

const DEPLOYMENT_ID = /^(0|[1-9][0-9]{0,77})$/;
const VERSION = /^0x[0-9a-fA-F]{64}$/;

/** Validate a request header's JSON; throws a BAD_REQUEST `ManifestProtocolError`. */
export function parseRequest(bytes: Uint8Array, maxManifestBytes: number): ManifestRequest {
  const bad = (problem: string): never => {
    throw new ManifestProtocolError("BAD_REQUEST", problem);
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return bad("the header is not UTF-8 JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return bad("the header is not a JSON object");
  const h = json as Record<string, unknown>;
  if (h.type !== "push" && h.type !== "fetch") bad('type must be "push" or "fetch"');
  if (
    typeof h.deploymentId !== "string" ||
    !DEPLOYMENT_ID.test(h.deploymentId) ||
    BigInt(h.deploymentId) >= 2n ** 256n
  ) {
    bad("deploymentId must be a decimal uint256 string");
  }
  if (typeof h.version !== "string" || !VERSION.test(h.version)) bad("version must be 32 bytes of hex");
  if (h.type === "push") {
    if (typeof h.size !== "number" || !Number.isSafeInteger(h.size) || h.size <= 0)
      bad("size must be a positive integer");
    if ((h.size as number) > maxManifestBytes) {
      throw new ManifestProtocolError("TOO_LARGE", `${h.size} bytes is above the limit of ${maxManifestBytes}`);
    }
  }
  if (h.encoding !== undefined && !(MANIFEST_ENCODINGS as readonly unknown[]).includes(h.encoding)) {
    bad(`encoding must be one of ${MANIFEST_ENCODINGS.join(", ")}`);
  }
  if (h.delegation !== undefined && (typeof h.delegation !== "object" || h.delegation === null)) {
    bad("delegation must be an object");
  }
  return { ...(h as unknown as ManifestRequest), version: (h.version as string).toLowerCase() };
}

/** Validate a response header's JSON; throws an INTERNAL `ManifestProtocolError` for a malformed one. */
export function parseResponse(bytes: Uint8Array): ManifestResponse {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new ManifestProtocolError("INTERNAL", "the response header is not UTF-8 JSON", { cause });
  }
  const r = json as Partial<ManifestResponse> | null;
  if (
    typeof r !== "object" ||
    r === null ||
    !(RESPONSE_CODES as readonly unknown[]).includes(r.code) ||
    r.status !== statusOf(r.code as ResponseCode) ||
    typeof r.message !== "string" ||
    (r.encoding !== undefined && !(MANIFEST_ENCODINGS as readonly unknown[]).includes(r.encoding))
  ) {
    throw new ManifestProtocolError("INTERNAL", "malformed response header");
  }
  return r as ManifestResponse;
}

export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

/** A frame as the pieces it arrived in (an `Uint8ArrayList`): iterating gives each piece, without copying. */
export interface FramePieces extends Iterable<Uint8Array> {
  readonly byteLength: number;
  /** The frame as one array (a copy when it came in several pieces). */
  subarray(): Uint8Array;
}

/**
 * Reads length-prefixed frames from a stream. `next` throws the signal's reason as soon as the signal aborts,
 * whatever the transport does, so a deadline is exact.
 */
export class FrameReader {
  private readonly frames: AsyncIterator<FramePieces>;

  constructor(stream: Stream, lp: Libp2pModules["lp"], maxFrameBytes: number) {
    this.frames = lp.decode(stream, { maxDataLength: maxFrameBytes })[Symbol.asyncIterator]();
  }

  /** The next frame, or undefined at the end of the stream. */
  async next(signal: AbortSignal): Promise<Uint8Array | undefined> {
    return (await this.nextPieces(signal))?.subarray();
  }

  /** The next frame as it arrived (no copy), or undefined at the end of the stream. */
  async nextPieces(signal: AbortSignal): Promise<FramePieces | undefined> {
    const result = await raceSignal(this.frames.next(), signal);
    return result.done ? undefined : result.value;
  }
}

/** Send one frame, waiting for the stream to drain when its buffer is full. */
export async function sendFrame(
  stream: Stream,
  lp: Libp2pModules["lp"],
  data: Uint8Array,
  signal: AbortSignal,
): Promise<void> {
  if (!stream.send(lp.encode.single(data))) await stream.onDrain({ signal });
}

/** Send `body` as frames of at most `chunkBytes`. */
export async function sendBody(
  stream: Stream,
  lp: Libp2pModules["lp"],
  body: Uint8Array,
  chunkBytes: number,
  signal: AbortSignal,
): Promise<void> {
  for (let offset = 0; offset < body.length; offset += chunkBytes) {
    signal.throwIfAborted();
    await sendFrame(stream, lp, body.subarray(offset, offset + chunkBytes), signal);
  }
}

/**
 * Read body frames until `size` bytes arrived; more than `size`, or an early end, is a BAD_REQUEST. Each frame is
 * copied once, straight into the body, and handed to `onFrame` as it lands (a receiver hashes it there, so the hash
 * is ready with the last byte).
 */
export async function readBody(
  reader: FrameReader,
  size: number,
  signal: AbortSignal,
  onFrame?: (frame: Uint8Array) => void,
): Promise<Uint8Array> {
  const body = new Uint8Array(size);
  let received = 0;
  while (received < size) {
    const frame = await reader.nextPieces(signal);
    if (frame === undefined)
      throw new ManifestProtocolError("BAD_REQUEST", `the body ended after ${received} of ${size} bytes`);
    if (received + frame.byteLength > size)
      throw new ManifestProtocolError("TOO_LARGE", `more than the ${size} bytes announced`);
    const start = received;
    for (const piece of frame) {
      body.set(piece, received);
      received += piece.byteLength;
    }
    onFrame?.(body.subarray(start, received));
  }
  return body;
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
