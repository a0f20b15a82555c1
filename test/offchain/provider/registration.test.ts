/**
 * Registration and stake reconciled with the config, against the in-process Hardhat chain: register and stake on
 * a first start, nothing on a start that finds the chain as configured, an update for a changed endpoint, the
 * difference for a raised stake; a stake that cannot be placed is explained (wallet balance, or the decoded
 * revert), never thrown, and `StakeKeeper` places it once the TOM3 arrives.
 */
import { expect } from "chai";
import hre from "hardhat";
import { Wallet } from "ethers";
import { ensureRegistered, reconcileStake, StakeKeeper, transferAmount, type StakeStatus } from "../../../offchain/provider";
import { deployTom3, type Tom3Suite } from "../../fixtures/deploy";
import { eventually } from "./helpers";

const ONE = 10n ** 18n;

describe("provider registration and stake", function () {
  let suite: Tom3Suite;
  let registry: string;

  before(async function () {
    suite = await deployTom3();
    registry = await suite.registry.getAddress();
  });

  /** A fresh key with gas and `tokens` TOM3. */
  async function account(tokens: bigint): Promise<Wallet> {
    const [deployer] = await hre.ethers.getSigners();
    const key = Wallet.createRandom().connect(hre.ethers.provider) as unknown as Wallet;
    await (await deployer.sendTransaction({ to: key.address, value: ONE })).wait();
    if (tokens > 0n) await (await suite.token.connect(deployer).transfer(key.address, tokens)).wait();
    return key;
  }

  it("registers and stakes on a first start; a start that finds the chain as configured does nothing", async function () {
    const signer = await account(10n * ONE);
    const options = { signer, registry, endpoint: "/ip4/127.0.0.1/tcp/4001", attributes: [], stake: 10n * ONE };
    const first = await ensureRegistered(options);
    expect(first).to.deep.include({ registered: true, updated: false, staked: 10n * ONE });
    expect(first.stake).to.deep.equal({ configured: 10n * ONE, held: 10n * ONE, ok: true });
    expect(await suite.registry.stakeOf(signer.address)).to.equal(10n * ONE);

    const again = await ensureRegistered(options);
    expect(again).to.deep.include({ registered: false, updated: false, staked: 0n });

    const moved = await ensureRegistered({ ...options, endpoint: "/ip4/127.0.0.1/tcp/4002" });
    expect(moved).to.deep.include({ registered: false, updated: true, staked: 0n });
    expect(await suite.registry.endpointOf(signer.address)).to.equal("/ip4/127.0.0.1/tcp/4002");
  });

  it("stakes the difference when the configured stake is raised, and leaves a larger stake alone", async function () {
    const signer = await account(15n * ONE);
    const options = { signer, registry, endpoint: "/ip4/127.0.0.1/tcp/4001", attributes: [], stake: 10n * ONE };
    await ensureRegistered(options);
    const raised = await ensureRegistered({ ...options, stake: 15n * ONE });
    expect(raised.staked).to.equal(5n * ONE);
    expect(await suite.registry.stakeOf(signer.address)).to.equal(15n * ONE);
    const lowered = await ensureRegistered({ ...options, stake: 1n * ONE });
    expect(lowered.stake).to.deep.equal({ configured: ONE, held: 15n * ONE, ok: true });
    expect(await suite.registry.stakeOf(signer.address)).to.equal(15n * ONE);
  });

  it("explains a stake the wallet cannot cover with the transfer that fixes it, then places it once the TOM3 arrives", async function () {
    const signer = await account(3n * ONE);
    const result = await ensureRegistered({ signer, registry, endpoint: "/ip4/127.0.0.1/tcp/4001", attributes: [], stake: 10n * ONE });
    expect(result.registered).to.equal(true);
    expect(result.stake).to.deep.equal({
      configured: 10n * ONE,
      held: 0n,
      ok: false,
      code: "WalletBalanceTooLow",
      problem: `stake 10 TOM3 failed: the wallet ${signer.address} holds 3 TOM3; send TOM3 with \`tom3 transfer 7 ${signer.address}\` (the daemon retries by itself)`,
    });

    const seen: StakeStatus[] = [];
    const keeper = new StakeKeeper({ signer, registry, stake: 10n * ONE, initialDelayMs: 50, onStatus: (s) => seen.push(s) }, result.stake);
    keeper.start();
    try {
      await eventually(() => seen.length >= 2, 10_000, "two retries");
      expect(keeper.status.ok).to.equal(false);
      expect(keeper.retryDelayMs).to.be.greaterThan(50); // backing off
      const [deployer] = await hre.ethers.getSigners();
      await (await suite.token.connect(deployer).transfer(signer.address, 7n * ONE)).wait();
      await eventually(() => keeper.status.ok, 20_000, "the retry to place the stake");
    } finally {
      keeper.stop();
    }
    expect(keeper.status).to.deep.equal({ configured: 10n * ONE, held: 10n * ONE, ok: true });
    expect(await suite.registry.stakeOf(signer.address)).to.equal(10n * ONE);
    expect(keeper.retryDelayMs).to.equal(undefined);
  });

  it("explains a refused stake with the contract's decoded error", async function () {
    const stranger = await account(5n * ONE); // holds TOM3, never registered
    const status = await reconcileStake({ signer: stranger, registry, stake: 5n * ONE });
    expect(status).to.deep.include({ ok: false, code: "ProviderRegistryNotRegistered", held: 0n });
    expect(status.problem).to.equal(`stake 5 TOM3 failed: ${stranger.address} is not a registered provider (ProviderRegistryNotRegistered)`);
  });

  it("writes the transfer amount as tom3 transfer takes it", function () {
    expect(transferAmount(10n * ONE)).to.equal("10");
    expect(transferAmount(ONE / 2n)).to.equal("0.5");
    expect(transferAmount(1500n)).to.equal("1500wei");
  });
});
