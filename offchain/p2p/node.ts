/**
 * A TOM3 manifest node: the libp2p host, the `/tom3/manifest/1.0.0` handler, the store of verified manifests, and
 * the client side (push, fetch, fetch from the other providers of a deployment).
 *
 * A receiver checks, in this order, and stops at the first failure with a stable code, changing nothing:
 * the peer's key (its address) and any session-key delegation → the deployment exists → the peer is a charter
 * participant → (push) the deployment is open and this node holds a charter in it → the announced version is the
 * on-chain one → size and time limits while reading → the bytes hash (canonical encoding, before parsing) or parse
 * (YAML) to the deployment's version read again from the chain, and are a valid manifest → store → `onManifest` → OK.
 *
 * `receive` runs the same checks for a manifest that arrived another way (the provider's signed HTTP upload), so
 * both paths feed the same store and the same `onManifest`.
 */
import { getAddress } from "ethers";
import pino, { type Logger } from "pino";
import type { Libp2p } from "libp2p";
import type { Connection, Stream } from "@libp2p/interface";
import { keccak256Hasher, type ParsedManifest } from "../manifest";
import type { ManifestAuthorizer } from "./authorizer";
import { loadLibp2p, type Libp2pModules } from "./esm";
import {
  addressOfKey,
  addressOfPeer,
  DelegationError,
  libp2pKeyFromEthereumKey,
  verifyDelegation,
  type SessionKeyDelegation,
} from "./identity";
import {
  DEFAULT_LIMITS,
  encodeJson,
  FrameReader,
  MANIFEST_PROTOCOL,
  ManifestProtocolError,
  parseRequest,
  parseResponse,
  raceSignal,
  readBody,
  response,
  sendBody,
  sendFrame,
  type ManifestEncoding,
  type ManifestLimits,
  type ManifestRequest,
  type ManifestResponse,
} from "./protocol";
import { canonicalPayload, readManifestBytes } from "./payload";
import { ManifestStore } from "./store";
import { createTransport, type Encryption } from "./transport";

/** A manifest that passed every check, as handed to `onManifest`. */
export interface VerifiedManifest {
  deploymentId: bigint;
  version: string;
  manifest: ParsedManifest;
  /** Its canonical form (UTF-8 of `manifest.canonical`), whatever encoding it arrived in. */
  bytes: Uint8Array;
  /** The participant it came from (the signing account when it came with a delegation). */
  from: string;
}

export interface ManifestNodeOptions {
  /** The node's Ethereum private key: the account's own, or a session key with `delegation`. */
  privateKey: string;
  /** A delegation from the account to this session key, presented with every request. */
  delegation?: SessionKeyDelegation;
  /** Who may send or receive: `ChainAuthorizer` in real use. */
  authorizer: ManifestAuthorizer;
  /** Listen addresses (default `/ip4/0.0.0.0/tcp/0`); `[]` for a node that only dials (a tenant). */
  listen?: string[];
  encryption?: Encryption[];
  limits?: Partial<ManifestLimits>;
  /** Where verified manifests are persisted; in memory only when undefined. */
  storeDir?: string;
  /** Called with every newly verified manifest (provider nodes: the daemon rolls it out). */
  onManifest?: (verified: VerifiedManifest) => void | Promise<void>;
  /** Called with the answer to every inbound request (provider nodes count refusals in their metrics). */
  onInbound?: (answer: InboundAnswer) => void;
  /** Default: silent. */
  logger?: Logger;
}

/** What the node answered an inbound request: `code` is OK or the refusal's stable code. */
export interface InboundAnswer {
  type: "push" | "fetch" | "unknown";
  code: string;
  /** The authenticated participant, when authentication got that far. */
  from?: string;
  ms: number;
}

export type NodeStatus = "stopped" | "starting" | "running" | "stopping";

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface PushOptions extends RequestOptions {
  /**
   * How to send it (default `canonical`: the receiver checks the hash before parsing). `yaml` sends YAML bytes as
   * they are, for receivers older than the `encoding` field.
   */
  encoding?: ManifestEncoding;
}

