import { logsAuthorization } from "../../chain/logs-auth";
import type { Tom3Client } from "../client";
import { Tom3InputError } from "../errors";
import { providerApiGet, providerApiUrl } from "../provider-api";
import { chartersOf, readDeploymentRecord } from "../records";

export interface GetLogsParameters {
  deploymentId: bigint;
  /** Only this service's lines. */
  service?: string;
  /** Only these charters of the deployment (default: each one that is pending or active). */
  charterIds?: readonly bigint[];
  /** Lines per container to start with (default 100). */
  tail?: number;
  /** Keep asking for new lines until `signal` aborts; each line goes to `onLine` as it arrives. */
  follow?: boolean;
  /** Called with each line, in time order per round (also without `follow`). */
  onLine?: (line: LogLine) => void;
  /** Ends a `follow`. */
  signal?: AbortSignal;
  /** How often a `follow` asks again, ms (default: the client's poll interval). */
  pollIntervalMs?: number;
}

/** One line a container wrote. */
export interface LogLine {
  charterId: bigint;
  service: string;
  replica: number;
  stream: "stdout" | "stderr";
  /** When the engine received it (RFC 3339, nanoseconds). */
  time: string;
  text: string;
}

/** Where each charter's logs were read from, or why they could not be. */
export interface LogSource {
  charterId: bigint;
  provider: string;
  api?: string;
  /** The last failure to read (no API announced, refused, no answer); absent when the last read worked. */
  error?: string;
}

export interface GetLogsReturnType {
  /** Every line read, in time order (empty with `follow`: lines go to `onLine`). */
  lines: LogLine[];
  charters: LogSource[];
}

/**
 * A deployment's container output, from each charter's provider API (`GET /charters/:id/logs`), signed as the
 * tenant as that API requires (offchain/chain/logs-auth.ts: a personal_sign of `TOM3 logs charter <id> at <time>`).
 * With `follow`, asks again every poll interval for lines after the last one seen, until `signal` aborts.
 *
 * @example
 * import { getLogs } from "./offchain/sdk";
 *
 * const { lines } = await getLogs(client, { deploymentId: 1n, service: "web", tail: 20 });
 * for (const l of lines) console.log(`${l.service}: ${l.text}`);
 *
 * const stop = new AbortController();
 * await getLogs(client, { deploymentId: 1n, follow: true, signal: stop.signal, onLine: (l) => console.log(l.text) });
 */
export async function getLogs(client: Tom3Client, parameters: GetLogsParameters): Promise<GetLogsReturnType> {
  const signer = client.requireSigner("getLogs");
  const record = await readDeploymentRecord(client, parameters.deploymentId);
  if (record.createdAt === 0n) throw new Tom3InputError(`deployment ${parameters.deploymentId} does not exist`);
  const all = await chartersOf(client, parameters.deploymentId);
  let charters = all;
  if (parameters.charterIds) {
    const unknown = parameters.charterIds.filter((id) => !all.some((c) => c.charterId === id));
    if (unknown.length > 0) {
      throw new Tom3InputError(`charter ${unknown.join(", ")} is not a charter of deployment ${parameters.deploymentId}`);
    }
    charters = all.filter((c) => parameters.charterIds!.includes(c.charterId));
  } else {
    charters = all.filter((c) => c.state === "Pending" || c.state === "Active");
  }
  if (charters.length === 0) {
    throw new Tom3InputError(`deployment ${parameters.deploymentId} has no running charter: nothing has logs (see tom3 status)`);
  }

  const sources: LogSource[] = [];
  for (const c of charters) {
    const endpoint = await client.read<string>("registry", "endpointOf", [c.provider]);
    const api = providerApiUrl(endpoint);
    sources.push({
      charterId: c.charterId,
      provider: c.provider,
      api,
      ...(api ? {} : { error: `provider ${c.provider} announces no API URL in its endpoint, so its logs cannot be read` }),
    });
  }

  const last = new Map<bigint, string>(); // charter → time of the last line seen
  const collected: LogLine[] = [];
  const running = new Set<string>(); // services the providers reported
  const round = async (): Promise<void> => {
    const batch: LogLine[] = [];
    for (const source of sources) {
      if (!source.api) continue;
      const since = last.get(source.charterId);
      const query = new URLSearchParams({ tail: String(since ? 1000 : (parameters.tail ?? 100)), timestamps: "true" });
      if (since) query.set("since", unixSince(since));
      try {
        const answer = await providerApiGet<{ logs: { service: string; replica: number; stdout: string; stderr: string }[] }>(
          source.api,
          `/charters/${source.charterId}/logs?${query}`,
          { headers: { authorization: await logsAuthorization(signer, source.charterId) }, signal: parameters.signal },
        );
        delete source.error;
        for (const entry of answer.logs) {
          running.add(entry.service);
          if (parameters.service !== undefined && entry.service !== parameters.service) continue;
          for (const stream of ["stdout", "stderr"] as const) {
            for (const { time, text } of timedLines(entry[stream])) {
              if (since && time <= since) continue;
              batch.push({ charterId: source.charterId, service: entry.service, replica: entry.replica, stream, time, text });
            }
          }
        }
      } catch (error) {
        if (parameters.signal?.aborted) return;
        source.error = (error as Error).message;
      }
    }
    batch.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    for (const line of batch) {
      const seen = last.get(line.charterId);
      if (!seen || line.time > seen) last.set(line.charterId, line.time);
      parameters.onLine?.(line);
      if (!parameters.follow) collected.push(line);
    }
  };

  await round();
  if (parameters.service !== undefined && running.size > 0 && !running.has(parameters.service)) {
    throw new Tom3InputError(
      `service "${parameters.service}" does not run in deployment ${parameters.deploymentId} (its services: ${[...running].sort().join(", ")})`,
    );
  }
  while (parameters.follow && !parameters.signal?.aborted) {
    await sleepUnlessAborted(parameters.pollIntervalMs ?? client.pollIntervalMs, parameters.signal);
    if (!parameters.signal?.aborted) await round();
  }
  return { lines: collected, charters: sources };
}

/** "2026-12-06T13:42:21.123456789Z text" lines (the engine's timestamps) as time and text. */
function timedLines(output: string): { time: string; text: string }[] {
  const lines: { time: string; text: string }[] = [];
  for (const raw of output.split("\n")) {
    if (raw === "") continue;
    const space = raw.indexOf(" ");
    const time = space > 0 ? raw.slice(0, space) : raw;
    if (!/^\d{4}-\d\d-\d\dT/.test(time)) continue;
    lines.push({ time, text: space > 0 ? raw.slice(space + 1) : "" });
  }
  return lines;
}

/** An RFC 3339 time with nanoseconds as the engine's `since` ("<unix seconds>.<nanoseconds>"). */
function unixSince(time: string): string {
  const seconds = Math.floor(Date.parse(time) / 1000);
  const fraction = /\.(\d{1,9})/.exec(time)?.[1] ?? "0";
  return `${seconds}.${fraction.padEnd(9, "0")}`;
}

function sleepUnlessAborted(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
