import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import hre from "hardhat";
import { HardhatPluginError } from "hardhat/plugins";
import { sha256 } from "ethers";
import { deployTom3 } from "../fixtures/deploy";
import { ONE, captured, runTask, taskError, useDeploymentsDir, writeRecord } from "./helpers";

const PEM_FILE = join(__dirname, "..", "fixtures", "root-certificate.pem");
const SEVEN_DAYS = 7 * 24 * 3600;

/** The tasks of accounts and providers (`tom3:deposit|withdraw|balance`, `tom3:provider:*`, `tom3:cert:publish`). */
describe("tasks: accounts and providers", function () {
  const dir = useDeploymentsDir();

  async function deployFixture() {
    const deployedAtBlock = await hre.ethers.provider.getBlockNumber();
    const suite = await deployTom3();
    const [deployer, provider] = await hre.ethers.getSigners();
    await suite.token.connect(deployer).transfer(provider.address, 10_000n * ONE);
    return { ...suite, deployedAtBlock, deployer, provider };
  }

  async function setup() {
    const fixture = await loadFixture(deployFixture);
    await writeRecord(dir(), fixture, fixture.deployedAtBlock);
    return fixture;
  }

  it("deposits, withdraws and shows the balance", async function () {
    const { market, token, deployer } = await setup();
    const wallet = await token.balanceOf(deployer.address);

    const deposit = await runTask("tom3:deposit", { amount: "100" });
    expect(deposit).to.include({
      account: deployer.address,
      deposited: (100n * ONE).toString(),
      available: (100n * ONE).toString(),
      locked: "0",
    });
    expect(deposit.approvalTx).to.match(/^0x[0-9a-f]{64}$/);
    expect(deposit.tx).to.match(/^0x[0-9a-f]{64}$/);
    expect(await market.balanceOf(deployer.address)).to.deep.equal([100n * ONE, 0n]);

    const withdraw = await runTask("tom3:withdraw", { amount: "40" });
    expect(withdraw).to.include({ withdrawn: (40n * ONE).toString(), available: (60n * ONE).toString() });
    const rest = await runTask("tom3:withdraw", { amount: "all" });
    expect(rest).to.include({ withdrawn: (60n * ONE).toString(), available: "0" });
    expect(await market.balanceOf(deployer.address)).to.deep.equal([0n, 0n]);
    expect(await token.balanceOf(deployer.address)).to.equal(wallet);

    const balance = await runTask("tom3:balance");
    expect(balance).to.deep.equal({
      account: deployer.address,
      wallet: wallet.toString(),
      available: "0",
      locked: "0",
      isProvider: false,
    });
  });

  it("refuses to withdraw more than is available, with the decoded reason", async function () {
    await setup();
    await runTask("tom3:deposit", { amount: "1" });
    const { error, printed } = await taskError("tom3:withdraw", { amount: "2" });
    expect(error).to.be.instanceOf(HardhatPluginError);
    expect(error.message).to.match(/^Market\.withdraw reverted: /);
    expect(error.message).to.match(
      /has 1 TOM3 available in the market but needs 2 TOM3 \(MarketInsufficientBalance\)$/,
    );
    expect(printed.error.message).to.equal(error.message);
    expect(printed.error.revert.contract).to.equal("Market");
  });

  it("registers, updates, stakes, unstakes and withdraws unbonded stake as a provider", async function () {
    const { registry, token, provider } = await setup();
    const register = await runTask("tom3:provider:register", {
      from: "1",
      endpoint: "https://provider.example",
      attributes: "region=eu-west, tier=gpu",
    });
    expect(register).to.include({ provider: provider.address, endpoint: "https://provider.example" });
    expect(register.attributes).to.deep.equal(["region=eu-west", "tier=gpu"]);
    expect(await registry.isProvider(provider.address)).to.equal(true);
    expect(await registry.attributesOf(provider.address)).to.deep.equal([
      hre.ethers.id("region=eu-west"),
      hre.ethers.id("tier=gpu"),
    ]);

    // Only the endpoint: the attributes stay.
    const endpoint = "/dns4/provider.example/tcp/4001";
    const update = await runTask("tom3:provider:update", { from: "1", endpoint });
    expect(update).to.include({ endpoint, attributes: 2 });
    expect(await registry.endpointOf(provider.address)).to.equal(endpoint);
    // Only the attributes: "" clears them, the endpoint stays.
    expect(await runTask("tom3:provider:update", { from: "1", attributes: "" })).to.include({
      endpoint,
      attributes: 0,
    });
    expect(await registry.attributesOf(provider.address)).to.deep.equal([]);

    const stake = await runTask("tom3:provider:stake", { from: "1", amount: "1000" });
    expect(stake).to.include({ staked: (1000n * ONE).toString(), stake: (1000n * ONE).toString() });
    expect(stake.approvalTx).to.match(/^0x/);
    expect(await registry.stakeOf(provider.address)).to.equal(1000n * ONE);

    const unstake = await runTask("tom3:provider:unstake", { from: "1", amount: "400" });
    expect(unstake).to.include({ requested: (400n * ONE).toString(), unbonding: (400n * ONE).toString() });
    expect(unstake.releaseAt).to.equal((await time.latest()) + SEVEN_DAYS);

    const early = await taskError("tom3:provider:withdraw-unstaked", { from: "1" });
    expect(early.error.message).to.match(/^ProviderRegistry\.withdrawUnstaked reverted: .*\(ProviderRegistry\w+\)$/);

    await time.increase(SEVEN_DAYS);
    const wallet = await token.balanceOf(provider.address);
    const withdrawn = await runTask("tom3:provider:withdraw-unstaked", { from: "1" });
    expect(withdrawn).to.include({ provider: provider.address, withdrawn: (400n * ONE).toString() });
    expect(await token.balanceOf(provider.address)).to.equal(wallet + 400n * ONE);

    const balance = await runTask("tom3:balance", { account: provider.address });
    expect(balance).to.include({
      account: provider.address,
      isProvider: true,
      endpoint,
      stake: (600n * ONE).toString(),
      unbonding: "0",
      chartersCompleted: "0",
      chartersFailed: "0",
    });
    expect(balance).not.to.have.property("releaseAt");
    expect(balance.reputation).to.equal((await registry.reputationOf(provider.address)).toString());
  });

  it("publishes the root certificate of a PEM file", async function () {
    const { certificates, provider } = await setup();
    await runTask("tom3:provider:register", { from: "1", endpoint: "https://provider.example" });
    const pem = readFileSync(PEM_FILE, "utf8");
    const der = Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, ""), "base64");

    const published = await runTask("tom3:cert:publish", { from: "1", pemFile: PEM_FILE });
    expect(published).to.include({ provider: provider.address, fingerprint: sha256(der), bytes: der.length });
    const [fingerprint, publishedAt] = await certificates.rootCertificate(provider.address);
    expect(fingerprint).to.equal(sha256(der));
    expect(publishedAt).to.equal(BigInt(await time.latest()));
    expect(await certificates.isRootCertificate(provider.address, sha256(der))).to.equal(true);

    const neither = await taskError("tom3:cert:publish", { from: "1" });
    expect(neither.error.message).to.equal("give exactly one of --der-file or --pem-file");
  });

  it("names the deployments file that is missing", async function () {
    await setup();
    const missing = join(dir(), "nowhere");
    const previous = process.env.TOM3_DEPLOYMENTS_DIR;
    process.env.TOM3_DEPLOYMENTS_DIR = missing;
    try {
      const { error } = await taskError("tom3:balance");
      expect(error).to.be.instanceOf(HardhatPluginError);
      expect(error.message).to.contain(join(missing, "31337.json"));
      expect(error.message).to.contain("not found");
    } finally {
      process.env.TOM3_DEPLOYMENTS_DIR = previous;
    }
  });

  it("says governance tasks need a governor on the local variant", async function () {
    await setup();
    const { error } = await taskError("tom3:gov:state", { proposal: "1" });
    expect(error.message).to.match(/^the deployment on chain 31337 has no governor/);
  });

  it("prints a readable line per fact without --json", async function () {
    const { deployer } = await setup();
    const { lines, error } = await captured(() => hre.run("tom3:deposit", { amount: "1.5" }));
    expect(error).to.equal(undefined);
    const text = lines.join("\n").split("\n");
    expect(text.slice(0, 4)).to.deep.equal([
      `account: ${deployer.address}`,
      "deposited: 1.5 TOM3",
      "available: 1.5 TOM3",
      "locked: 0 TOM3",
    ]);
    expect(text[4]).to.match(/^approval tx: 0x[0-9a-f]{64}$/);
    expect(text[5]).to.match(/^tx: 0x[0-9a-f]{64}$/);
    expect(text[6]).to.match(/^block: \d+$/);
    expect(text[7]).to.match(/^gas used: \d+$/);
    expect(text).to.have.length(8);
    expect(lines.join("\n")).not.to.contain("{");
  });
});
