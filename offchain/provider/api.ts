/**
 * The provider's HTTP API (Akash's `gateway/`): status, the bid engine's decisions, charters, a charter's logs for
 * its tenant only, and Prometheus metrics. Errors are JSON `{ error: { code, message } }` with stable codes.
 *
 * Logs authentication (offchain/chain/logs-auth.ts): the tenant signs (EIP-191 `personal_sign`) the message
 * `TOM3 logs charter <id> at <unix time>` and sends `Authorization: TOM3 <unix time> <signature>`. The signature must
 * recover to the charter's tenant on chain and the time be within 5 minutes of the server's clock, so a captured
 * header is useless soon after. `?tail=` lines per container, `?since=` unix seconds (fractions allowed), and
 * `?timestamps=true` prefixes each line with the engine's RFC 3339 time (what `tom3 logs --follow` resumes from).
 *
 * Manifest upload (`PUT /deployments/:id/manifest`, PROTOCOL.md: "the provider also accepts a signed manifest over
 * its HTTP API"): the body is the manifest (canonical JSON or YAML), the headers carry an EIP-712 signature of the
 * deployment's owner or operator (offchain/chain/manifest-upload.ts). It is checked against the chain, then handed
 * to the p2p node's `receive`, which runs the receiver's checks and feeds the same store and the same charter
 * manager as a p2p push: a workload uploaded here runs exactly like one pushed. Refusals carry the p2p protocol's
 * codes where the meaning is the same (`UPLOAD_STATUS` gives each code's HTTP status).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { Contract, getAddress, verifyMessage, ZeroAddress } from "ethers";
import type { Provider } from "ethers";
import type { Registry } from "prom-client";
import { marketAbi } from "../chain/abis";
import { LOGS_AUTH_MAX_AGE_SECONDS, logsAuthMessage } from "../chain/logs-auth";
import {
  MANIFEST_UPLOAD_HEADERS,
  MANIFEST_UPLOAD_MAX_TTL_SECONDS,
  recoverManifestUploader,
} from "../chain/manifest-upload";
import { MAX_MANIFEST_BYTES } from "../manifest/limits";
import { MANIFEST_ENCODINGS, ManifestProtocolError } from "../p2p/protocol";
import type { ManifestEncoding } from "../p2p/protocol";
import type { ManifestNode } from "../p2p";
import type { BidEngine } from "./bidengine";
import type { CharterManager, CharterRecord } from "./charters";
import type { DockerExecutor, Endpoint } from "./executor";
import type { Inventory } from "./inventory";
import type { ChainWatcher } from "./watcher";

export { LOGS_AUTH_MAX_AGE_SECONDS, logsAuthMessage };

export interface ApiOptions {
  provider: Provider;
  market: string;
  self: string;
  inventory: Inventory;
  engine: BidEngine;
  charters: CharterManager;
  executor: DockerExecutor;
  watcher: ChainWatcher;
  registry: Registry;
  /** Takes uploaded manifests (the daemon's p2p node); without it, uploads are refused (503). */
  node?: Pick<ManifestNode, "receive" | "limits">;
  /** The chain's id, for upload signatures (read from `provider` when left out). */
  chainId?: number;
  /**
   * The host name of the services' URLs. Default: the executor's publish address, or, when that is a wildcard
   * (0.0.0.0, ::), the host the request reached this API by (the name the provider announced).
   */
  publicHost?: string;
  now?: () => number;
  /** Registration and stake as the daemon last saw them (a stake problem shows in /status). */
  registration?: () => unknown;
}

/** A page of a list: `limit` (1..MAX_PAGE_LIMIT, default DEFAULT_PAGE_LIMIT) items after `cursor`. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/** A published endpoint of a charter, with the URL a tenant opens. */
export type PublicEndpoint = Endpoint & { url: string };

/** HTTP status of each code an upload may be refused with (stable, like the codes). */
export const UPLOAD_STATUS: Readonly<Record<string, number>> = Object.freeze({
  BAD_ID: 400,
  BAD_REQUEST: 400,
  INVALID_MANIFEST: 400,
  UNAUTHENTICATED: 401,
  BAD_SIGNATURE: 401,
  STALE_SIGNATURE: 401,
  STRANGER: 403,
  UNKNOWN_DEPLOYMENT: 404,
  VERSION_MISMATCH: 409,
  NOT_A_CHARTER_HOLDER: 409,
  DEPLOYMENT_CLOSED: 409,
  TOO_LARGE: 413,
  INTERNAL: 500,
  BUSY: 503,
  UNAVAILABLE: 503,
});

