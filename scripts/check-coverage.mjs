// Fails when line or branch coverage of contracts/ (test contracts excluded) falls below the project's floor.
import { readFileSync } from "node:fs";

const FLOOR = 95;
const summary = JSON.parse(readFileSync(new URL("../coverage/coverage-summary.json", import.meta.url), "utf8"));
const { lines, branches } = summary.total;
console.log(`coverage of contracts/: lines ${lines.pct}%, branches ${branches.pct}% (floor ${FLOOR}%)`);
if (lines.pct < FLOOR || branches.pct < FLOOR) {
  console.error(`coverage below ${FLOOR}%: add tests for the uncovered lines listed above`);
  process.exit(1);
}
