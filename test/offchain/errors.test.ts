import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { AbiCoder, Interface, ZeroAddress, ZeroHash, id } from "ethers";
import { ethers } from "hardhat";
import { openZeppelinErrorsAbi, tom3Abis } from "../../offchain/chain/abis";
import {
  Tom3ContractError,
  decodeContractError,
  decodeRevertData,
  describedErrorNames,
  findRevertData,
  isTom3Error,
} from "../../offchain/chain/errors";

const coder = AbiCoder.defaultAbiCoder();
/** A zero value per Solidity type that is not a number. */
const ZERO_VALUES: Record<string, unknown> = { address: ZeroAddress, bytes32: ZeroHash, string: "", bool: false };
const market = new Interface(tom3Abis.market);

async function deployFixture() {
  const fixture = await ethers.deployContract("RevertFixture");
  const [caller] = await ethers.getSigners();
  return { fixture, caller };
}

/** Run `action`, expect it to throw, and decode what it threw. */
async function decodeThrown(action: () => Promise<unknown>, contract?: string): Promise<Tom3ContractError> {
  try {
    await action();
  } catch (error) {
    const decoded = decodeContractError(error, { contract });
    expect(decoded, `no revert data found in ${String(error)}`).to.be.instanceOf(Tom3ContractError);
    return decoded!;
  }
  throw new Error("expected a revert");
}