class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: unknown[],
  ) {
    super(message);
  }
}

/** An upload refusal with its code's status. */
const refuse = (code: keyof typeof UPLOAD_STATUS, message: string, issues?: unknown[]) =>
  new ApiError(UPLOAD_STATUS[code], code, message, issues);

export function createApi(o: ApiOptions): express.Express {
  const app = express();
  const market = new Contract(o.market, marketAbi, o.provider);
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const wrap = (fn: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) =>
    fn(req, res).catch(next);
  const idOf = (raw: string): string => {
    if (!/^[1-9][0-9]{0,77}$/.test(raw)) throw new ApiError(400, "BAD_ID", `"${raw}" is not an id (a positive integer)`);
    return raw;
  };

  app.get(
    "/status",
    wrap(async (_req, res) => {
      const charters = o.charters.charters();
      res.json({
        provider: o.self,
        capacity: o.inventory.capacity,
        reserved: o.inventory.usage(),
        free: o.inventory.free(),
        reservations: o.inventory.counts(),
        charters: Object.fromEntries(
          ["waiting", "starting", "running", "closed", "failed"].map((p) => [p, charters.filter((c) => c.phase === p).length]),
        ),
        engine: await o.executor.health(),
        watcher: o.watcher.status,
        ...(o.registration ? { registration: o.registration() } : {}),
      });
    }),
  );

  /** Items sorted by numeric id; the page after `cursor` (an id), `limit` long; `nextCursor` when more follow. */
  const page = <T>(req: Request, items: T[], idOfItem: (item: T) => string): { items: T[]; nextCursor: string | null } => {
    const limitText = req.query.limit === undefined ? String(DEFAULT_PAGE_LIMIT) : String(req.query.limit);
    if (!/^[0-9]{1,6}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_PAGE_LIMIT) {
      throw new ApiError(400, "BAD_REQUEST", `limit must be an integer from 1 to ${MAX_PAGE_LIMIT} (got "${limitText}")`);
    }
    const cursorText = req.query.cursor === undefined ? undefined : String(req.query.cursor);
    if (cursorText !== undefined && !/^[1-9][0-9]{0,77}$/.test(cursorText)) {
      throw new ApiError(400, "BAD_REQUEST", `cursor must be the nextCursor of the previous page (got "${cursorText}")`);
    }
    const sorted = items
      .map((item) => ({ item, id: BigInt(idOfItem(item)) }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const after = cursorText === undefined ? sorted : sorted.filter((x) => x.id > BigInt(cursorText));
    const limit = Number(limitText);
    const chosen = after.slice(0, limit);
    return { items: chosen.map((x) => x.item), nextCursor: after.length > limit ? String(chosen.at(-1)!.id) : null };
  };

  /** A charter as the API shows it: each published endpoint with its URL. */
  const shown = (charter: CharterRecord, req: Request): CharterRecord & { endpoints?: PublicEndpoint[] } => {
    if (!charter.endpoints) return charter as CharterRecord & { endpoints?: PublicEndpoint[] };
    const hostOf = (published: string): string => {
      const host = o.publicHost ?? (/^(0\.0\.0\.0|::|\[::\])$/.test(published) ? req.hostname : published);
      return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    };
    return { ...charter, endpoints: charter.endpoints.map((e) => ({ ...e, url: `http://${hostOf(e.host)}:${e.hostPort}` })) };
  };

  app.get(
    "/charters",
    wrap(async (req, res) => {
      const { items, nextCursor } = page(req, o.charters.charters(), (c) => c.charterId);
      res.json({ charters: items.map((c) => shown(c, req)), nextCursor });
    }),
  );

  app.get(
    "/decisions",
    wrap(async (req, res) => {
      const { items, nextCursor } = page(req, o.engine.decisions(), (d) => d.orderId);
      res.json({ decisions: items, nextCursor });
    }),
  );

  app.get(
    "/orders/:id/decision",
    wrap(async (req, res) => {
      const id = idOf(String(req.params.id));
      const decision = o.engine.decision(id);
      if (!decision) throw new ApiError(404, "NOT_FOUND", `no decision on order ${id}`);
      res.json(decision);
    }),
  );

  app.get(
    "/charters/:id",
    wrap(async (req, res) => {
      const id = idOf(String(req.params.id));
      const charter = o.charters.charter(id);
      if (!charter) throw new ApiError(404, "NOT_FOUND", `this provider holds no charter ${id}`);
      res.json(shown(charter, req));
    }),
  );

  app.get(
    "/charters/:id/logs",
    wrap(async (req, res) => {
      const id = idOf(String(req.params.id));
      const header = req.get("authorization");
      const match = header ? /^TOM3 ([0-9]{1,12}) (0x[0-9a-fA-F]{130})$/.exec(header.trim()) : null;
      if (!match) {
        throw new ApiError(401, "UNAUTHENTICATED", `send Authorization: TOM3 <unix time> <signature of "${logsAuthMessage(id, 0).replace(/0$/, "<unix time>")}">`);
      }
      const at = Number(match[1]);
      if (Math.abs(now() - at) > LOGS_AUTH_MAX_AGE_SECONDS) {
        throw new ApiError(401, "STALE_SIGNATURE", `the signed time ${at} is more than ${LOGS_AUTH_MAX_AGE_SECONDS} s from now`);
      }
      let signer: string;
      try {
        signer = verifyMessage(logsAuthMessage(id, at), match[2]);
      } catch {
        throw new ApiError(401, "BAD_SIGNATURE", "the signature does not recover to an address");
      }
      const charter = await market.charter(id);
      if (BigInt(charter.state) === 0n || String(charter.provider).toLowerCase() !== o.self.toLowerCase()) {
        throw new ApiError(404, "NOT_FOUND", `this provider holds no charter ${id}`);
      }
      if (signer.toLowerCase() !== String(charter.tenant).toLowerCase()) {
        throw new ApiError(403, "NOT_THE_TENANT", `${signer} is not the tenant of charter ${id}`);
      }
      const tail = req.query.tail === undefined ? 200 : Number(req.query.tail);
      const sinceText = req.query.since === undefined ? undefined : String(req.query.since);
      if (sinceText !== undefined && !/^[0-9]{1,12}(\.[0-9]{1,9})?$/.test(sinceText)) {
        throw new ApiError(400, "BAD_REQUEST", `since must be a unix time in seconds, fractions allowed (got "${sinceText}")`);
      }
      const logs = await o.executor.logs(id, {
        tail: Number.isFinite(tail) ? tail : 200,
        since: sinceText,
        timestamps: req.query.timestamps === "true" || req.query.timestamps === "1",
      });
      res.json({ charterId: id, logs });
    }),
  );

  const maxManifestBytes = o.node?.limits.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  let chainId: Promise<bigint> | undefined = o.chainId === undefined ? undefined : Promise.resolve(BigInt(o.chainId));
  app.put(
    "/deployments/:id/manifest",
    // Any content type: the body is the manifest's bytes. Above the limit, refused before it is read (413).
    express.raw({ type: () => true, limit: maxManifestBytes }),
    wrap(async (req, res) => {
      const id = BigInt(idOf(String(req.params.id)));
      if (!o.node) throw refuse("UNAVAILABLE", "this provider takes manifests over p2p only");
      const header = (name: string): string | undefined => req.get(name)?.trim() || undefined;
      const signature = header(MANIFEST_UPLOAD_HEADERS.signature);
      if (signature === undefined) {
        throw refuse(
          "UNAUTHENTICATED",
          `sign the upload (EIP-712 ManifestUpload) as the deployment's owner or operator and send ` +
            `${MANIFEST_UPLOAD_HEADERS.signature} and ${MANIFEST_UPLOAD_HEADERS.expiry}`,
        );
      }
      const expiryText = header(MANIFEST_UPLOAD_HEADERS.expiry);
      if (expiryText === undefined || !/^[0-9]{1,19}$/.test(expiryText)) {
        throw refuse("BAD_REQUEST", `${MANIFEST_UPLOAD_HEADERS.expiry} must be the signed expiry in unix seconds`);
      }
      const version = header(MANIFEST_UPLOAD_HEADERS.version)?.toLowerCase();
      if (version === undefined || !/^0x[0-9a-f]{64}$/.test(version)) {
        throw refuse("BAD_REQUEST", `${MANIFEST_UPLOAD_HEADERS.version} must be the signed version (32 bytes of hex)`);
      }
      const encoding = (header(MANIFEST_UPLOAD_HEADERS.encoding) ?? "yaml") as ManifestEncoding;
      if (!MANIFEST_ENCODINGS.includes(encoding)) {
        throw refuse("BAD_REQUEST", `${MANIFEST_UPLOAD_HEADERS.encoding} must be one of ${MANIFEST_ENCODINGS.join(", ")}`);
      }
      const body: unknown = req.body;
      if (!(body instanceof Uint8Array) || body.length === 0) throw refuse("BAD_REQUEST", "the body must be the manifest");

      const expiry = BigInt(expiryText);
      const nowSeconds = BigInt(now());
      if (expiry <= nowSeconds) throw refuse("STALE_SIGNATURE", `the signature expired at ${expiry}`);
      if (expiry > nowSeconds + BigInt(MANIFEST_UPLOAD_MAX_TTL_SECONDS)) {
        throw refuse("STALE_SIGNATURE", `the expiry ${expiry} is more than ${MANIFEST_UPLOAD_MAX_TTL_SECONDS} s ahead`);
      }
      chainId ??= o.provider.getNetwork().then((network) => network.chainId);
      let signer: string;
      try {
        signer = recoverManifestUploader(
          { deploymentId: id, version, chainId: await chainId, market: o.market, expiry },
          signature,
        );
      } catch {
        throw refuse("BAD_SIGNATURE", "the signature is not a valid EIP-712 signature");
      }
      const deployment = (await market.deployment(id)) as { owner: string; version: string };
      if (deployment.owner === ZeroAddress) throw refuse("UNKNOWN_DEPLOYMENT", `no deployment ${id}`);
      const owner = getAddress(deployment.owner);
      if (signer !== owner && !(await market.isOperator(owner, signer))) {
        throw refuse(
          "STRANGER",
          `${signer} is neither the owner of deployment ${id} nor its operator ` +
            `(a signature over other values, or for another chain or Market, recovers to another address)`,
        );
      }
      if (version !== String(deployment.version).toLowerCase()) {
        throw refuse("VERSION_MISMATCH", `version ${version} is not deployment ${id}'s ${String(deployment.version).toLowerCase()}`);
      }
      try {
        const answer = await o.node.receive(id, body, { from: signer, encoding, version });
        res.json({ deploymentId: id.toString(), version, code: answer.code, message: answer.message });
      } catch (error) {
        if (error instanceof ManifestProtocolError) {
          throw new ApiError(UPLOAD_STATUS[error.code] ?? 500, error.code, error.toResponse().message, error.issues);
        }
        throw error;
      }
    }),
  );

  app.get(
    "/metrics",
    wrap(async (_req, res) => {
      res.type(o.registry.contentType).send(await o.registry.metrics());
    }),
  );

  app.use((req: Request) => {
    throw new ApiError(404, "NOT_FOUND", `no route ${req.method} ${req.path}`);
  });
  // Express recognises an error handler by its four parameters.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ApiError) {
      res
        .status(error.status)
        .json({ error: { code: error.code, message: error.message, ...(error.issues && { issues: error.issues }) } });
      return;
    }
    // body-parser's refusals (express.raw): too large, or a body that could not be read.
    const parserType = (error as { type?: unknown }).type;
    if (parserType === "entity.too.large") {
      const limit = (error as { limit?: number }).limit;
      res.status(413).json({ error: { code: "TOO_LARGE", message: `the body is above the limit of ${limit} bytes` } });
      return;
    }
    if (typeof parserType === "string" && typeof (error as { status?: unknown }).status === "number") {
      const status = (error as { status: number }).status;
      res.status(status < 500 ? 400 : status).json({ error: { code: "BAD_REQUEST", message: (error as Error).message } });
      return;
    }
    const code = (error as { code?: unknown }).code;
    if (code === "NOT_FOUND") {
      res.status(404).json({ error: { code: "NOT_FOUND", message: (error as Error).message } });
      return;
    }
    res.status(500).json({ error: { code: "INTERNAL", message: (error as Error).message ?? String(error) } });
  });
  return app;
}

/** A bound API socket: `serve(app)` hands its requests to the app; until then every request gets 503 STARTING. */
export interface ListeningApi {
  server: Server;
  /** `http://<bound address>:<port>`. */
  url: string;
  serve(app: express.Express): void;
}

/**
 * Bind `host:port` (port 0: any free port) before the rest of the daemon exists, so the registered endpoint can name
 * the API's real address; requests that arrive before `serve` get 503 with code STARTING.
 */
export async function listenApi(address: string): Promise<ListeningApi> {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(at + 1));
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
    res.end(JSON.stringify({ error: { code: "STARTING", message: "the provider daemon is starting; try again in a moment" } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    server,
    url: `http://${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}`,
    serve: (app) => {
      handler = app;
    },
  };
}
