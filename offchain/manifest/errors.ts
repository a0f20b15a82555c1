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
  // Control characters (a newline in a key or value quoted back) would break the one-line-per-issue shape, and
  // invisible ones (zero-width, bidirectional overrides) would hide what is wrong or reorder the line on screen.
  return line.replace(INVISIBLE, (char) => escapeChar(char.codePointAt(0) as number));
}

/** Characters a terminal shows as nothing, or as a blank that is not U+0020, or that reorder the text around them. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\u115f\u1160\u3164\uffa0]|(?! )\p{Zs}/gu;

function escapeChar(code: number): string {
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\u{${code.toString(16)}}`;
}

/**
 * A user's text as an error quotes it: between double quotes, with every character outside printable ASCII
 * escaped, so that an invisible or look-alike character shows: `"w\u200beb"`, `"w\u0435b"`. Names, keys and
 * references in a manifest are ASCII, so in them any other character is the mistake.
 */
export function quote(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (code >= 0x20 && code < 0x7f) out += char;
    else if (char === "\n") out += "\\n";
    else if (char === "\t") out += "\\t";
    else out += escapeChar(code);
  }
  return `${out}"`;
}

/** Names of the invisible characters met most often in copied text. */
const INVISIBLE_NAMES: Record<number, string> = {
  0x00a0: "NO-BREAK SPACE",
  0x00ad: "SOFT HYPHEN",
  0x034f: "COMBINING GRAPHEME JOINER",
  0x061c: "ARABIC LETTER MARK",
  0x180e: "MONGOLIAN VOWEL SEPARATOR",
  0x2000: "EN QUAD",
  0x2001: "EM QUAD",
  0x2002: "EN SPACE",
  0x2003: "EM SPACE",
  0x2004: "THREE-PER-EM SPACE",
  0x2005: "FOUR-PER-EM SPACE",
  0x2006: "SIX-PER-EM SPACE",
  0x2007: "FIGURE SPACE",
  0x2008: "PUNCTUATION SPACE",
  0x2009: "THIN SPACE",
  0x200a: "HAIR SPACE",
  0x200b: "ZERO WIDTH SPACE",
  0x200c: "ZERO WIDTH NON-JOINER",
  0x200d: "ZERO WIDTH JOINER",
  0x200e: "LEFT-TO-RIGHT MARK",
  0x200f: "RIGHT-TO-LEFT MARK",
  0x2028: "LINE SEPARATOR",
  0x2029: "PARAGRAPH SEPARATOR",
  0x202a: "LEFT-TO-RIGHT EMBEDDING",
  0x202b: "RIGHT-TO-LEFT EMBEDDING",
  0x202c: "POP DIRECTIONAL FORMATTING",
  0x202d: "LEFT-TO-RIGHT OVERRIDE",
  0x202e: "RIGHT-TO-LEFT OVERRIDE",
  0x202f: "NARROW NO-BREAK SPACE",
  0x205f: "MEDIUM MATHEMATICAL SPACE",
  0x2060: "WORD JOINER",
  0x2066: "LEFT-TO-RIGHT ISOLATE",
  0x2067: "RIGHT-TO-LEFT ISOLATE",
  0x2068: "FIRST STRONG ISOLATE",
  0x2069: "POP DIRECTIONAL ISOLATE",
  0x3000: "IDEOGRAPHIC SPACE",
  0xfeff: "ZERO WIDTH NO-BREAK SPACE (byte order mark)",
};

/** Scripts whose letters are easily taken for Latin ones. */
const LOOK_ALIKE_SCRIPTS: [RegExp, string][] = [
  [/\p{Script=Cyrillic}/u, "a Cyrillic letter"],
  [/\p{Script=Greek}/u, "a Greek letter"],
  [/\p{Script=Armenian}/u, "an Armenian letter"],
  [/\p{Script=Cherokee}/u, "a Cherokee letter"],
  [/[\uff01-\uff5e]/u, "a fullwidth form of an ASCII character"],
];

/**
 * What is unusual about `value` for a field that takes ASCII: its first character outside printable ASCII, named
 * (`contains U+200B ZERO WIDTH SPACE, an invisible character`; `contains U+0435, a Cyrillic letter that looks like
 * a Latin one`), or undefined when there is none.
 */
export function unusualCharacter(value: string): string | undefined {
  for (const char of value) {
    const code = char.codePointAt(0) as number;
    if (code >= 0x20 && code < 0x7f) continue;
    const id = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    const name = INVISIBLE_NAMES[code];
    if (name !== undefined) return `contains ${id} ${name}, an invisible character`;
    if (code < 0x20 || code === 0x7f) return `contains ${id}, a control character`;
    if (new RegExp(INVISIBLE.source, "u").test(char)) return `contains ${id}, an invisible character`;
    for (const [script, what] of LOOK_ALIKE_SCRIPTS) {
      if (script.test(char)) return `contains ${id}, ${what} that looks like ASCII but is not`;
    }
    return `contains ${id}, a non-ASCII character`;
  }
  return undefined;
}

/** `"w\u200beb" (it contains U+200B ZERO WIDTH SPACE, an invisible character)`, or just the quoted value. */
export function quoteWithHint(value: string): string {
  const hint = unusualCharacter(value);
  return hint === undefined ? quote(value) : `${quote(value)} (it ${hint})`;
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
 * plainly (empty, or with spaces, dots, brackets, quotes, or any character outside printable ASCII) is quoted as
 * `quote` does: `env["my var"]`, `services["w\u200beb"]`.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const segment of segments) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (segment === "" || /[^\x21-\x7e]|[.[\]"'\\]/u.test(segment)) out += `[${quote(segment)}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}
