import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { tempDir } from "../provider/helpers";
import { STACK_LINE, runCli } from "./helpers";

describe("tom3 provider start", function () {
  it("refuses a configuration with every problem located, and no stack trace", async function () {
    const file = join(tempDir(), "provider.yaml");
    writeFileSync(file, "chain:\n  rpcUrl: http://127.0.0.1:8545\n  confirmations: -1\nkey: { keyEnv: TOM3_PROVIDER_KEY }\ndataDir: ./data\n");
    const run = await runCli(["provider", "start", "--config", file]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/provider\.yaml:3:\d+: chain\.confirmations: /);
    expect(run.stderr).not.to.match(STACK_LINE);
  });

  it("says which file it cannot read", async function () {
    const run = await runCli(["provider", "start", "--config", "/nonexistent/provider.yaml"]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain("/nonexistent/provider.yaml: cannot be read (ENOENT)");
  });
});
