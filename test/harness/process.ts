/** Running a program as a user does, for tests: a child process with a chosen environment, its exit code and output. */
import { spawn } from "node:child_process";

export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, in the order they arrived (what a terminal shows). */
  output: string;
}

/** Run `command args` in `cwd` with exactly `env`; resolves when it exits (never rejects on a non-zero code). */
export function runProcess(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
    const run: ProcessRun = { code: null, stdout: "", stderr: "", output: "" };
    child.stdout.on("data", (chunk: Buffer) => {
      run.stdout += chunk.toString();
      run.output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      run.stderr += chunk.toString();
      run.output += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ ...run, code }));
  });
}
