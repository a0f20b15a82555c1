import { expect } from "chai";
import { Wallet } from "ethers";
import { Tom3ContractError, isTom3Error } from "../../../offchain/chain/errors";
import { attributeId } from "../../../offchain/chain/attributes";
import { withGasHeadroom } from "../../../offchain/chain/gas";
import { ManifestError } from "../../../offchain/manifest";
import {
  Tom3Client,
  Tom3NotDeployedError,
  Tom3ReadOnlyError,
  deposit,
  getBalance,
  listProviders,
  parseEndpoint,
  withdraw,
} from "../../../offchain/sdk";
import { startLocalChain } from "../../harness/local-chain";
import type { LocalChain } from "../../harness/local-chain";
import { ONE, PEER_ID, providerApi, setUpMarket } from "./helpers";
import type { Market } from "./helpers";

/** Escrow, balances, the provider directory and errors, against a real node. */
describe("sdk: accounts, providers and errors", function () {
  this.timeout(60_000);
  let chain: LocalChain;
  let m: Market;
  let client: Tom3Client;

  before(async function () {
    chain = await startLocalChain();
    m = await setUpMarket(chain, 3);
    client = await Tom3Client.connect({ runner: m.tenant, deploymentsDir: chain.deploymentsDir, pollIntervalMs: 100 });
  });

  after(async function () {
    await chain?.stop();
  });

  it("deposits with an EIP-2612 permit: one transaction, no allowance left behind", async function () {
    const result = await deposit(client, { amount: 10n * ONE });
    expect(result.permit).to.equal(true);
    expect(result.transactions).to.have.length(1);
    expect(result.available).to.equal(10n * ONE);
    expect(await m.token.allowance(m.tenant.address, chain.deployment.contracts.market)).to.equal(0n);
    expect(await m.token.nonces(m.tenant.address)).to.equal(1n);
  });

  it("deposits with approve + deposit when asked not to use a permit", async function () {
    const result = await client.deposit({ amount: 5n * ONE, permit: false });
    expect(result.permit).to.equal(false);
    expect(result.transactions).to.have.length(2);
    expect(result.available).to.equal(15n * ONE);
  });

  it("shows wallet and escrow balances, of the signer or any account", async function () {
    expect(await getBalance(client)).to.deep.equal({
      account: m.tenant.address,
      wallet: 985n * ONE,
      available: 15n * ONE,
      locked: 0n,
    });
    const other = await client.getBalance({ account: m.providers[0].address.toLowerCase() });
    expect(other.account).to.equal(m.providers[0].address);
    expect(other.wallet).to.equal(90n * ONE);
  });

  it("withdraws part, then all, of the available balance", async function () {
    expect((await withdraw(client, { amount: 5n * ONE })).available).to.equal(10n * ONE);
    const all = await client.withdraw({ amount: "all" });
    expect(all.amount).to.equal(10n * ONE);
    expect(all.available).to.equal(0n);
    expect((await client.getBalance()).wallet).to.equal(1000n * ONE);
  });

  it("sends with 25 % gas headroom over the estimate, so a state change before the block cannot starve it", async function () {
    await client.deposit({ amount: 1n * ONE });
    const sent = await withdraw(client, { amount: 1n * ONE });
    const tx = (await client.provider.getTransaction(sent.transaction))!;
    const receipt = (await client.provider.getTransactionReceipt(sent.transaction))!;
    // The estimate is at least what the call used; the limit sent is the estimate plus a quarter.
    expect(tx.gasLimit >= withGasHeadroom(receipt.gasUsed)).to.equal(true, `limit ${tx.gasLimit}, used ${receipt.gasUsed}`);
  });

  it("decodes a revert into a Tom3ContractError with a readable sentence, never a hex blob", async function () {
    await client.deposit({ amount: 1n * ONE });
    const error = await client.withdraw({ amount: 2n * ONE }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Tom3ContractError);
    expect(isTom3Error(error, "MarketInsufficientBalance")).to.equal(true);
    const revert = error as Tom3ContractError<"MarketInsufficientBalance">;
    expect(revert.contract).to.equal("Market");
    expect(revert.args.available).to.equal(1n * ONE);
    expect(revert.args.needed).to.equal(2n * ONE);
    expect(revert.message).to.match(/has 1 TOM3 available in the market but needs 2 TOM3$/);
    expect(revert.message).to.not.match(/0x[0-9a-f]{16}/);
  });

  it("lists providers with endpoint, attributes, stake, reputation and history, best reputation first", async function () {
    const { providers } = await listProviders(client, { knownAttributes: ["region=eu-west", "tier=gpu"] });
    expect(providers.map((p) => p.address)).to.have.members(m.providers.map((p) => p.address));
    expect(providers[0].address).to.equal(m.providers[2].address); // the largest stake
    for (let i = 1; i < providers.length; i++) {
      expect(providers[i - 1].reputation).to.be.at.least(providers[i].reputation);
    }
    const first = providers.find((p) => p.address === m.providers[0].address)!;
    expect(first).to.deep.include({ registered: true, stake: 10n * ONE, completed: 0, failed: 0 });
    expect(first.attributes).to.deep.equal([attributeId("region=eu-west")]);
    expect(first.knownAttributes).to.deep.equal(["region=eu-west"]);
    expect(first.endpoints).to.deep.equal([
      { kind: "multiaddr", address: `/ip4/127.0.0.1/tcp/4001/p2p/${PEER_ID}`, peerId: PEER_ID },
      { kind: "https", url: providerApi(0) },
    ]);
  });

  it("refuses a bad manifest before sending anything, with located issues", async function () {
    const nonce = await m.provider.getTransactionCount(m.tenant.address);
    const error = await client
      .deployManifest({ manifest: "version: '1.0'\nservices: {}\n", source: "bad.yaml" })
      .catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ManifestError);
    expect((error as ManifestError).format()).to.match(/^bad\.yaml:\d+:\d+: /m);
    expect(await m.provider.getTransactionCount(m.tenant.address)).to.equal(nonce);
  });

  it("reads with a Provider only, and says so when an action needs a signer", async function () {
    const reader = await Tom3Client.connect({ runner: m.provider, deploymentsDir: chain.deploymentsDir });
    expect((await reader.getBalance({ account: m.tenant.address })).available).to.equal(1n * ONE);
    const error = await reader.withdraw({ amount: 1n }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Tom3ReadOnlyError);
    expect((error as Error).message).to.equal("withdraw sends transactions: create the client with a signer, not only a provider");
    const noAccount = await reader.getBalance().catch((e: unknown) => e);
    expect(noAccount).to.be.instanceOf(Tom3ReadOnlyError);
  });

  it("refuses a deployment record whose addresses hold no code", async function () {
    const stale = {
      ...chain.deployment,
      contracts: { ...chain.deployment.contracts, market: Wallet.createRandom().address },
    };
    const error = await Tom3Client.connect({ runner: m.provider, deployment: stale }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(Tom3NotDeployedError);
    expect((error as Error).message).to.match(/no TOM3 contract on chain 31337 at market 0x/);
  });

  it("parses endpoints: multiaddrs first, https next, anything else left out", function () {
    expect(parseEndpoint(`https://a.example  /dns4/p.example/tcp/4001/p2p/${PEER_ID} ftp://x /ip4/1.2.3.4/tcp/1`)).to.deep.equal([
      { kind: "multiaddr", address: `/dns4/p.example/tcp/4001/p2p/${PEER_ID}`, peerId: PEER_ID },
      { kind: "https", url: "https://a.example" },
    ]);
    expect(parseEndpoint("")).to.deep.equal([]);
  });
});
