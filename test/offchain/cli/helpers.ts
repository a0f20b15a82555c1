/** Running `tom3` as a user does: a child process of bin/tom3.js on this Node (22), with a chosen environment. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../harness/local-chain";
import { runProcess } from "../../harness/process";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = join(REPO_ROOT, "bin", "tom3.js");

/** Variables a developer's shell may hold that would change what the CLI does. */
const CLEARED = ["TOM3_PRIVATE_KEY", "TOM3_RPC_URL", "TOM3_DEPLOYMENTS_DIR", "TOM3_KEYSTORE_PASSWORD"];

export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const { code, stdout, stderr } = await runProcess(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: cliEnv(env) });
  return { code, stdout, stderr };
}

/** The test's environment without what would change the CLI's behaviour, polling fast, plus `env`. */
function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !CLEARED.includes(key)));
  return { ...base, TOM3_POLL_MS: "100", ...env };
}

/** A stack trace line ("    at fn (file:1:2)"): never allowed in the CLI's output. */
export const STACK_LINE = /^\s+at .+[:(]/m;

/** A `tom3` run still going: its output so far, and its end. */
export interface RunningCli {
  output(): CliRun;
  done: Promise<CliRun>;
  /** Ctrl-C: SIGINT to the process. */
  interrupt(): void;
}

/** Like `runCli`, but the output can be read while it runs (a countdown, a wait for a line). */
export function startCli(args: string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  const run: CliRun = { code: null, stdout: "", stderr: "" };
  child.stdout.on("data", (chunk: Buffer) => (run.stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (run.stderr += chunk.toString()));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ ...run, code }));
  });
  return { output: () => ({ ...run }), done, interrupt: () => void child.kill("SIGINT") };
}