/** A manifest that reached the node outside the protocol (the provider's HTTP upload). */
export interface ReceiveOptions {
  /** The participant it comes from, already authenticated by the caller. */
  from: string;
  encoding: ManifestEncoding;
  /** The version the sender says it is (signed, for an upload): must be the on-chain version too. */
  version?: string;
}

export interface FetchFromPeersResult extends VerifiedManifest {
  /** The provider and address it came from; `undefined` when this node already held it. */
  source?: { provider: string; multiaddr: string };
}

export interface ManifestNode {
  readonly status: NodeStatus;
  readonly peerId: string;
  /** Address of the node's key (the session key's address when delegated). */
  readonly address: string;
  /** The account the node acts for: the delegation's signer, else `address`. */
  readonly participant: string;
  /** Listening addresses, each ending in `/p2p/<peerId>` (empty before start). */
  readonly multiaddrs: string[];
  readonly store: ManifestStore;
  readonly limits: Readonly<ManifestLimits>;
  /** The libp2p host (for diagnostics and benchmarks). */
  readonly libp2p: Libp2p;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Offer a manifest for a deployment (its text as bytes, YAML or canonical JSON, or parsed); resolves with the
   * receiver's answer (OK or why not). Sent in its canonical form unless `options.encoding` says otherwise.
   */
  push(
    target: string,
    deploymentId: bigint,
    manifest: Uint8Array | ParsedManifest,
    options?: PushOptions,
  ): Promise<ManifestResponse>;
  /**
   * Fetch a deployment's manifest at a version; checked to be a valid manifest of `version` before returning its
   * canonical bytes.
   */
  fetch(target: string, deploymentId: bigint, version: string, options?: RequestOptions): Promise<Uint8Array>;
  /**
   * Get the deployment's current manifest from the other providers holding a charter in it (their registry
   * endpoints), verify it like a push, store it and run `onManifest`.
   */
  fetchFromPeers(deploymentId: bigint, options?: RequestOptions): Promise<FetchFromPeersResult>;
  /**
   * Take a manifest that arrived outside the protocol, from an already authenticated participant: the receiver's
   * checks from step 2 on (participant, open deployment, this node's charter, version, hash, validity), then store
   * and `onManifest`, exactly as for a push. Resolves with OK; a refusal throws `ManifestProtocolError`.
   */
  receive(deploymentId: bigint, bytes: Uint8Array, options: ReceiveOptions): Promise<ManifestResponse>;
}

/** Create a node (not started). */
export async function createManifestNode(options: ManifestNodeOptions): Promise<ManifestNode> {
  const modules = await loadLibp2p();
  const privateKey = await libp2pKeyFromEthereumKey(options.privateKey);
  const libp2p = await createTransport({ privateKey, listen: options.listen, encryption: options.encryption });
  return new Tom3ManifestNode(options, modules, libp2p);
}

class Tom3ManifestNode implements ManifestNode {
  readonly address: string;
  readonly participant: string;
  readonly store: ManifestStore;
  readonly limits: Readonly<ManifestLimits>;
  private state: NodeStatus = "stopped";
  private root = new AbortController();
  private inbound = 0;
  private readonly log: Logger;
  private readonly authorizer: ManifestAuthorizer;
  private readonly maxFrameBytes: number;
  /** What push sends for a manifest object, so one manifest pushed to many providers is encoded once. */
  private readonly payloads = new WeakMap<object, { bytes: Uint8Array; version: string }>();

  constructor(
    private readonly options: ManifestNodeOptions,
    private readonly m: Libp2pModules,
    readonly libp2p: Libp2p,
  ) {
    this.address = addressOfKey(options.privateKey);
    this.participant = options.delegation ? getAddress(options.delegation.account) : this.address;
    if (options.delegation && getAddress(options.delegation.sessionKey) !== this.address) {
      throw new DelegationError(`the delegation names ${options.delegation.sessionKey}, this key is ${this.address}`);
    }
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
    this.maxFrameBytes = Math.max(this.limits.maxHeaderBytes, this.limits.chunkBytes);
    this.store = new ManifestStore(options.storeDir);
    this.authorizer = options.authorizer;
    this.log = (options.logger ?? pino({ level: "silent" })).child({
      component: "p2p",
      peerId: libp2p.peerId.toString(),
    });
  }

