/**
 * Errors of the Docker executor: one class told apart by a stable `code`, with a short message, typed details and
 * the engine's error as `cause`. Codes cross logs and the provider's API, so they never change meaning.
 */
export type ExecutorErrorCode =
  | "ENGINE_UNREACHABLE" // no answer from the engine (socket missing, refused, or no reply within the timeout)
  | "IMAGE_UNAVAILABLE" // the image is not on the engine and the pull policy or the registry gave none
  | "START_FAILED" // containers or networks of a run could not be created or did not stay up
  | "ROLLOUT_FAILED" // the new version did not start; the old one still runs
  | "NOT_FOUND" // no containers of that charter on this engine
  | "INVALID_REQUEST" // the request cannot be run as given (unknown service, other version already running...)
  | "ENGINE_ERROR"; // the engine answered with an error that is none of the above

export class ExecutorError extends Error {
  override name = "ExecutorError";
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    readonly code: ExecutorErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? {};
  }
}

const UNREACHABLE_CODES = new Set([
  "ENOENT", "ECONNREFUSED", "ECONNRESET", "EPIPE", "EACCES", "ETIMEDOUT", "EHOSTUNREACH", "ENOTCONN", "ESOCKETTIMEDOUT",
]);

/** Whether an error from dockerode means the engine did not answer at all. */
export function isUnreachable(error: unknown): boolean {
  if (error instanceof ExecutorError) return error.code === "ENGINE_UNREACHABLE";
  const e = error as { code?: string; name?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code !== undefined && UNREACHABLE_CODES.has(e.code)) return true;
  if (e.name === "AbortError" || e.name === "TimeoutError") return true;
  return /socket hang up|timeout of \d+ms|Timeout of/i.test(e.message ?? "");
}

/** The HTTP status of an engine error, if the engine answered. */
export function engineStatus(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

/** A short text of an engine error (its JSON `message` when there is one). */
export function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string; code?: string } | undefined;
  return e?.json?.message ?? e?.message ?? e?.code ?? String(error);
}
