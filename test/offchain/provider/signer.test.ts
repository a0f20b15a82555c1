/**
 * SerialSigner against the in-process Hardhat chain: it counts nonces itself (one query to the node), keeps them
 * gap-free when a transaction is refused in estimation, and resyncs when another sender used the same key.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet } from "ethers";
import { SerialSigner, isNonceError } from "../../../offchain/provider/signer";
import { withGasHeadroom } from "../../../offchain/chain/gas";
import { marketFixture } from "../../market/fixtures";
import { hardhatKey } from "../p2p/helpers";

/** An account no fixture uses, with its node queries for the nonce counted. */
function countedWallet(): { wallet: Wallet; queries: string[] } {
  const wallet = new Wallet(hardhatKey(12), ethers.provider);
  const queries: string[] = [];
  const original = wallet.getNonce.bind(wallet);
  wallet.getNonce = async (blockTag?: string) => {
    queries.push(blockTag ?? "latest");
    return original(blockTag);
  };
  return { wallet, queries };
}

describe("provider SerialSigner", function () {
  it("asks the node for the nonce once, then counts; a transaction refused in estimation leaves no gap", async function () {
    const fx = await loadFixture(marketFixture);
    const { wallet, queries } = countedWallet();
    const signer = new SerialSigner(wallet);
    const start = await ethers.provider.getTransactionCount(wallet.address, "pending");
    const to = ethers.Wallet.createRandom().address;

    // Sent together, as the bid engine and the charter manager do; the second reverts in estimation.
    const [first, refused, third, fourth] = await Promise.allSettled([
      signer.sendTransaction({ to, value: 1n }),
      fx.market.connect(signer).cancelOrder(999_999n),
      signer.sendTransaction({ to, value: 2n }),
      signer.sendTransaction({ to, value: 3n }),
    ]);
    expect(refused.status).to.equal("rejected");
    const sent = [first, third, fourth].map((r) => {
      if (r.status !== "fulfilled") throw r.reason;
      return r.value;
    });
    expect(sent.map((tx) => tx.nonce)).to.deep.equal([start, start + 1, start + 2]);
    for (const tx of sent) expect((await tx.wait())?.status).to.equal(1);
    expect(await ethers.provider.getBalance(to)).to.equal(6n);
    expect(await ethers.provider.getTransactionCount(wallet.address)).to.equal(start + 3);
    expect(queries).to.deep.equal(["pending"]);
    expect(await signer.getNonce()).to.equal(start + 3);
  });

  it("resyncs after a transaction sent with the same key by someone else, and sends once more", async function () {
    await loadFixture(marketFixture);
    const { wallet, queries } = countedWallet();
    const signer = new SerialSigner(wallet);
    const to = ethers.Wallet.createRandom().address;
    const a = await signer.sendTransaction({ to, value: 1n });

    // Another process with the same key takes the nonce the signer counted on.
    const other = new Wallet(hardhatKey(12), ethers.provider);
    const external = await other.sendTransaction({ to, value: 10n, nonce: a.nonce + 1 });
    await external.wait();

    const b = await signer.sendTransaction({ to, value: 2n });
    expect(b.nonce).to.equal(a.nonce + 2);
    expect((await b.wait())?.status).to.equal(1);
    expect(await ethers.provider.getBalance(to)).to.equal(13n);
    expect(queries).to.deep.equal(["pending", "pending"]);
  });

  it("sends an estimated transaction with 25 % headroom, and keeps a limit the caller set", async function () {
    const fx = await loadFixture(marketFixture);
    const { wallet } = countedWallet();
    const signer = new SerialSigner(wallet);
    await fx.token.transfer(wallet.address, 10n);
    const approve = await fx.token.connect(signer).approve(await fx.market.getAddress(), 5n);
    const used = (await approve.wait())!.gasUsed;
    expect(approve.gasLimit >= withGasHeadroom(used)).to.equal(true, `limit ${approve.gasLimit}, used ${used}`);
    const fixed = await fx.token.connect(signer).approve(await fx.market.getAddress(), 6n, { gasLimit: 90_000n });
    expect(fixed.gasLimit).to.equal(90_000n);
  });

  it("tells nonce errors from other refusals", function () {
    expect(isNonceError({ code: "NONCE_EXPIRED" })).to.equal(true);
    expect(isNonceError(new Error("Nonce too low. Expected nonce to be 5 but got 4."))).to.equal(true);
    expect(isNonceError(new Error("Nonce too high. Expected nonce to be 5 but got 7."))).to.equal(true);
    expect(isNonceError({ error: { message: "replacement transaction underpriced" } })).to.equal(true);
    expect(isNonceError(new Error("insufficient funds for gas * price + value"))).to.equal(false);
    expect(isNonceError({ code: "CALL_EXCEPTION", action: "estimateGas" })).to.equal(false);
  });
});
