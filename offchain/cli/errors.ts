/**
 * How `tom3` fails: one readable line on stderr (a manifest's problems: one located line each), exit code 1, or
 * 2 for a usage error; never a stack trace. With --json the same error is also the one JSON document on stdout.
 */
import type { Tom3ContractError } from "../chain/errors";
import type { ManifestError } from "../manifest";

// Errors are told apart by `name` (as the SDK's are), so this file loads none of the modules that throw them:
// `tom3 --help` and a usage error stay fast.
const SENTENCE_ERRORS = new Set([
  "DeploymentFileError",
  "Tom3SdkError",
  "Tom3TimeoutError",
  "Tom3ReadOnlyError",
  "Tom3InputError",
  "Tom3NotDeployedError",
  "Tom3DeliveryError",
  "Tom3DeliveryRefusedError",
  "Tom3DeliveryFailedError",
  "Tom3ProviderApiError",
  "Tom3TransactionError",
  "UnsupportedEndpointError",
]);

function named(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

/** A failure the user can act on, already worded for them. `usage`: the command line itself is wrong (exit 2). */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

export interface Failure {
  exitCode: 1 | 2;
  /** Lines for stderr. */
  lines: string[];
  json: Record<string, unknown>;
}

/** Any error as what the user sees. */
export function describeFailure(error: unknown): Failure {
  if ((named(error, "ManifestError") || named(error, "ProviderConfigError")) && typeof (error as ManifestError).format === "function") {
    const manifestError = error as ManifestError;
    return {
      exitCode: 1,
      lines: manifestError.format().split("\n"),
      json: { name: manifestError.name, message: manifestError.message, issues: manifestError.issues },
    };
  }
  if (named(error, "Tom3ContractError")) {
    const revert = error as Tom3ContractError;
    return { exitCode: 1, lines: [`error: reverted: ${revert.message} (${revert.code})`], json: revert.toJSON() };
  }
  if (error instanceof CliError || named(error, "UnitError")) {
    const { name, message } = error as Error;
    const usage = !(error instanceof CliError) || error.usage;
    return { exitCode: usage ? 2 : 1, lines: [`error: ${oneLine(message)}`], json: { name, message } };
  }
  if (error instanceof Error && SENTENCE_ERRORS.has(error.name)) {
    return { exitCode: 1, lines: [`error: ${oneLine(error.message)}`], json: { name: error.name, message: error.message } };
  }
  const message = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error);
  return { exitCode: 1, lines: [`error: ${oneLine(message)}`], json: { name: "Error", message: oneLine(message) } };
}

function oneLine(text: string): string {
  return text.split("\n")[0].trim();
}
