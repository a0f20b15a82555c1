import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { id, ZeroAddress, ZeroHash } from "ethers";
import { deployTom3, deployTom3Governed } from "../fixtures/deploy";

const MIN_DELAY = 3600n;

async function local() {
  const [deployer, treasury] = await ethers.getSigners();
  return { deployer, treasury, ...(await deployTom3({ treasury: treasury.address, supply: 5n * 10n ** 24n })) };
}

async function governed() {
  const [deployer] = await ethers.getSigners();
  return { deployer, ...(await deployTom3Governed({ Tom3Governed: { minDelay: MIN_DELAY } })) };
}

describe("deployment module Tom3", function () {
  describe("local variant", function () {
    it("wires the suite together and gives the deployer the supply and every parameter", async function () {
      const { deployer, treasury, token, registry, certificates, market, usage } = await loadFixture(local);
      expect(await token.balanceOf(deployer.address)).to.equal(5n * 10n ** 24n);
      expect(await registry.token()).to.equal(await token.getAddress());
      expect(await registry.market()).to.equal(await market.getAddress());
      expect(await certificates.getAddress()).to.be.properAddress;
      expect(await market.token()).to.equal(await token.getAddress());
      expect(await market.registry()).to.equal(await registry.getAddress());
      expect(await usage.market()).to.equal(await market.getAddress());
      expect(await registry.owner()).to.equal(deployer.address);
      expect(await market.owner()).to.equal(deployer.address);
      expect(await market.treasury()).to.equal(treasury.address);
    });

    it("uses the protocol's local defaults", async function () {
      const { registry, market } = await loadFixture(local);
      expect(await registry.unbondingPeriod()).to.equal(7n * 24n * 3600n);
      expect(await market.bidBond()).to.equal(0n);
      expect(await market.startTimeout()).to.equal(600n);
      expect(await market.slashBps()).to.equal(500n);
      expect(await market.protocolFeeBps()).to.equal(0n);
    });
  });

  describe("governed variant", function () {
    it("hands every parameter to the timelock and leaves the deployer no power", async function () {
      const { deployer, registry, market, timelock } = await loadFixture(governed);
      const timelockAddress = await timelock.getAddress();
      expect(await registry.owner()).to.equal(timelockAddress);
      expect(await market.owner()).to.equal(timelockAddress);
      expect(await market.treasury()).to.equal(timelockAddress);
      expect(await timelock.getMinDelay()).to.equal(MIN_DELAY);
      for (const role of [ZeroHash, id("PROPOSER_ROLE"), id("EXECUTOR_ROLE"), id("CANCELLER_ROLE")]) {
        expect(await timelock.hasRole(role, deployer.address)).to.equal(false, `deployer keeps role ${role}`);
      }
      await expect(market.connect(deployer).setBidBond(1n))
        .to.be.revertedWithCustomError(market, "OwnableUnauthorizedAccount")
        .withArgs(deployer.address);
    });

    it("lets only the governor propose and anyone execute", async function () {
      const { governor, timelock, registry } = await loadFixture(governed);
      const governorAddress = await governor.getAddress();
      expect(await timelock.hasRole(id("PROPOSER_ROLE"), governorAddress)).to.equal(true);
      expect(await timelock.hasRole(id("CANCELLER_ROLE"), governorAddress)).to.equal(true);
      expect(await timelock.hasRole(id("EXECUTOR_ROLE"), ZeroAddress)).to.equal(true);
      expect(await governor.token()).to.equal(await registry.getAddress());
      expect(await governor.timelock()).to.equal(await timelock.getAddress());
    });
  });
});
