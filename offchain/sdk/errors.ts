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

/** A transaction was mined as failed without revert data, or dropped. */
export class Tom3TransactionError extends Tom3SdkError {
  override name = "Tom3TransactionError";
}

/** "90 s", "1.5 s", "250 ms". */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
