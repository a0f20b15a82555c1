/**
 * The provider's HTTP API (Akash's `gateway/`): status, the bid engine's decisions, charters, a charter's logs for
 * its tenant only, and Prometheus metrics. Errors are JSON `{ error: { code, message } }` with stable codes.
 *
 * Logs authentication: the tenant signs (EIP-191 `personal_sign`) the message `TOM3 logs charter <id> at <unix time>`
 * and sends `Authorization: TOM3 <unix time> <signature>`. The signature must recover to the charter's tenant on
 * chain and the time be within 5 minutes of the server's clock, so a captured header is useless soon after.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { Contract, verifyMessage } from "ethers";
import type { Provider } from "ethers";
import type { Registry } from "prom-client";
import { marketAbi } from "../chain/abis";
import type { BidEngine } from "./bidengine";
import type { CharterManager } from "./charters";
import type { DockerExecutor } from "./executor";
import type { Inventory } from "./inventory";
import type { ChainWatcher } from "./watcher";

export const LOGS_AUTH_MAX_AGE_SECONDS = 300;

export function logsAuthMessage(charterId: bigint | string, unixTime: number): string {
  return `TOM3 logs charter ${charterId} at ${unixTime}`;
}

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
  now?: () => number;
}

class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

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
      });
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
      res.json(charter);
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
      res.json({ charterId: id, logs: await o.executor.logs(id, { tail: Number.isFinite(tail) ? tail : 200 }) });
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
      res.status(error.status).json({ error: { code: error.code, message: error.message } });
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

/** Listen on `host:port` (port 0: any free port); resolves with the server and its address. */
export async function listenApi(app: express.Express, address: string): Promise<{ server: Server; url: string }> {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(at + 1));
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  const bound = server.address() as AddressInfo;
  return { server, url: `http://${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}` };
}
