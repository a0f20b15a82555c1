/**
 * The provider's configuration as an operator meets it: every problem of a file in one run (schema, units, the
 * environment it names, the paths it names), located; relative paths resolved from the file's directory, so the
 * example works once copied to the repository root; a node that does not answer named by its field; capacity
 * measured on the host, with a warning for what is configured above it.
 */
import { cpus, totalmem } from "node:os";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { capacityWarnings, initProviderConfig, loadProviderConfig, ProviderConfigError } from "../../../offchain/provider";
import { freePort, REPO_ROOT } from "../../harness/local-chain";
import { runCli, STACK_LINE } from "../cli/helpers";
import { tempDir } from "./helpers";

const KEY = "0x" + "11".repeat(32);

const BROKEN = `chain:
  rpcUrl: http://127.0.0.1:8545
  deployments: ./nowhere
  confirmations: -1
key: { keyEnv: TOM3_TEST_UNSET_KEY }
capacity: { cpu: 2, memory: 16GB }
pricing: { cpu: "1.5" }
register: { stake: "ten" }
dataDir: ./data
`;

describe("provider config: what an operator meets", function () {
  it("reports every problem of a file in one run, each with file:line:col and field", function () {
    const dir = tempDir();
    const file = join(dir, "provider.yaml");
    writeFileSync(file, BROKEN);
    let error: unknown;
    try {
      loadProviderConfig(file, { env: {} });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ProviderConfigError);
    expect((error as ProviderConfigError).format().split("\n")).to.deep.equal([
      `${file}:3:16: chain.deployments: ${dir}/nowhere does not exist (relative paths are relative to the directory of ${file}): it holds the <chainId>.json that \`npm run deploy\` writes`,
      `${file}:4:18: chain.confirmations: must be >= 0`,
      `${file}:5:16: key.keyEnv: the environment variable TOM3_TEST_UNSET_KEY is not set: export the provider's private key there (or an EnvironmentFile under systemd)`,
      `${file}:6:29: capacity.memory: expected a size in binary units Ki, Mi, Gi, Ti (64Mi, 1.5Gi) or plain bytes (134217728), got "16GB" (sizes are binary: did you mean Gi, e.g. 16Gi?)`,
      `${file}:7:17: pricing.cpu: "1.5" is not valid here (expected a whole number of wei)`,
      `${file}:8:20: register.stake: "ten" is not an amount; write TOM3 ("1.5") or wei ("1500wei")`,
    ]);
  });

  it("tom3 provider start prints them all and exits 1, with no stack trace", async function () {
    const file = join(tempDir(), "provider.yaml");
    writeFileSync(file, BROKEN);
    const run = await runCli(["provider", "start", "--config", file]);
    expect(run.code).to.equal(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines).to.have.length(6);
    for (const field of ["chain.deployments", "chain.confirmations", "key.keyEnv", "capacity.memory", "pricing.cpu", "register.stake"]) {
      expect(run.stderr).to.contain(`: ${field}: `);
    }
    expect(run.stderr).not.to.match(STACK_LINE);
  });

  it("resolves relative paths from the file's directory: the example works once copied to a repository root", function () {
    const root = tempDir();
    mkdirSync(join(root, "deployments"));
    copyFileSync(join(REPO_ROOT, "offchain/provider/provider.example.yaml"), join(root, "provider.yaml"));
    // From any working directory: the paths follow the file, not the shell.
    const config = loadProviderConfig(join(root, "provider.yaml"), { env: { TOM3_PROVIDER_KEY: KEY } });
    expect(config.chain.deploymentsDir).to.equal(join(root, "deployments"));
    expect(config.dataDir).to.equal(join(root, "data"));
  });

  it("names chain.rpcUrl when the node does not answer", async function () {
    const dir = tempDir();
    mkdirSync(join(dir, "deployments"));
    const port = await freePort();
    const file = join(dir, "provider.yaml");
    writeFileSync(file, `chain: { rpcUrl: "http://127.0.0.1:${port}" }\nkey: { keyEnv: TOM3_PROVIDER_KEY }\ndataDir: ./data\n`);
    const run = await runCli(["provider", "start", "--config", file], { TOM3_PROVIDER_KEY: KEY });
    expect(run.code).to.equal(1);
    expect(run.stderr.trim()).to.equal(
      `error: chain.rpcUrl (${file}): cannot reach http://127.0.0.1:${port} (connect ECONNREFUSED): is the node running? Or set chain.rpcUrl to its JSON-RPC URL`,
    );
  });

  it("init warns, naming chain.rpcUrl, when no node answers at the URL it writes", async function () {
    const dir = tempDir();
    const port = await freePort();
    const file = join(dir, "provider.yaml");
    const run = await runCli(["--rpc", `http://127.0.0.1:${port}`, "provider", "init", "--config", file], { TOM3_PROVIDER_KEY: KEY });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.contain(`warning: chain.rpcUrl (${file}): no node answers at http://127.0.0.1:${port} (connect ECONNREFUSED`);
    expect(run.stderr).to.contain(
      "so `provider start` would stop here: start the node, or write the file again with its URL (`tom3 --rpc <url> provider init --force ...`",
    );
    expect(readFileSync(file, "utf8")).to.contain(`rpcUrl: "http://127.0.0.1:${port}"`);
  });

  it("init measures the host, warns about a capacity above it, and never replaces a file", function () {
    const dir = tempDir();
    mkdirSync(join(dir, "deployments"));
    writeFileSync(join(dir, "deployments", "31337.json"), "{}");
    const measured = initProviderConfig({ config: join(dir, "a.yaml"), rpcUrl: "http://127.0.0.1:8545", deploymentsDir: join(dir, "deployments") });
    expect(measured.config.capacity.cpuMillis).to.equal(cpus().length * 1000);
    expect(measured.config.capacity.memoryMiB).to.be.within(Math.floor(totalmem() / 2 ** 20) - 1024, Math.floor(totalmem() / 2 ** 20));
    expect(measured.config.capacity.storageMiB).to.be.greaterThan(0);
    // 90 % of the free disk: room for the disk to fill a little before the next start, which warns above the free space.
    const free = measured.host.storageMiB!;
    expect(measured.config.capacity.storageMiB).to.equal(Math.floor(free * 0.9));
    expect(measured.warnings).to.deep.equal([]);
    expect(measured.config.dataDir).to.equal(join(dir, "tom3-provider-data"));

    const cpu = cpus().length * 4;
    const above = initProviderConfig({ config: join(dir, "b.yaml"), rpcUrl: "http://127.0.0.1:8545", deploymentsDir: join(dir, "deployments"), cpu: String(cpu) });
    expect(above.config.capacity.cpuMillis).to.equal(cpu * 1000);
    expect(above.warnings).to.deep.equal([
      {
        path: "capacity.cpu",
        message: `${cpu} CPU is more than this host has (${cpus().length} CPU): orders that need it would be won and then fail`,
      },
    ]);
    expect(capacityWarnings({ memoryMiB: 16384 }, { cpuMillis: 2000, memoryMiB: 4096, storageMiB: undefined })[0].message).to.equal(
      "16Gi is more than this host has (4Gi of memory): orders that need it would be won and then fail",
    );
    expect(() => initProviderConfig({ config: join(dir, "b.yaml"), rpcUrl: "http://127.0.0.1:8545", deploymentsDir: dir })).to.throw(
      "b.yaml already exists: keep it, or pass --force to replace it",
    );
  });
});
