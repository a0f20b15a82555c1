/**
 * Errors of the workload manifest: every problem found in one manifest is an issue located by the field's path
 * (`services.api.resources.memory`, `services.web.expose[0].to[1]`) and, when the manifest came from text, the
 * line and column of that field.
 */

/** One problem in a manifest. */
export interface ManifestIssue {
  /** The field's path: map keys joined by `.`, list items as `[i]`; "" for the manifest as a whole. */
  path: string;
  /** 1-based line of the field in the source text, when known. */
  line?: number;
  /** 1-based column of the field in the source text, when known. */
  column?: number;
  message: string;
}

/** A manifest was refused: `issues` holds every problem found, in source order. */
export class ManifestError extends Error {
  override name = "ManifestError" as const;
  readonly issues: readonly ManifestIssue[];
  /** Where the manifest came from (a file name), used by `format()`. */
  readonly source: string;

  constructor(issues: readonly ManifestIssue[], source = "manifest") {
    super(summary(issues, source));
    this.issues = issues;
    this.source = source;
  }

  /** One line per issue, `file:line:col: path: message`, ready for a terminal; never a stack trace. */
  format(): string {
    return this.issues.map((issue) => formatIssue(issue, this.source)).join("\n");
  }
}

/** `file:line:col: path: message`, leaving out what is unknown; always a single line. */
export function formatIssue(issue: ManifestIssue, source = "manifest"): string {
  let where = source;
  if (issue.line !== undefined) where += `:${issue.line}` + (issue.column !== undefined ? `:${issue.column}` : "");
  const line = issue.path === "" ? `${where}: ${issue.message}` : `${where}: ${issue.path}: ${issue.message}`;
  // Control characters (a newline in a key or value quoted back) would break the one-line-per-issue shape.
  return line.replace(/[\u0000-\u001f\u007f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function summary(issues: readonly ManifestIssue[], source: string): string {
  if (issues.length === 0) return `${source}: invalid manifest`;
  const first = formatIssue(issues[0], source);
  return issues.length === 1 ? first : `${first} (and ${issues.length - 1} more)`;
}

/** A step of a field path: a map key or a list index. */
export type PathSegment = string | number;

/**
 * `["services", "web", "expose", 0, "to", 1]` → `services.web.expose[0].to[1]`. A key that would not read back
 * plainly (empty, or with spaces, dots, brackets, quotes or control characters) is quoted: `env["my var"]`.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (segment === "" || /[\s.[\]"'\\\u0000-\u001f\u007f]/u.test(segment)) out += `[${JSON.stringify(segment)}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}
