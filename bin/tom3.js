#!/usr/bin/env node
// The `tom3` command: runs offchain/cli/main.ts through ts-node (transpile only), so `npx tom3 ...` works from
// the repository right after `npm ci`, with no build step.
"use strict";
/* eslint-disable @typescript-eslint/no-require-imports */
const path = require("node:path");

const root = path.resolve(__dirname, "..");
require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
require(path.join(root, "offchain", "cli", "main.ts"))
  .run(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