  get status(): NodeStatus {
    return this.state;
  }

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  get multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map(String);
  }

  async start(): Promise<void> {
    if (this.state !== "stopped") throw new Error(`cannot start a node that is ${this.state}`);
    this.state = "starting";
    this.root = new AbortController();
    try {
      const loaded = this.store.load();
      await this.libp2p.start();
      await this.libp2p.handle(MANIFEST_PROTOCOL, (stream, connection) => this.handle(stream, connection), {
        maxInboundStreams: this.limits.maxInboundStreamsPerConnection,
        maxOutboundStreams: this.limits.maxOutboundStreamsPerConnection,
      });
      this.state = "running";
      this.log.info(
        { multiaddrs: this.multiaddrs, address: this.address, participant: this.participant, loaded },
        "started",
      );
    } catch (error) {
      this.state = "running";
      await this.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.state !== "running") return;
    this.state = "stopping";
    // Reverse order of start: no new streams, end the ones in flight, then close connections and listeners.
    await this.libp2p.unhandle(MANIFEST_PROTOCOL).catch(() => undefined);
    this.root.abort(new Error("the node is stopping"));
    await this.libp2p.stop();
    this.state = "stopped";
    this.log.info("stopped");
  }

  // ---------------------------------------------------------------- receiving

  private async handle(stream: Stream, connection: Connection): Promise<void> {
    const started = Date.now();
    const deadline = AbortSignal.timeout(this.limits.transferTimeoutMs);
    const signal = AbortSignal.any([this.root.signal, deadline]);
    const peer = addressOfPeer(connection.remotePeer);
    const reader = new FrameReader(stream, this.m.lp, this.maxFrameBytes);
    let answer: ManifestResponse;
    let body: Uint8Array | undefined;
    let readAll = false;
    let type: InboundAnswer["type"] = "unknown";
    let from: string | undefined;
    const busy = this.inbound >= this.limits.maxInboundStreams;
    this.inbound++;
    try {
      if (busy) throw new ManifestProtocolError("BUSY", `${this.limits.maxInboundStreams} transfers in progress`);
      const request = await this.readRequest(reader, signal);
      type = request.type;
      if (request.type === "fetch") readAll = true;
      from = await this.authenticate(peer, request);
      const deploymentId = BigInt(request.deploymentId);
      if (request.type === "push") {
        await this.admitPush(deploymentId, from, request.version);
        const encoding = request.encoding ?? "yaml";
        // Canonical bytes are hashed frame by frame as they land: the hash is ready with the last byte.
        const hasher = encoding === "canonical" ? keccak256Hasher() : undefined;
        const bytes = await readBody(reader, request.size, signal, hasher && ((frame) => hasher.update(frame)));
        readAll = true;
        const verified = await this.verify(deploymentId, bytes, encoding, from, request.version, hasher?.digest());
        answer = await this.keep(verified);
      } else {
        const stored = await this.serve(deploymentId, from, request.version);
        body = stored.bytes;
        answer = response("OK", `deployment ${deploymentId} at ${stored.version}`, {
          size: body.length,
          encoding: "canonical",
        });
      }
    } catch (error) {
      answer = this.refusal(error, deadline);
      body = undefined;
    }
    this.log.info(
      { peer, status: answer.status, code: answer.code, ms: Date.now() - started },
      `inbound ${answer.code}: ${answer.message}`,
    );
    try {
      this.options.onInbound?.({ type, code: answer.code, ...(from === undefined ? {} : { from }), ms: Date.now() - started });
    } catch (error) {
      this.log.error({ err: error }, "onInbound failed");
    }
    try {
      await this.reply(stream, reader, answer, body, readAll);
    } catch (error) {
      this.log.debug({ peer, err: error }, "the response could not be delivered");
      stream.abort(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.inbound--;
    }
  }

  private async readRequest(reader: FrameReader, signal: AbortSignal): Promise<ManifestRequest> {
    const header = await reader.next(signal);
    if (header === undefined) throw new ManifestProtocolError("BAD_REQUEST", "the stream ended before a header");
    if (header.length > this.limits.maxHeaderBytes) {
      throw new ManifestProtocolError(
        "TOO_LARGE",
        `header of ${header.length} bytes is above the limit of ${this.limits.maxHeaderBytes}`,
      );
    }
    return parseRequest(header, this.limits.maxManifestBytes);
  }

  /** The participant a request speaks for: the peer's address, or the account that delegated to it. */
  private async authenticate(peer: string | undefined, request: ManifestRequest): Promise<string> {
    if (peer === undefined) throw new ManifestProtocolError("STRANGER", "the peer's key is not an Ethereum key");
    if (request.delegation === undefined) return peer;
    try {
      return verifyDelegation(request.delegation, {
        peerAddress: peer,
        chainId: this.authorizer.chainId,
        market: this.authorizer.market,
        now: await this.authorizer.now(),
      });
    } catch (error) {
      if (error instanceof DelegationError) throw new ManifestProtocolError("BAD_DELEGATION", error.message);
      throw error;
    }
  }

  /** Everything a push must pass before its body is read. */
  private async admitPush(deploymentId: bigint, from: string, version: string): Promise<void> {
    const deployment = await this.participantOf(deploymentId, from);
    if (deployment.closed) throw new ManifestProtocolError("DEPLOYMENT_CLOSED", `deployment ${deploymentId} is closed`);
    if (!(await this.authorizer.holdsCharter(deploymentId, this.participant))) {
      throw new ManifestProtocolError(
        "NOT_A_CHARTER_HOLDER",
        `${this.participant} holds no live charter in deployment ${deploymentId}`,
      );
    }
    if (version !== deployment.version) {
      throw new ManifestProtocolError(
        "VERSION_MISMATCH",
        `version ${version} is not deployment ${deploymentId}'s ${deployment.version}`,
      );
    }
  }

  private async serve(deploymentId: bigint, from: string, version: string) {
    await this.participantOf(deploymentId, from);
    const stored = this.store.get(deploymentId, version);
    if (!stored)
      throw new ManifestProtocolError("NOT_FOUND", `no manifest of deployment ${deploymentId} at ${version}`);
    return stored;
  }

  private async participantOf(deploymentId: bigint, account: string) {
    const deployment = await this.authorizer.deployment(deploymentId);
    if (!deployment)
      throw new ManifestProtocolError(
        "UNKNOWN_DEPLOYMENT",
        `no deployment ${deploymentId} on chain ${this.authorizer.chainId}`,
      );
    if (!(await this.authorizer.isParticipant(deploymentId, account, deployment))) {
      throw new ManifestProtocolError(
        "STRANGER",
        `${account} is not a charter participant of deployment ${deploymentId}`,
      );
    }
    return deployment;
  }

  /**
   * Check the bytes against the deployment's version read from the chain now (canonical: by hash, before parsing;
   * YAML: after parsing) and that they are a valid manifest; `claimed` (the version the sender announced), when
   * given, must match too. `hash`: keccak256 of exactly `bytes`, when this node computed it as they arrived.
   */
  private async verify(
    deploymentId: bigint,
    bytes: Uint8Array,
    encoding: ManifestEncoding,
    from: string,
    claimed?: string,
    hash?: string,
  ): Promise<VerifiedManifest> {
    const deployment = await this.authorizer.deployment(deploymentId);
    if (!deployment) throw new ManifestProtocolError("UNKNOWN_DEPLOYMENT", `no deployment ${deploymentId}`);
    if (deployment.closed) throw new ManifestProtocolError("DEPLOYMENT_CLOSED", `deployment ${deploymentId} is closed`);
    if (claimed !== undefined && claimed.toLowerCase() !== deployment.version) {
      throw new ManifestProtocolError(
        "VERSION_MISMATCH",
        `version ${claimed} is not deployment ${deploymentId}'s ${deployment.version}`,
      );
    }
    const manifest = readManifestBytes(bytes, encoding, {
      expected: deployment.version,
      source: `deployment-${deploymentId}.${encoding === "canonical" ? "json" : "yaml"}`,
      hash,
    });
    const canonical = encoding === "canonical" ? bytes : new TextEncoder().encode(manifest.canonical);
    return { deploymentId, version: manifest.version, manifest, bytes: canonical, from };
  }

  async receive(deploymentId: bigint, bytes: Uint8Array, options: ReceiveOptions): Promise<ManifestResponse> {
    if (this.state !== "running") throw new ManifestProtocolError("INTERNAL", `the node is ${this.state}`);
    if (bytes.length > this.limits.maxManifestBytes) {
      throw new ManifestProtocolError(
        "TOO_LARGE",
        `${bytes.length} bytes is above the limit of ${this.limits.maxManifestBytes}`,
      );
    }
    const deployment = await this.participantOf(deploymentId, options.from);
    if (deployment.closed) throw new ManifestProtocolError("DEPLOYMENT_CLOSED", `deployment ${deploymentId} is closed`);
    if (!(await this.authorizer.holdsCharter(deploymentId, this.participant))) {
      throw new ManifestProtocolError(
        "NOT_A_CHARTER_HOLDER",
        `${this.participant} holds no live charter in deployment ${deploymentId}`,
      );
    }
    const verified = await this.verify(deploymentId, bytes, options.encoding, getAddress(options.from), options.version);
    const answer = await this.keep(verified);
    if (answer.status !== "OK") throw new ManifestProtocolError(answer.code, answer.message);
    this.log.info({ from: verified.from, deploymentId: deploymentId.toString() }, `received ${answer.message}`);
    return answer;
  }

  /** Store a verified manifest and hand it to `onManifest` (once per version). */
  private async keep(verified: VerifiedManifest): Promise<ManifestResponse> {
    const known = this.store.has(verified.deploymentId, verified.version);
    if (!known) {
      this.store.put({ ...verified, storedAt: Date.now() });
      try {
        await this.options.onManifest?.(verified);
      } catch (error) {
        this.log.error({ err: error, deploymentId: verified.deploymentId.toString() }, "onManifest failed");
        return response("INTERNAL", "the manifest was verified and stored, but its handler failed");
      }
    }
    return response(
      "OK",
      `deployment ${verified.deploymentId} at ${verified.version}${known ? " (already held)" : ""}`,
    );
  }

  private refusal(error: unknown, deadline: AbortSignal): ManifestResponse {
    if (error instanceof ManifestProtocolError) return error.toResponse();
    if (deadline.aborted)
      return response("TIMEOUT", `the transfer took longer than ${this.limits.transferTimeoutMs} ms`);
    if (this.root.signal.aborted) return response("INTERNAL", "the node is stopping");
    const name = (error as { name?: string })?.name;
    if (name === "InvalidDataLengthError" || name === "InvalidDataLengthLengthError") {
      return response("TOO_LARGE", `a frame is above the limit of ${this.maxFrameBytes} bytes`);
    }
    this.log.error({ err: error }, "inbound request failed");
    return response("INTERNAL", "the receiver failed");
  }

  /**
   * Send the answer, then close. When the request was not read to its end (an early refusal), give the sender a
   * moment to see the answer and stop, and reset the stream rather than buffer what it still sends.
   */
  private async reply(
    stream: Stream,
    reader: FrameReader,
    answer: ManifestResponse,
    body: Uint8Array | undefined,
    readAll: boolean,
  ): Promise<void> {
    if (stream.writeStatus !== "writable") return;
    const signal = AbortSignal.any([this.root.signal, AbortSignal.timeout(this.limits.transferTimeoutMs)]);
    await sendFrame(stream, this.m.lp, encodeJson(answer), signal);
    if (body) await sendBody(stream, this.m.lp, body, this.limits.chunkBytes, signal);
    await stream.close({ signal });
    if (!readAll) {
      // Drain until the sender closes or resets, for at most a second; it stops sending once it reads the answer.
      const drain = AbortSignal.any([signal, AbortSignal.timeout(1_000)]);
      try {
        while ((await reader.next(drain)) !== undefined);
      } catch {
        stream.abort(new Error(`refused: ${answer.code}`));
      }
    }
  }

  // ---------------------------------------------------------------- sending

  async push(
    target: string,
    deploymentId: bigint,
    manifest: Uint8Array | ParsedManifest,
    options: PushOptions = {},
  ): Promise<ManifestResponse> {
    const encoding = options.encoding ?? "canonical";
    // Pushing one manifest to many providers encodes it once (keyed by identity: mutate the bytes, and it is stale).
    let payload = encoding === "canonical" ? this.payloads.get(manifest) : undefined;
    if (payload === undefined) {
      if (encoding === "canonical") {
        payload = canonicalPayload(manifest);
        this.payloads.set(manifest, payload);
      } else {
        if (!(manifest instanceof Uint8Array)) throw new TypeError("encoding yaml sends the manifest's YAML bytes");
        payload = { bytes: manifest, version: readManifestBytes(manifest, "yaml").version };
      }
    }
    const { bytes, version } = payload;
    if (bytes.length > this.limits.maxManifestBytes) {
      throw new ManifestProtocolError(
        "TOO_LARGE",
        `${bytes.length} bytes is above the limit of ${this.limits.maxManifestBytes}`,
      );
    }
    const header = {
      type: "push" as const,
      deploymentId: deploymentId.toString(),
      version,
      size: bytes.length,
      encoding,
    };
    return this.exchange(target, header, bytes, options, async () => undefined).then(({ answer }) => answer);
  }

  async fetch(
    target: string,
    deploymentId: bigint,
    version: string,
    options: RequestOptions = {},
  ): Promise<Uint8Array> {
    const wanted = version.toLowerCase();
    const header = { type: "fetch" as const, deploymentId: deploymentId.toString(), version: wanted };
    const { answer, body } = await this.exchange(target, header, undefined, options, async (answer, reader, signal) => {
      if (answer.status !== "OK") return undefined;
      const size = answer.size;
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0 || size > this.limits.maxManifestBytes) {
        throw new ManifestProtocolError(
          "TOO_LARGE",
          `the peer announced ${size} bytes; the limit is ${this.limits.maxManifestBytes}`,
        );
      }
      const hasher = answer.encoding === "canonical" ? keccak256Hasher() : undefined;
      const bytes = await readBody(reader, size, signal, hasher && ((frame) => hasher.update(frame)));
      return { bytes, hash: hasher?.digest() };
    });
    if (answer.status !== "OK" || body === undefined) {
      throw new ManifestProtocolError(answer.code, answer.message, { issues: answer.issues });
    }
    const encoding = answer.encoding ?? "yaml";
    let parsed: ParsedManifest;
    try {
      parsed = readManifestBytes(body.bytes, encoding, { expected: wanted, hash: body.hash });
    } catch (cause) {
      if (cause instanceof ManifestProtocolError && cause.code === "VERSION_MISMATCH") {
        throw new ManifestProtocolError("VERSION_MISMATCH", `the peer served another version: ${cause.message}`);
      }
      throw new ManifestProtocolError("INVALID_MANIFEST", "the peer served bytes that are not a valid manifest", {
        cause,
      });
    }
    return encoding === "canonical" ? body.bytes : new TextEncoder().encode(parsed.canonical);
  }

  async fetchFromPeers(deploymentId: bigint, options: RequestOptions = {}): Promise<FetchFromPeersResult> {
    const deployment = await this.authorizer.deployment(deploymentId);
    if (!deployment) throw new ManifestProtocolError("UNKNOWN_DEPLOYMENT", `no deployment ${deploymentId}`);
    const held = this.store.get(deploymentId, deployment.version);
    if (held)
      return { deploymentId, version: held.version, manifest: held.manifest, bytes: held.bytes, from: held.from };
    if (!(await this.authorizer.holdsCharter(deploymentId, this.participant))) {
      throw new ManifestProtocolError(
        "NOT_A_CHARTER_HOLDER",
        `${this.participant} holds no live charter in deployment ${deploymentId}`,
      );
    }
    const failures: string[] = [];
    const providers = (await this.authorizer.charterProviders(deploymentId)).filter((p) => p !== this.participant);
    for (const provider of providers) {
      for (const multiaddr of libp2pEntries(await this.authorizer.endpointOf(provider))) {
        try {
          const bytes = await this.fetch(multiaddr, deploymentId, deployment.version, options);
          const verified = await this.verify(deploymentId, bytes, "canonical", provider, deployment.version);
          const answer = await this.keep(verified);
          if (answer.status !== "OK") throw new ManifestProtocolError(answer.code, answer.message);
          return { ...verified, source: { provider, multiaddr } };
        } catch (error) {
          options.signal?.throwIfAborted();
          failures.push(`${provider} at ${multiaddr}: ${(error as Error).message}`);
          this.log.debug({ provider, multiaddr, err: error }, "fetch from peer failed");
        }
      }
    }
    throw new ManifestProtocolError(
      "NOT_FOUND",
      failures.length === 0
        ? `no other provider of deployment ${deploymentId} has a libp2p endpoint`
        : `no provider served deployment ${deploymentId} at ${deployment.version}: ${failures.join("; ")}`,
    );
  }

  /**
   * One exchange on a fresh stream: send the header (with this node's delegation) and body, read the answer
   * concurrently (a refusal may come before the body is sent), then `readRest` for what follows the answer.
   */
  private async exchange<T>(
    target: string,
    header: Omit<ManifestRequest, "delegation">,
    body: Uint8Array | undefined,
    options: RequestOptions,
    readRest: (answer: ManifestResponse, reader: FrameReader, signal: AbortSignal) => Promise<T>,
  ): Promise<{ answer: ManifestResponse; body: T | undefined }> {
    if (this.state !== "running") throw new Error(`the node is ${this.state}`);
    const deadline = AbortSignal.timeout(this.limits.transferTimeoutMs);
    const signals = [this.root.signal, deadline, ...(options.signal ? [options.signal] : [])];
    const signal = AbortSignal.any(signals);
    const timedOut = (error: unknown) =>
      deadline.aborted && !options.signal?.aborted
        ? new ManifestProtocolError("TIMEOUT", `no answer from ${target} within ${this.limits.transferTimeoutMs} ms`, {
            cause: error,
          })
        : error;

    let stream: Stream;
    try {
      // libp2p bundles its own copy of @multiformats/multiaddr; the types differ only in typed-array generics and
      // libp2p recognises any copy's Multiaddr at run time.
      const address = this.m.multiaddr.multiaddr(target) as unknown as Parameters<Libp2p["dialProtocol"]>[0];
      stream = await this.libp2p.dialProtocol(address, MANIFEST_PROTOCOL, { signal });
    } catch (error) {
      const local = timedOut(error);
      if (local !== error) throw local;
      if (options.signal?.aborted || this.root.signal.aborted) throw error;
      throw new ManifestProtocolError(
        "UNREACHABLE",
        `cannot open ${MANIFEST_PROTOCOL} to ${target}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const reader = new FrameReader(stream, this.m.lp, this.maxFrameBytes);
    const sending = new AbortController();
    const sendSignal = AbortSignal.any([signal, sending.signal]);
    const request = this.options.delegation ? { ...header, delegation: this.options.delegation } : header;

    const answering = (async () => {
      const frame = await reader.next(signal);
      if (frame === undefined)
        throw new ManifestProtocolError("INTERNAL", `${target} closed the stream without an answer`);
      const answer = parseResponse(frame);
      sending.abort(new Error("answered"));
      return { answer, body: await readRest(answer, reader, signal) };
    })();
    answering.catch(() => undefined);

    let sent = false;
    try {
      await sendFrame(stream, this.m.lp, encodeJson(request), sendSignal);
      if (body) await sendBody(stream, this.m.lp, body, this.limits.chunkBytes, sendSignal);
      await raceSignal(stream.close({ signal: sendSignal }), sendSignal);
      sent = true;
    } catch {
      // An early answer stops the sending; any other failure shows in the answer's absence below.
    }
    try {
      const result = await answering;
      if (!sent) stream.abort(new Error("answered before the request was sent in full"));
      else await stream.close({ signal }).catch(() => undefined);
      return result;
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      throw timedOut(error);
    }
  }
}

/** The libp2p entries of a registry endpoint: space-separated, multiaddrs that end in `/p2p/<peer id>`. */
export function libp2pEntries(endpoint: string): string[] {
  return endpoint.split(/\s+/).filter((entry) => entry.startsWith("/") && /\/p2p\/[^/]+$/.test(entry));
}