describe("offchain/chain/errors", function () {
  describe("when a TOM3 custom error comes back from the chain", function () {
    it("decodes it from a call (eth_call)", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.priceAboveLimit.staticCall(120, 100));
      expect(error.name).to.equal("Tom3ContractError");
      expect(error.code).to.equal("MarketPriceAboveLimit");
      expect(error.args).to.deep.equal({ price: 120n, limit: 100n });
      expect(error.contract).to.equal("Market");
      expect(error.signature).to.equal("MarketPriceAboveLimit(uint128,uint128)");
      expect(error.message).to.equal("price 120 is above the order's limit 100");
    });

    it("decodes it from a gas estimate (eth_estimateGas)", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.priceAboveLimit.estimateGas(120, 100));
      expect(error.code).to.equal("MarketPriceAboveLimit");
      expect(error.message).to.equal("price 120 is above the order's limit 100");
    });

    it("decodes it from a transaction sent without a gas estimate (eth_sendTransaction)", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.priceAboveLimit(120, 100, { gasLimit: 100_000 }));
      expect(error.code).to.equal("MarketPriceAboveLimit");
      expect(error.args).to.deep.equal({ price: 120n, limit: 100n });
    });

    it("names enum values", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.orderNotOpen(7, 2));
      expect(error.code).to.equal("MarketOrderNotOpen");
      expect(error.args).to.deep.equal({ orderId: 7n, state: 2n });
      expect(error.message).to.equal("order 7 is not open (it is Matched)");
    });

    it("decodes string arguments", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.invalidSpec("duration"));
      expect(error.args).to.deep.equal({ field: "duration" });
      expect(error.message).to.equal("the order's requirement spec is invalid: duration");
    });

    it("attributes errors to the contract that declares them", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const releaseAt = 1_900_000_000n;
      // Called "through" the market: the registry's error still belongs to the registry.
      const error = await decodeThrown(() => fixture.unbondingNotOver(releaseAt), "market");
      expect(error.code).to.equal("ProviderRegistryUnbondingNotOver");
      expect(error.contract).to.equal("ProviderRegistry");
      expect(error.args.releaseAt).to.equal(releaseAt);
      expect(error.args.now_).to.be.a("bigint");
      expect(error.message).to.match(/^the unbonding stake is released at 2030-03-17 17:46:40 UTC \(now .+ UTC\)$/);
    });
  });

  describe("when an OpenZeppelin error comes back", function () {
    it("decodes ERC20InsufficientBalance with readable amounts", async function () {
      const { fixture, caller } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.insufficientBalance(10n ** 18n, 25n * 10n ** 17n));
      expect(error.code).to.equal("ERC20InsufficientBalance");
      expect(error.args).to.deep.equal({ sender: caller.address, balance: 10n ** 18n, needed: 25n * 10n ** 17n });
      expect(error.message).to.equal(`${caller.address} holds 1 TOM3 but needs 2.5 TOM3`);
    });

    it("lists the proposal states a Governor operation expected", async function () {
      const { fixture } = await loadFixture(deployFixture);
      // Bits 4 (Succeeded) and 5 (Queued).
      const expected = `0x${((1n << 4n) | (1n << 5n)).toString(16).padStart(64, "0")}`;
      const error = await decodeThrown(() => fixture.unexpectedProposalState(42, 1, expected));
      expect(error.code).to.equal("GovernorUnexpectedProposalState");
      expect(error.message).to.equal("proposal 42 is Active; this needs it to be Succeeded or Queued");
    });
  });

  describe("when the revert data is not a known custom error", function () {
    it("keeps unknown selectors as unrecognised data", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.revertWith("0xdeadbeef0001"));
      expect(error.code).to.equal("UnrecognisedRevert");
      expect(error.data).to.equal("0xdeadbeef0001");
      expect(error.message).to.equal("reverted with unrecognised data 0xdeadbeef0001");
    });

    it("reports a revert without data", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const error = await decodeThrown(() => fixture.revertWith("0x"));
      expect(error.code).to.equal("RevertWithoutData");
      expect(error.message).to.equal("reverted without data");
    });

    it("decodes Error(string) and Panic(uint256)", async function () {
      const { fixture } = await loadFixture(deployFixture);
      const reason = id("Error(string)").slice(0, 10) + coder.encode(["string"], ["boom"]).slice(2);
      const withReason = await decodeThrown(() => fixture.revertWith(reason));
      expect(withReason.code).to.equal("Error");
      expect(withReason.message).to.equal("reverted: boom");

      const panic = id("Panic(uint256)").slice(0, 10) + coder.encode(["uint256"], [0x11]).slice(2);
      const panicked = await decodeThrown(() => fixture.revertWith(panic));
      expect(panicked.code).to.equal("Panic");
      expect(panicked.message).to.equal("panic 0x11: arithmetic overflow or underflow");
    });

    it("falls back to Name(arg=value) for errors of an extra ABI", function () {
      const extra = new Interface(["error VendorFailed(uint256 code, string why)"]);
      const data = extra.encodeErrorResult("VendorFailed", [7, "disk"]);
      const error = decodeRevertData(data, { abis: [extra.fragments] });
      expect(error.code).to.equal("VendorFailed");
      expect(error.contract).to.equal(undefined);
      expect(error.message).to.equal('VendorFailed(code=7, why="disk")');
    });

    it("treats a known selector with undecodable arguments as unrecognised", function () {
      const truncated = market.encodeErrorResult("MarketPriceAboveLimit", [120, 100]).slice(0, 20);
      expect(decodeRevertData(truncated).code).to.equal("UnrecognisedRevert");
    });
  });

  describe("when given raw data or error objects of other shapes", function () {
    const data = market.encodeErrorResult("MarketNoBids", [3]);

    it("decodes raw hex", function () {
      const error = decodeRevertData(data);
      expect(error.code).to.equal("MarketNoBids");
      expect(error.message).to.equal("order 3 has no bids");
    });

    for (const [shape, thrown] of [
      ["ethers (data)", { code: "CALL_EXCEPTION", data }],
      ["ethers (info.error.data)", { code: "UNKNOWN_ERROR", info: { error: { code: 3, message: "reverted", data } } }],
      ["geth JSON-RPC (error.data)", { error: { code: 3, message: "execution reverted", data } }],
      ["nested JSON-RPC (error.data.data)", { error: { data: { message: "reverted", data } } }],
      ["a cause chain", new Error("wrapped", { cause: { error: { data } } })],
      ["a JSON body", { body: JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: 3, data } }) }],
    ] as const) {
      it(`finds the data in ${shape}`, function () {
        expect(findRevertData(thrown)).to.equal(data);
        expect(decodeContractError(thrown)?.code).to.equal("MarketNoBids");
      });
    }

    it("returns undefined when the error carries no revert data", function () {
      expect(decodeContractError(new Error("socket hang up"))).to.equal(undefined);
      expect(decodeContractError({ code: "CALL_EXCEPTION", data: null })).to.equal(undefined);
      expect(decodeContractError("not an error")).to.equal(undefined);
    });

    it("survives cyclic error objects", function () {
      const cyclic: Record<string, unknown> = {};
      cyclic.error = cyclic;
      expect(findRevertData(cyclic)).to.equal(undefined);
    });
  });

  describe("the decoded error", function () {
    it("serialises to plain JSON with a stable code", function () {
      const error = decodeRevertData(market.encodeErrorResult("MarketPriceAboveLimit", [120, 100]), {
        contract: "market",
      });
      expect(JSON.parse(JSON.stringify(error))).to.deep.equal({
        name: "Tom3ContractError",
        code: "MarketPriceAboveLimit",
        contract: "Market",
        args: { price: "120", limit: "100" },
        message: "price 120 is above the order's limit 100",
        data: error.data,
      });
    });

    it("is recognised by isTom3Error, by code", function () {
      const error: unknown = decodeRevertData(market.encodeErrorResult("MarketNoBids", [3]));
      expect(isTom3Error(error)).to.equal(true);
      expect(isTom3Error(error, "MarketNoBids")).to.equal(true);
      expect(isTom3Error(error, "MarketZeroPrice")).to.equal(false);
      if (isTom3Error(error, "MarketNoBids")) expect(error.args.orderId).to.equal(3n);
    });
  });

  describe("the message table", function () {
    const abis = { ...tom3Abis, openZeppelin: openZeppelinErrorsAbi };
    const declared = new Set<string>(
      Object.values(abis).flatMap((abi) => abi.filter((entry) => entry.type === "error").map((entry) => entry.name)),
    );

    it("has a sentence for every error of every TOM3 ABI", function () {
      const described = new Set(describedErrorNames());
      const missing = [...declared].filter((name) => !described.has(name));
      expect(missing, "errors without a sentence in offchain/chain/errors.ts").to.deep.equal([]);
    });

    it("has no sentence for an error that no ABI declares any more", function () {
      const stale = describedErrorNames().filter((name) => !declared.has(name));
      expect(stale, "sentences for errors no ABI declares").to.deep.equal([]);
    });

    it("produces a sentence (not the generic form) for every error, with zero arguments", function () {
      for (const [contract, abi] of Object.entries(abis)) {
        for (const entry of abi) {
          if (entry.type !== "error") continue;
          const iface = new Interface([entry]);
          const fragment = iface.getError(entry.name)!;
          const zeroes = fragment.inputs.map((input) => ZERO_VALUES[input.type] ?? 0);
          const decoded = decodeRevertData(iface.encodeErrorResult(fragment, zeroes), { contract });
          expect(decoded.code, `${contract}: ${entry.name}`).to.equal(entry.name);
          expect(decoded.message, `${contract}: ${entry.name}`).to.not.match(/^\w+\(.*\)$/);
        }
      }
    });
  });
});
