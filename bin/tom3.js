#!/usr/bin/env node
// The `tom3` command. Which code it runs follows one rule, so a build can never be stale:
//
// - In a source checkout (offchain/cli/main.ts exists next to this bin/), it runs the TypeScript sources through
//   ts-node (transpile only): `npx tom3 ...` works right after `npm ci`, with no build step, and always runs the
//   sources as they are. A dist/ left by `npm run build` or `npm pack` is never used here.
// - In an installed package (`npm pack` ships dist/ and no .ts sources), it runs the compiled JavaScript in
//   dist/offchain/ with plain Node.js: no ts-node, no TypeScript. `npm pack` builds dist/ first (prepack).
//
// Written for any Node.js version, so an old runtime gets one sentence instead of a syntax error or a stack trace.
"use strict";
/* eslint-disable @typescript-eslint/no-require-imports */
var fs = require("fs");
var path = require("path");

var NEEDED_MAJOR = 22;
var root = path.resolve(__dirname, "..");
var sources = path.join(root, "offchain", "cli", "main.ts");
var compiled = path.join(root, "dist", "offchain", "cli", "main.js");
var checkout = fs.existsSync(sources);

function fail(sentence) {
  process.stderr.write(sentence + "\n");
  process.exit(1);
}

var major = Number(process.versions.node.split(".")[0]);
if (major < NEEDED_MAJOR) {
  fail(
    "tom3 needs Node.js " + NEEDED_MAJOR + " or newer; this is " + process.versions.node + " (" + process.execPath + "); " +
      (checkout
        ? "in the repository run it as `npx tom3` after `npm ci`, which installs Node " + NEEDED_MAJOR +
          " into node_modules/.bin."
        : "install Node.js " + NEEDED_MAJOR + " (https://nodejs.org) and run tom3 again."),
  );
}

var main;
if (checkout) {
  var tsNode;
  try {
    tsNode = require("ts-node");
  } catch (error) {
    fail(
      "tom3 runs from the TypeScript sources in " + root + " and needs ts-node, which is not installed (" +
        error.message.split("\n")[0] + "); run `npm ci` in " + root + ".",
    );
  }
  tsNode.register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  main = require(sources);
} else if (fs.existsSync(compiled)) {
  main = require(compiled);
} else {
  fail(
    "tom3 finds neither its sources (" + sources + ") nor its compiled code (" + compiled + "); " +
      "reinstall the package, built with `npm pack` (which runs `npm run build`).",
  );
}

main.run(process.argv).then(function (code) {
  process.exitCode = code;
});
