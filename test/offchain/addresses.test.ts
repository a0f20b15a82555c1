import { expect } from "chai";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DeploymentFileError,
  contractsWithoutCode,
  deployCommand,
  deploymentFile,
  readDeployment,
  staleDeploymentMessage,
  writeDeployment,
} from "../../offchain/chain/addresses";
import type { Tom3Deployment } from "../../offchain/chain/addresses";

const RECORD: Tom3Deployment = {
  chainId: 31337,
  deployedAtBlock: 1,
  contracts: {
    token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    certificates: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    market: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
    usage: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
  },
};

function expectFileError(action: () => unknown, file: string, field: string | undefined, pattern: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(DeploymentFileError);
    const fileError = error as DeploymentFileError;
    expect(fileError.source).to.equal(file);
    expect(fileError.field).to.equal(field);
    expect(fileError.message.startsWith(file), fileError.message).to.equal(true);
    if (field) expect(fileError.message).to.contain(field);
    expect(fileError.message).to.match(pattern);
    return;
  }
  expect.fail("expected a DeploymentFileError");
}

describe("offchain/chain/addresses", function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "tom3-deployments-"));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Write `json` as the record of chain 31337 and return its file. */
  function writeRaw(json: unknown): string {
    const file = deploymentFile(31337, dir);
    writeFileSync(file, typeof json === "string" ? json : JSON.stringify(json));
    return file;
  }

  it("round-trips a record, checksumming addresses", function () {
    const lowercase = {
      ...RECORD,
      contracts: { ...RECORD.contracts, market: RECORD.contracts.market.toLowerCase() },
    };
    const file = writeDeployment(lowercase, dir);
    expect(file).to.equal(join(dir, "31337.json"));
    expect(readDeployment(31337, dir)).to.deep.equal(RECORD);
    expect(readDeployment(31337n, dir)).to.deep.equal(RECORD);
    expect(JSON.parse(readFileSync(file, "utf8"))).to.deep.equal(RECORD);
  });

  it("keeps the governed variant's governor and timelock", function () {
    const governed: Tom3Deployment = {
      ...RECORD,
      contracts: {
        ...RECORD.contracts,
        governor: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
        timelock: "0x0165878A594ca255338adfa4d48449f69242Eb8F",
      },
    };
    writeDeployment(governed, dir);
    expect(readDeployment(31337, dir)).to.deep.equal(governed);
  });

  it("replaces a record without leaving temporary files", function () {
    writeDeployment(RECORD, dir);
    writeDeployment({ ...RECORD, deployedAtBlock: 7 }, dir);
    expect(readDeployment(31337, dir).deployedAtBlock).to.equal(7);
    expect(readdirSync(dir)).to.deep.equal(["31337.json"]);
  });

  it("creates the directory", function () {
    const nested = join(dir, "a", "b");
    writeDeployment(RECORD, nested);
    expect(readDeployment(31337, nested)).to.deep.equal(RECORD);
  });

  it("refuses to write an invalid record, leaving the old one", function () {
    writeDeployment(RECORD, dir);
    const bad = { ...RECORD, contracts: { ...RECORD.contracts, usage: "0x1234" } };
    expectFileError(() => writeDeployment(bad, dir), join(dir, "31337.json"), "contracts.usage", /non-zero address/);
    expect(readDeployment(31337, dir)).to.deep.equal(RECORD);
    expect(readdirSync(dir)).to.deep.equal(["31337.json"]);
  });

  it("names the missing file and the chain", function () {
    expectFileError(
      () => readDeployment(5, dir),
      join(dir, "5.json"),
      undefined,
      /not found: nothing is deployed on chain 5/,
    );
  });

  it("refuses a file that is not JSON", function () {
    const file = writeRaw("{ not json");
    expectFileError(() => readDeployment(31337, dir), file, undefined, /is not valid JSON/);
  });

  it("names a missing contract", function () {
    const { market: _market, ...rest } = RECORD.contracts;
    const file = writeRaw({ ...RECORD, contracts: rest });
    expectFileError(() => readDeployment(31337, dir), file, "contracts.market", /is missing/);
  });

  it("names an invalid address, a bad checksum and the zero address", function () {
    const badChecksum = RECORD.contracts.market.replace("0xCf7", "0xcf7");
    for (const market of ["0x1234", badChecksum, 42, "0x0000000000000000000000000000000000000000"]) {
      const file = writeRaw({ ...RECORD, contracts: { ...RECORD.contracts, market } });
      expectFileError(() => readDeployment(31337, dir), file, "contracts.market", /must be a non-zero address/);
    }
  });

  it("names a bad chainId, deployedAtBlock or contracts field", function () {
    let file = writeRaw({ ...RECORD, chainId: 1 });
    expectFileError(() => readDeployment(31337, dir), file, "chainId", /is 1, but this is chain 31337/);
    file = writeRaw({ ...RECORD, chainId: "31337" });
    expectFileError(() => readDeployment(31337, dir), file, "chainId", /positive integer, got "31337"/);
    file = writeRaw({ ...RECORD, deployedAtBlock: -1 });
    expectFileError(() => readDeployment(31337, dir), file, "deployedAtBlock", /must be a block number, got -1/);
    const { deployedAtBlock: _block, ...noBlock } = RECORD;
    file = writeRaw(noBlock);
    expectFileError(() => readDeployment(31337, dir), file, "deployedAtBlock", /got nothing/);
    file = writeRaw({ ...RECORD, contracts: [] });
    expectFileError(() => readDeployment(31337, dir), file, "contracts", /must be an object/);
    file = writeRaw([RECORD]);
    expectFileError(() => readDeployment(31337, dir), file, undefined, /is not a JSON object/);
  });

  it("ignores unknown keys, so newer records still read", function () {
    writeRaw({ ...RECORD, network: "localhost", contracts: { ...RECORD.contracts, oracle: "0x01" } });
    expect(readDeployment(31337, dir)).to.deep.equal(RECORD);
  });

  describe("a stale record", function () {
    const code = (holding: string[]) => async (address: string) => (holding.includes(address) ? "0x6080" : "0x");

    it("lists the contracts without code, in the record's order, or only those asked for", async function () {
      const { token, market, usage } = RECORD.contracts;
      expect(await contractsWithoutCode(RECORD, code([token, usage]))).to.deep.equal([
        { key: "registry", address: RECORD.contracts.registry },
        { key: "certificates", address: RECORD.contracts.certificates },
        { key: "market", address: market },
      ]);
      expect(await contractsWithoutCode(RECORD, code([market]), ["token", "market", "governor"])).to.deep.equal([{ key: "token", address: token }]);
      expect(await contractsWithoutCode(RECORD, code(Object.values(RECORD.contracts)))).to.deep.equal([]);
    });

    it("names the deploy command for the node: network, its URL when not the default, the deployments directory", function () {
      expect(deployCommand({ chainId: 31337, network: "localhost" })).to.equal("npm run deploy -- --network localhost");
      expect(deployCommand({ chainId: 31337, rpcUrl: "http://127.0.0.1:8545" })).to.equal("npm run deploy -- --network localhost");
      expect(deployCommand({ chainId: 31337, rpcUrl: "http://127.0.0.1:9000/", deploymentsDir: "/tmp/d" })).to.equal(
        "TOM3_DEPLOYMENTS_DIR=/tmp/d TOM3_LOCAL_RPC_URL=http://127.0.0.1:9000 npm run deploy -- --network localhost",
      );
      expect(deployCommand({ chainId: 11155111, network: "remote", rpcUrl: "https://rpc.example/key" })).to.equal(
        "npm run deploy -- --network remote",
      );
      expect(deployCommand({ chainId: 11155111, rpcUrl: "https://rpc.example/secret-key" })).to.equal(
        "TOM3_RPC_URL=<this node's URL> npm run deploy -- --network remote",
      );
    });

    it("says one sentence: the file, the chain, the missing contracts, the node, and the command (never an URL's path)", function () {
      const message = staleDeploymentMessage({
        source: "/repo/deployments/31337.json",
        chainId: 31337,
        network: "localhost",
        rpcUrl: "http://127.0.0.1:9000/secret",
        missing: [{ key: "market", address: RECORD.contracts.market }],
      });
      expect(message).to.equal(
        `/repo/deployments/31337.json: no TOM3 contract on chain 31337 at market ${RECORD.contracts.market} (node ` +
          "http://127.0.0.1:9000): the record is stale (the node was restarted or replaced since the deploy, or the " +
          "record belongs to another node); deploy the suite there again with " +
          "`TOM3_LOCAL_RPC_URL=http://127.0.0.1:9000 npm run deploy -- --network localhost`, which rewrites this file",
      );
      expect(message).not.to.contain("secret");
      const all = Object.entries(RECORD.contracts).map(([key, address]) => ({ key, address }));
      expect(staleDeploymentMessage({ source: "f.json", chainId: 1, network: "remote", missing: all })).to.match(
        new RegExp(`^f.json: no TOM3 contract on chain 1 at token ${RECORD.contracts.token} and 4 more of its addresses: the record is stale`),
      );
    });
  });
});
