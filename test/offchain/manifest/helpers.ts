/** Shared by the manifest tests: fuzzing budget and a way to look at a refusal. */
import { expect } from "chai";
import { ManifestError, parseManifest, type ManifestIssue } from "../../../offchain/manifest";

/** Runs of each property: `TOM3_FUZZ_RUNS` when set (the fuzz job), else a budget that keeps the suite quick. */
export function fuzzRuns(fallback: number): number {
  const runs = Number(process.env.TOM3_FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : fallback;
}

/** The ManifestError that parsing `text` throws (fails the test if it parses or throws anything else). */
export function refusal(text: string, source?: string): ManifestError {
  try {
    parseManifest(text, { source });
  } catch (error) {
    expect(error, String(error)).to.be.instanceOf(ManifestError);
    return error as ManifestError;
  }
  expect.fail("the manifest was accepted");
}

/** The issue at `path` on `line` (fails the test, listing what was found, if there is none). */
export function issueAt(text: string, path: string, line: number): ManifestIssue {
  const error = refusal(text);
  const issue = error.issues.find((candidate) => candidate.path === path && candidate.line === line);
  expect(issue, `no issue at ${path} line ${line}; found:\n${error.format()}`).to.not.equal(undefined);
  return issue as ManifestIssue;
}

/** `base` with each `from` (found exactly once, or the test fails) replaced by its `to`. */
export function editText(base: string, ...changes: [from: string, to: string][]): string {
  let text = base;
  for (const [from, to] of changes) {
    expect(text.split(from).length, `"${from}" must occur once`).to.equal(2);
    text = text.replace(from, to);
  }
  return text;
}
