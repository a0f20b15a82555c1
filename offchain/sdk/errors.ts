/**
 * Errors of the TOM3 SDK, told apart by `name`, each with a short message, optional `details` and the `cause`.
 * A contract revert is never one of these: it is a `Tom3ContractError` (offchain/chain/errors.ts) with the
 * custom error's code, its decoded arguments and a sentence.
 */
export { Tom3ContractError, isTom3Error } from "../chain/errors";

/** Base class of the SDK's own errors. */
export class Tom3SdkError extends Error {
  override name: string = "Tom3SdkError";
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details ?? {};
  }
}

/** A wait (for matches, acknowledgements, a transaction) ran out of time. */
export class Tom3TimeoutError extends Tom3SdkError {
  override name = "Tom3TimeoutError";
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    details: Record<string, unknown> = {},
  ) {
    super(`timed out after ${formatMs(timeoutMs)} waiting for ${what}`, { details });
  }
}

/** The client was created from a Provider only, and the action sends transactions. */
export class Tom3ReadOnlyError extends Tom3SdkError {
  override name = "Tom3ReadOnlyError";
  constructor(action: string) {
    super(`${action} sends transactions: create the client with a signer, not only a provider`);
  }
}

/** A parameter the SDK refuses before anything is sent (unknown deployment, not the owner, bad amount...). */
export class Tom3InputError extends Tom3SdkError {
  override name = "Tom3InputError";
}

/** The deployment record points at addresses that hold no contract on the connected chain. */
export class Tom3NotDeployedError extends Tom3SdkError {
  override name = "Tom3NotDeployedError";
}

/** The workload could not be delivered to a provider through any of its endpoints. */
export class Tom3DeliveryError extends Tom3SdkError {
  override name = "Tom3DeliveryError";
}

/**
 * Codes of refusals that may clear on their own, so a delivery is tried again after a pause: the provider does not
 * see its charter yet (its chain reads lag the match by a block or a cache period), it is busy, it timed out, it
 * failed inside, or it could not be reached (restarting). Every other code (STRANGER, VERSION_MISMATCH,
 * INVALID_MANIFEST, TOO_LARGE, UNKNOWN_DEPLOYMENT, DEPLOYMENT_CLOSED, BAD_SIGNATURE...) is final.
 */
export const TRANSIENT_DELIVERY_CODES: ReadonlySet<string> = new Set([
  "NOT_A_CHARTER_HOLDER",
  "BUSY",
  "TIMEOUT",
  "INTERNAL",
  "UNREACHABLE",
]);

/**
 * One endpoint of a provider refused the workload, or could not be reached: `code` is the provider's stable code
 * (the p2p protocol's, or the HTTP API's `error.code`), `transient` says whether trying again later may succeed.
 */
export class Tom3DeliveryRefusedError extends Tom3DeliveryError {
  override name = "Tom3DeliveryRefusedError";
  readonly transient: boolean;
  constructor(
    readonly code: string,
    readonly endpoint: string,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(`refused (${code}): ${message}`, { ...options, details: { code, endpoint, ...options.details } });
    this.transient = TRANSIENT_DELIVERY_CODES.has(code);
  }
}

/**
 * `deliverWorkload` gave up on a provider: every endpoint refused for good, or kept refusing for a transient reason
 * until the retries ran out. Names the first such provider, its charter and the last refusal's code; `failures`
 * lists every provider that did not take the workload.
 */
export class Tom3DeliveryFailedError extends Tom3DeliveryError {
  override name = "Tom3DeliveryFailedError";
  constructor(
    message: string,
    readonly provider: string,
    readonly charterId: bigint,
    /** The provider's last refusal code; `NO_ENDPOINT` when it lists none the client can use. */
    readonly code: string,
    readonly attempts: number,
    details: Record<string, unknown>,
  ) {
    super(message, { details: { provider, charterId, code, attempts, ...details } });
  }
}

/** A transaction was mined as failed without revert data, or dropped. */
export class Tom3TransactionError extends Tom3SdkError {
  override name = "Tom3TransactionError";
}

/** "90 s", "1.5 s", "250 ms". */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
