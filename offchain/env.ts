/**
 * The configuration every TOM3 program shares: variables named `TOM3_*`, set in the environment or in a `.env`
 * file in the working directory (`.env.example` lists them all; the README's "Configuration" section says who reads
 * which). hardhat.config.ts (so the Hardhat tasks, `npm run deploy` and the demo on a configured network) and the
 * `tom3` command line both load the file with `loadDotEnv`, so they see the same values:
 *
 * - a variable already set in the environment wins over the file;
 * - an empty value means unset (`.env.example` leaves them empty, so a plain copy changes nothing): empty `TOM3_*`
 *   variables are removed from the environment, so no reader, and no child process, ever sees one;
 * - a line that is not `NAME=value` is an error naming the file and the line, never echoing the line (it may hold a
 *   key).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";

/** A `.env` file that cannot be used; the message names the file and the line. */
export class EnvFileError extends Error {
  override name = "EnvFileError";
}

/**
 * Load `<dir>/.env` (default: the working directory) into `env` without overriding what is set, then drop empty
 * `TOM3_*` variables. Returns the file's path when one was loaded. A missing file is not an error.
 */
export function loadDotEnv(dir: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): string | undefined {
  // An empty variable in the environment is unset too, so the file may fill it.
  dropEmptyTom3Variables(env);
  const file = join(dir, ".env");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new EnvFileError(`${file}: cannot be read (${code ?? (error as Error).message})`);
  }
  checkSyntax(text, file);
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] === undefined && value !== undefined) env[name] = value;
  }
  dropEmptyTom3Variables(env);
  return file;
}

/** Remove every `TOM3_*` variable whose value is empty or blank: an empty value means "use the default". */
export function dropEmptyTom3Variables(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith("TOM3_") && (value === undefined || value.trim() === "")) delete env[name];
  }
}

const ASSIGNMENT = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/;

/**
 * Every line is blank, a `#` comment, or `NAME=value` (optionally `export NAME=value`); a quoted value may span
 * lines but must close. Node's own parser skips anything else silently, which turns a typo into a default.
 */
function checkSyntax(text: string, file: string): void {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = ASSIGNMENT.exec(line);
    if (!match) {
      throw new EnvFileError(
        `${file} line ${i + 1}: not a NAME=value line (a comment starts with #); fix or remove the line`,
      );
    }
    const [, name, value] = match;
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === "`") && value.indexOf(quote, 1) === -1) {
      let end = i + 1;
      while (end < lines.length && !lines[end].includes(quote)) end++;
      if (end === lines.length) {
        throw new EnvFileError(`${file} line ${i + 1}: the value of ${name} opens a ${quote} quote that never closes`);
      }
      i = end;
    }
  }
}
