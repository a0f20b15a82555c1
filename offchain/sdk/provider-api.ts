/**
 * Reading a provider's HTTP API (offchain/provider/api.ts) from the tenant's side: where it is (the `https://`
 * entry of the provider's on-chain endpoint, or `http://` on loopback), and one GET with a time limit whose
 * refusals keep the API's stable code. What only the provider knows comes from here: the URLs of a charter's
 * published services, a charter's logs, and the bid engine's decision (and reason) on an order.
 */
import { parseEndpoint } from "./delivery";
import { Tom3SdkError } from "./errors";

/** A provider's API did not answer, or answered with an error (`code` and `status` when it answered). */
export class Tom3ProviderApiError extends Tom3SdkError {
  override name = "Tom3ProviderApiError";
  constructor(
    message: string,
    readonly code: string,
    readonly status?: number,
    options: { cause?: unknown } = {},
  ) {
    super(message, { details: { code, status }, cause: options.cause });
  }
}

/** The base URL of the provider's API from its on-chain endpoint, or undefined when it announces none. */
export function providerApiUrl(endpoint: string): string | undefined {
  const entry = parseEndpoint(endpoint).find((e) => e.kind === "https");
  return entry?.kind === "https" ? entry.url.replace(/\/+$/, "") : undefined;
}

/** GET `<api><path>` as JSON; throws `Tom3ProviderApiError` (code `UNREACHABLE` when nothing answered). */
export async function providerApiGet<T>(
  api: string,
  path: string,
  options: { headers?: Record<string, string>; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<T> {
  const url = `${api}${path}`;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  let response: Response;
  try {
    response = await fetch(url, { headers: options.headers, signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout });
  } catch (error) {
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new Tom3ProviderApiError(`${api} did not answer (${reason})`, "UNREACHABLE", undefined, { cause: error });
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch (error) {
    throw new Tom3ProviderApiError(`${url} answered HTTP ${response.status} without JSON`, "BAD_ANSWER", response.status, { cause: error });
  }
  if (!response.ok) {
    const refusal = (body as { error?: { code?: string; message?: string } }).error;
    throw new Tom3ProviderApiError(
      `${url}: ${refusal?.message ?? `HTTP ${response.status}`}`,
      refusal?.code ?? "HTTP_ERROR",
      response.status,
    );
  }
  return body as T;
}

/** A published port of a charter's service, and the URL it answers at. */
export interface ServiceEndpoint {
  service: string;
  replica: number;
  /** The container's port. */
  port: number;
  /** The port the service is known by (the manifest's `as`). */
  as: number;
  /** `http://<provider's public host>:<host port>`. */
  url: string;
}

/** What a provider reports about one of its charters (`GET /charters/:id`, the part a tenant acts on). */
export interface CharterReport {
  charterId: string;
  /** waiting, starting, running, closed, failed. */
  phase: string;
  /** The version it runs (or last tried). */
  version?: string;
  endpoints: ServiceEndpoint[];
  /** Why it is not running the deployment's version (a refused workload, a failed rollout...). */
  code?: string;
  reason?: string;
}

/** A charter as its provider reports it. */
export async function fetchCharterReport(api: string, charterId: bigint, signal?: AbortSignal): Promise<CharterReport> {
  const c = await providerApiGet<Omit<CharterReport, "endpoints"> & { endpoints?: (ServiceEndpoint & { hostPort: number })[] }>(
    api,
    `/charters/${charterId}`,
    { signal },
  );
  return {
    charterId: c.charterId,
    phase: c.phase,
    version: c.version,
    code: c.code,
    reason: c.reason,
    endpoints: (c.endpoints ?? []).map(({ service, replica, port, as, url }) => ({ service, replica, port, as, url })),
  };
}

/** The published services of a charter, from its provider's `GET /charters/:id`. */
export async function fetchServiceEndpoints(api: string, charterId: bigint, signal?: AbortSignal): Promise<ServiceEndpoint[]> {
  return (await fetchCharterReport(api, charterId, signal)).endpoints;
}
