/**
 * How `tom3` fails: one readable line on stderr (a manifest's problems: one located line each), exit code 1, or
 * 2 for a usage error; never a stack trace. With --json the same error is also the one JSON document on stdout.
 */
import { DeploymentFileError } from "../chain/deployment";
import { Tom3ContractError } from "../chain/errors";
import { UnitError } from "../chain/units";
import { ManifestError } from "../manifest";
import { Tom3SdkError } from "../sdk";

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
  if (error instanceof ManifestError) {
    return {
      exitCode: 1,
      lines: error.format().split("\n"),
      json: { name: error.name, message: error.message, issues: error.issues },
    };
  }
  if (error instanceof Tom3ContractError) {
    const json = error.toJSON();
    return { exitCode: 1, lines: [`error: reverted: ${error.message} (${error.code})`], json };
  }
  if (error instanceof CliError || error instanceof UnitError) {
    const usage = error instanceof UnitError || (error as CliError).usage;
    return { exitCode: usage ? 2 : 1, lines: [`error: ${oneLine(error.message)}`], json: { name: error.name, message: error.message } };
  }
  if (error instanceof Tom3SdkError || error instanceof DeploymentFileError) {
    return { exitCode: 1, lines: [`error: ${oneLine(error.message)}`], json: { name: error.name, message: error.message } };
  }
  const message = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : String(error);
  return { exitCode: 1, lines: [`error: ${oneLine(message)}`], json: { name: "Error", message: oneLine(message) } };
}

function oneLine(text: string): string {
  return text.split("\n")[0].trim();
}
