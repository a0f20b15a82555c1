/**
 * Market accounts: deposit, depositWithPermit (including a front-run permit), withdraw and balanceOf.
 */
import { expect } from "chai";
import { signPermit } from "../../offchain/chain/permit";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  ONE,
  TENANT_DEPOSIT,
  balance,
  createOrder,
  defaultSpec,
  expectConservation,
  marketFixture,
  type MarketFixture,
} from "./fixtures";

/** Sign an EIP-2612 permit of `value` from `owner` to the Market. */
async function permitFor(fx: MarketFixture, owner: HardhatEthersSigner, value: bigint, deadline: bigint) {
  const domain = await fx.token.eip712Domain();
  return signPermit(
    owner,
    { name: domain.name, version: domain.version, chainId: domain.chainId, verifyingContract: domain.verifyingContract },
    { owner: owner.address, spender: await fx.market.getAddress(), value, nonce: await fx.token.nonces(owner), deadline },
  );
}

describe("Market: accounts", function () {
  describe("deposit", function () {
    it("moves tokens into the caller's available balance and emits Deposited", async function () {
      const fx = await loadFixture(marketFixture);
      const amount = 25n * ONE;

      const tx = fx.market.connect(fx.tenant).deposit(amount);
      await expect(tx).to.emit(fx.market, "Deposited").withArgs(fx.tenant.address, amount);
      await expect(tx).to.changeTokenBalances(fx.token, [fx.tenant, fx.market], [-amount, amount]);

      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT + amount, 0n]);
      await expectConservation(fx, fx.accounts);
    });

    describe("when the amount is zero", function () {
      it("reverts with MarketZeroAmount", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).deposit(0)).to.be.revertedWithCustomError(
          fx.market,
          "MarketZeroAmount",
        );
      });
    });

    describe("when the Market is not approved", function () {
      it("reverts with the token's allowance error and credits nothing", async function () {
        const fx = await loadFixture(marketFixture);
        await fx.token.transfer(fx.stranger, ONE);

        await expect(fx.market.connect(fx.stranger).deposit(ONE))
          .to.be.revertedWithCustomError(fx.token, "ERC20InsufficientAllowance")
          .withArgs(await fx.market.getAddress(), 0, ONE);
        expect(await balance(fx, fx.stranger)).to.deep.equal([0n, 0n]);
      });
    });

    describe("when the balance would pass 2^128", function () {
      it("reverts with MarketAmountTooLarge and the room left", async function () {
        // The TOM3 supply is far below 2^128: use a mintable token to reach the bound.
        const fx = await loadFixture(marketFixture);
        const bigToken = await ethers.deployContract("ReentrantToken");
        const market = await ethers.deployContract("Market", [bigToken, fx.registry, fx.owner, fx.owner]);
        const max = 2n ** 128n - 1n;
        await bigToken.mint(fx.tenant, 2n ** 130n);
        await bigToken.connect(fx.tenant).approve(market, ethers.MaxUint256);
        await market.connect(fx.tenant).deposit(max - 10n);

        await expect(market.connect(fx.tenant).deposit(11n))
          .to.be.revertedWithCustomError(market, "MarketAmountTooLarge")
          .withArgs(11n, 10n);
        await expect(market.connect(fx.tenant).deposit(10n))
          .to.emit(market, "Deposited")
          .withArgs(fx.tenant.address, 10n);
        expect(await market.balanceOf(fx.tenant)).to.deep.equal([max, 0n]);
      });
    });
  });

  describe("depositWithPermit", function () {
    it("deposits on a permit signature without a prior approve", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.token.transfer(fx.stranger, 10n * ONE);
      const amount = 4n * ONE;
      const deadline = BigInt(await time.latest()) + 3600n;
      const { v, r, s } = await permitFor(fx, fx.stranger, amount, deadline);

      const tx = fx.market.connect(fx.stranger).depositWithPermit(amount, deadline, v, r, s);
      await expect(tx).to.emit(fx.market, "Deposited").withArgs(fx.stranger.address, amount);
      await expect(tx).to.changeTokenBalances(fx.token, [fx.stranger, fx.market], [-amount, amount]);

      expect(await balance(fx, fx.stranger)).to.deep.equal([amount, 0n]);
      expect(await fx.token.nonces(fx.stranger)).to.equal(1n);
      expect(await fx.token.allowance(fx.stranger, fx.market)).to.equal(0n);
    });

    describe("when someone front-runs the permit", function () {
      it("still deposits, using the allowance the front-runner's permit set", async function () {
        const fx = await loadFixture(marketFixture);
        await fx.token.transfer(fx.stranger, 10n * ONE);
        const amount = 4n * ONE;
        const deadline = BigInt(await time.latest()) + 3600n;
        const { v, r, s } = await permitFor(fx, fx.stranger, amount, deadline);
        // The signature is public in the mempool: an attacker submits it first.
        await fx.token.connect(fx.operator).permit(fx.stranger, fx.market, amount, deadline, v, r, s);

        await expect(fx.market.connect(fx.stranger).depositWithPermit(amount, deadline, v, r, s))
          .to.emit(fx.market, "Deposited")
          .withArgs(fx.stranger.address, amount);
        expect(await balance(fx, fx.stranger)).to.deep.equal([amount, 0n]);
      });
    });

    describe("when the permit is invalid and no allowance is there", function () {
      it("reverts with the token's allowance error", async function () {
        const fx = await loadFixture(marketFixture);
        await fx.token.transfer(fx.stranger, 10n * ONE);
        const deadline = BigInt(await time.latest()) + 3600n;
        // Signed by the wrong key.
        const { v, r, s } = await permitFor(fx, fx.operator, ONE, deadline);

        await expect(fx.market.connect(fx.stranger).depositWithPermit(ONE, deadline, v, r, s))
          .to.be.revertedWithCustomError(fx.token, "ERC20InsufficientAllowance")
          .withArgs(await fx.market.getAddress(), 0, ONE);
      });
    });

    describe("when the amount is zero", function () {
      it("reverts with MarketZeroAmount", async function () {
        const fx = await loadFixture(marketFixture);
        const deadline = BigInt(await time.latest()) + 3600n;
        const { v, r, s } = await permitFor(fx, fx.tenant, 0n, deadline);
        await expect(
          fx.market.connect(fx.tenant).depositWithPermit(0, deadline, v, r, s),
        ).to.be.revertedWithCustomError(fx.market, "MarketZeroAmount");
      });
    });
  });

  describe("withdraw", function () {
    it("sends available balance back and emits Withdrawn", async function () {
      const fx = await loadFixture(marketFixture);
      const amount = 300n * ONE;

      const tx = fx.market.connect(fx.tenant).withdraw(amount);
      await expect(tx).to.emit(fx.market, "Withdrawn").withArgs(fx.tenant.address, amount);
      await expect(tx).to.changeTokenBalances(fx.token, [fx.tenant, fx.market], [amount, -amount]);

      expect(await balance(fx, fx.tenant)).to.deep.equal([TENANT_DEPOSIT - amount, 0n]);
      await expectConservation(fx, fx.accounts);
    });

    it("lets an account take out everything it has available", async function () {
      const fx = await loadFixture(marketFixture);
      await fx.market.connect(fx.tenant).withdraw(TENANT_DEPOSIT);
      expect(await balance(fx, fx.tenant)).to.deep.equal([0n, 0n]);
    });

    describe("when the amount is zero", function () {
      it("reverts with MarketZeroAmount", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.tenant).withdraw(0)).to.be.revertedWithCustomError(
          fx.market,
          "MarketZeroAmount",
        );
      });
    });

    describe("when part of the balance is locked", function () {
      it("refuses to withdraw locked funds with MarketInsufficientBalance", async function () {
        const fx = await loadFixture(marketFixture);
        const spec = defaultSpec();
        await createOrder(fx, spec);
        const locked = spec.maxPricePerSecond * spec.duration;
        const available = TENANT_DEPOSIT - locked;
        expect(await balance(fx, fx.tenant)).to.deep.equal([available, locked]);

        await expect(fx.market.connect(fx.tenant).withdraw(TENANT_DEPOSIT))
          .to.be.revertedWithCustomError(fx.market, "MarketInsufficientBalance")
          .withArgs(fx.tenant.address, available, TENANT_DEPOSIT);
        await expect(fx.market.connect(fx.tenant).withdraw(available)).to.emit(fx.market, "Withdrawn");
        expect(await balance(fx, fx.tenant)).to.deep.equal([0n, locked]);
      });
    });

    describe("when the caller has no balance", function () {
      it("reverts with MarketInsufficientBalance", async function () {
        const fx = await loadFixture(marketFixture);
        await expect(fx.market.connect(fx.stranger).withdraw(1))
          .to.be.revertedWithCustomError(fx.market, "MarketInsufficientBalance")
          .withArgs(fx.stranger.address, 0, 1);
      });
    });
  });

  describe("balanceOf", function () {
    it("is zero for an account that never deposited", async function () {
      const fx = await loadFixture(marketFixture);
      expect(await balance(fx, fx.stranger)).to.deep.equal([0n, 0n]);
    });
  });
});
