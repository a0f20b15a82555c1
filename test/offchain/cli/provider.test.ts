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

  it("names the allowed values, the key a typo meant, and a decimal where wei are whole", async function () {
    const file = join(tempDir(), "provider.yaml");
    writeFileSync(
      file,
      "chain:\n  rpcUrl: http://127.0.0.1:8545\nkey: { keyEnv: TOM3_PROVIDER_KEY }\npricing:\n  cpu: 1.5\n" +
        "executor:\n  pullPolicy: nevr\ndatadir: ./data\nendpoints: { api: \"127.0.0.1:86710\" }\n",
    );
    const run = await runCli(["provider", "start", "--config", file]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain("provider.yaml:5:8: pricing.cpu: 1.5 is not valid here (expected a whole number of wei)");
    expect(run.stderr).to.contain('provider.yaml:7:15: executor.pullPolicy: "nevr" is not one of: never, if-missing, always');
    expect(run.stderr).to.contain("provider.yaml:8:1: datadir: unknown key (did you mean dataDir?)");
    expect(run.stderr).to.contain("provider.yaml:9:19: endpoints.api: port 86710 is above 65535");
    expect(run.stderr).not.to.match(STACK_LINE);
  });

  it("says which file it cannot read", async function () {
    const run = await runCli(["provider", "start", "--config", "/nonexistent/provider.yaml"]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.contain("/nonexistent/provider.yaml: cannot be read (ENOENT)");
  });
});
