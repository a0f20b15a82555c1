import { expect } from "chai";
import { signPermit } from "../offchain/chain/permit";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { TOM3Token__factory, type TOM3Token } from "../typechain-types";
import { deployRegistryFixture, SUPPLY } from "./fixtures/registry";

describe("TOM3Token", function () {
  /** `signer` signs a permit for `owner`'s tokens (a valid permit when they are the same account). */
  async function permitSignature(
    token: TOM3Token,
    signer: HardhatEthersSigner,
    spender: string,
    value: bigint,
    deadline: bigint,
    owner: string = signer.address,
  ) {
    const { chainId } = await ethers.provider.getNetwork();
    return signPermit(
      signer,
      { name: "TOM3", version: "1", chainId, verifyingContract: await token.getAddress() },
      { owner, spender, value, nonce: await token.nonces(owner), deadline },
    );
  }

  describe("deployment", function () {
    it("names the token TOM3 with 18 decimals", async function () {
      const { token } = await loadFixture(deployRegistryFixture);
      expect(await token.name()).to.equal("TOM3");
      expect(await token.symbol()).to.equal("TOM3");
      expect(await token.decimals()).to.equal(18n);
    });

    it("mints the whole supply once, to the holder", async function () {
      const [deployer, holder] = await ethers.getSigners();
      const token = await new TOM3Token__factory(deployer).deploy(holder.address, SUPPLY);
      await expect(token.deploymentTransaction())
        .to.emit(token, "Transfer")
        .withArgs(ZeroAddress, holder.address, SUPPLY);
      expect(await token.totalSupply()).to.equal(SUPPLY);
      expect(await token.balanceOf(holder.address)).to.equal(SUPPLY);
      expect(await token.balanceOf(deployer.address)).to.equal(0n);
    });

    it("has no function that mints or burns after deployment", async function () {
      const { token } = await loadFixture(deployRegistryFixture);
      const names = token.interface.fragments.filter((f) => f.type === "function").map((f) => f.format("sighash"));
      expect(names.filter((n) => /mint|burn/i.test(n))).to.deep.equal([]);
    });

    describe("when the holder is the zero address", function () {
      it("reverts with TOM3TokenInvalidInitialMint", async function () {
        const [deployer] = await ethers.getSigners();
        const factory = new TOM3Token__factory(deployer);
        await expect(factory.deploy(ZeroAddress, SUPPLY))
          .to.be.revertedWithCustomError(factory, "TOM3TokenInvalidInitialMint")
          .withArgs(ZeroAddress, SUPPLY);
      });
    });

    describe("when the supply is zero", function () {
      it("reverts with TOM3TokenInvalidInitialMint", async function () {
        const [deployer] = await ethers.getSigners();
        const factory = new TOM3Token__factory(deployer);
        await expect(factory.deploy(deployer.address, 0n))
          .to.be.revertedWithCustomError(factory, "TOM3TokenInvalidInitialMint")
          .withArgs(deployer.address, 0n);
      });
    });
  });

  describe("transfers", function () {
    it("moves tokens and emits Transfer", async function () {
      const { token, owner, stranger } = await loadFixture(deployRegistryFixture);
      await expect(token.connect(owner).transfer(stranger.address, 5n))
        .to.emit(token, "Transfer")
        .withArgs(owner.address, stranger.address, 5n);
      expect(await token.balanceOf(stranger.address)).to.equal(5n);
    });

    describe("when the balance is too low", function () {
      it("reverts with ERC20InsufficientBalance", async function () {
        const { token, owner, stranger } = await loadFixture(deployRegistryFixture);
        await expect(token.connect(stranger).transfer(owner.address, 1n))
          .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
          .withArgs(stranger.address, 0n, 1n);
      });
    });
  });

  describe("permit (EIP-2612)", function () {
    it("sets the allowance from a signature, bumps the nonce and emits Approval", async function () {
      const { token, owner, stranger } = await loadFixture(deployRegistryFixture);
      const deadline = BigInt(await time.latest()) + 3600n;
      const { v, r, s } = await permitSignature(token, owner, stranger.address, 42n, deadline);
      await expect(token.connect(stranger).permit(owner.address, stranger.address, 42n, deadline, v, r, s))
        .to.emit(token, "Approval")
        .withArgs(owner.address, stranger.address, 42n);
      expect(await token.allowance(owner.address, stranger.address)).to.equal(42n);
      expect(await token.nonces(owner.address)).to.equal(1n);
      await token.connect(stranger).transferFrom(owner.address, stranger.address, 42n);
      expect(await token.balanceOf(stranger.address)).to.equal(42n);
    });

    it("exposes the EIP-712 domain", async function () {
      const { token } = await loadFixture(deployRegistryFixture);
      const domain = await token.eip712Domain();
      expect(domain.name).to.equal("TOM3");
      expect(domain.version).to.equal("1");
      expect(domain.verifyingContract).to.equal(await token.getAddress());
    });

    describe("when the deadline has passed", function () {
      it("reverts with ERC2612ExpiredSignature", async function () {
        const { token, owner, stranger } = await loadFixture(deployRegistryFixture);
        const deadline = BigInt(await time.latest()) - 1n;
        const { v, r, s } = await permitSignature(token, owner, stranger.address, 42n, deadline);
        await expect(token.permit(owner.address, stranger.address, 42n, deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
          .withArgs(deadline);
      });
    });

    describe("when the signature is replayed", function () {
      it("reverts with ERC2612InvalidSigner", async function () {
        const { token, owner, stranger } = await loadFixture(deployRegistryFixture);
        const deadline = BigInt(await time.latest()) + 3600n;
        const { v, r, s } = await permitSignature(token, owner, stranger.address, 42n, deadline);
        await token.permit(owner.address, stranger.address, 42n, deadline, v, r, s);
        await expect(
          token.permit(owner.address, stranger.address, 42n, deadline, v, r, s),
        ).to.be.revertedWithCustomError(token, "ERC2612InvalidSigner");
      });
    });

    describe("when someone else signed", function () {
      it("reverts with ERC2612InvalidSigner naming the signer and the owner", async function () {
        const { token, owner, alice, stranger } = await loadFixture(deployRegistryFixture);
        const deadline = BigInt(await time.latest()) + 3600n;
        const { v, r, s } = await permitSignature(token, alice, stranger.address, 42n, deadline, owner.address);
        await expect(token.permit(owner.address, stranger.address, 42n, deadline, v, r, s))
          .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
          .withArgs(alice.address, owner.address);
      });
    });
  });
});
