/**
 * Market reentrancy: a Market deployed over a malicious token (contracts/test/ReentrantToken.sol) whose transfer and
 * transferFrom call back into the Market once armed. Every reentrant call must fail with
 * ReentrancyGuardReentrantCall and leave every balance as it was.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import {
  CharterState,
  DEFAULT_RESOURCES,
  ONE,
  defaultSpec,
  expectConservation,
  marketFixture,
  nextBlockAt,
} from "./fixtures";

async function reentrancyFixture() {
  const fx = await loadFixture(marketFixture);
  const token = await ethers.deployContract("ReentrantToken");
  // A registry over the same token, so that a slash moves the malicious token too.
  const registry = await ethers.deployContract("ProviderRegistry", [token, fx.owner, 0n]);
  const market = await ethers.deployContract("Market", [token, registry, fx.owner, fx.owner]);
  await registry.setMarket(market);

  for (const account of [fx.tenant, fx.provider1]) {
    await token.mint(account, 1_000n * ONE);
    await token.connect(account).approve(market, ethers.MaxUint256);
    await market.connect(account).deposit(100n * ONE);
  }
  await registry.connect(fx.provider1).register("/dns4/provider1.example/tcp/4001", []);
  await token.connect(fx.provider1).approve(registry, ethers.MaxUint256);
  await registry.connect(fx.provider1).stake(500n * ONE);

  return { ...fx, token, registry, market };
}

type Fixture = Awaited<ReturnType<typeof reentrancyFixture>>;

/** Every token balance and Market balance the attacks could move. */
async function snapshot(fx: Fixture) {
  const accounts = [fx.tenant, fx.provider1, fx.owner];
  return {
    market: await Promise.all(accounts.map(async (a) => [...(await fx.market.balanceOf(a))])),
    tokens: await Promise.all([...accounts, fx.market, fx.registry].map((a) => fx.token.balanceOf(a))),
    stake: await fx.registry.slashableStakeOf(fx.provider1),
  };
}

describe("Market: reentrancy", function () {
  describe("when the token is not armed", function () {
    it("deposits and withdraws normally: the guard, not the token, refuses the attacks below", async function () {
      const fx = await loadFixture(reentrancyFixture);
      await fx.market.connect(fx.tenant).deposit(ONE);
      await fx.market.connect(fx.tenant).withdraw(2n * ONE);
      expect(await fx.market.balanceOf(fx.tenant)).to.deep.equal([99n * ONE, 0n]);
      await expectConservation(fx, [fx.tenant, fx.provider1, fx.owner]);
    });
  });

  /** The token movements of the Market's own functions, each made to call back into another token function. */
  type Call = (fx: Fixture) => Promise<ContractTransactionResponse>;
  type Encoded = (fx: Fixture) => string;
  // The token has no permit: depositWithPermit ignores the failed permit and relies on the existing allowance.
  const outer: Array<[name: string, movement: string, call: Call]> = [
    ["deposit", "transferFrom", (fx) => fx.market.connect(fx.tenant).deposit(ONE)],
    [
      "depositWithPermit",
      "transferFrom",
      (fx) => fx.market.connect(fx.tenant).depositWithPermit(ONE, 0, 0, ethers.ZeroHash, ethers.ZeroHash),
    ],
    ["withdraw", "transfer", (fx) => fx.market.connect(fx.tenant).withdraw(ONE)],
  ];
  const reentered: Array<[name: string, data: Encoded]> = [
    ["deposit", (fx) => fx.market.interface.encodeFunctionData("deposit", [ONE])],
    [
      "depositWithPermit",
      (fx) =>
        fx.market.interface.encodeFunctionData("depositWithPermit", [ONE, 0, 0, ethers.ZeroHash, ethers.ZeroHash]),
    ],
    ["withdraw", (fx) => fx.market.interface.encodeFunctionData("withdraw", [ONE])],
  ];

  for (const [outerName, movement, call] of outer) {
    for (const [innerName, data] of reentered) {
      describe(`when ${outerName}'s ${movement} calls back into ${innerName}`, function () {
        it("reverts with ReentrancyGuardReentrantCall and moves nothing", async function () {
          const fx = await loadFixture(reentrancyFixture);
          const before = await snapshot(fx);
          await fx.token.arm(fx.market, data(fx));

          await expect(call(fx)).to.be.revertedWithCustomError(fx.market, "ReentrancyGuardReentrantCall");
          expect(await snapshot(fx)).to.deep.equal(before);
        });
      });
    }
  }

  describe("when a slash's token transfer calls back into the Market", function () {
    async function undeliveredCharter(fx: Fixture) {
      await fx.market.connect(fx.tenant).createDeployment(ethers.id("manifest"));
      const deploymentId = await fx.market.deploymentCount();
      await fx.market.connect(fx.tenant).createOrder(deploymentId, defaultSpec({ attributes: [] }));
      const charterId = await fx.market.orderCount();
      await fx.market.connect(fx.provider1).placeBid(charterId, 900n, DEFAULT_RESOURCES);
      await fx.market.connect(fx.tenant).matchOrder(charterId);
      await nextBlockAt((await fx.market.charter(charterId)).acknowledgeBy + 1n);
      return charterId;
    }

    for (const reentered of ["cancelUndelivered", "closeCharter"] as const) {
      it(`refuses a reentrant ${reentered} with ReentrancyGuardReentrantCall and moves nothing`, async function () {
        const fx = await loadFixture(reentrancyFixture);
        const charterId = await undeliveredCharter(fx);
        const before = await snapshot(fx);
        await fx.token.arm(fx.market, (await fx.market[reentered].populateTransaction(charterId)).data);

        await expect(fx.market.connect(fx.tenant).cancelUndelivered(charterId)).to.be.revertedWithCustomError(
          fx.market,
          "ReentrancyGuardReentrantCall",
        );
        expect(await snapshot(fx)).to.deep.equal(before);
        expect((await fx.market.charter(charterId)).state).to.equal(CharterState.Pending);
      });
    }
  });
});
