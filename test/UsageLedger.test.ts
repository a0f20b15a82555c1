/**
 * UsageLedger: reportUsage (effects, event, every refusal), lastReport and reportCount.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { activeCharter, marketFixture, mineAt, nextBlockAt, pendingCharter } from "./market/fixtures";

const CIPHERTEXT_1 = ethers.id("usage ciphertext 1");
const CIPHERTEXT_2 = ethers.id("usage ciphertext 2");

async function usageFixture() {
  const fx = await loadFixture(marketFixture);
  const charter = await activeCharter(fx);
  return { ...fx, ...charter };
}

describe("UsageLedger", function () {
  it("names its Market", async function () {
    const fx = await loadFixture(usageFixture);
    expect(await fx.usage.market()).to.equal(await fx.market.getAddress());
  });

  describe("reportUsage", function () {
    it("records the report, counts it and emits UsageReported", async function () {
      const fx = await loadFixture(usageFixture);
      const periodEnd = fx.acknowledgedAt + 60n;
      await nextBlockAt(periodEnd);

      await expect(fx.usage.connect(fx.provider).reportUsage(fx.charterId, periodEnd, CIPHERTEXT_1))
        .to.emit(fx.usage, "UsageReported")
        .withArgs(fx.charterId, fx.provider.address, periodEnd, CIPHERTEXT_1);

      expect(await fx.usage.lastReport(fx.charterId)).to.deep.equal([periodEnd, CIPHERTEXT_1]);
      expect(await fx.usage.reportCount(fx.charterId)).to.equal(1n);
    });

    it("keeps the latest report and counts every one", async function () {
      const fx = await loadFixture(usageFixture);
      await mineAt(fx.acknowledgedAt + 120n);
      await fx.usage.connect(fx.provider).reportUsage(fx.charterId, fx.acknowledgedAt + 60n, CIPHERTEXT_1);
      await fx.usage.connect(fx.provider).reportUsage(fx.charterId, fx.acknowledgedAt + 61n, CIPHERTEXT_2);

      expect(await fx.usage.lastReport(fx.charterId)).to.deep.equal([fx.acknowledgedAt + 61n, CIPHERTEXT_2]);
      expect(await fx.usage.reportCount(fx.charterId)).to.equal(2n);
    });

    it("accepts a period ending now", async function () {
      const fx = await loadFixture(usageFixture);
      const now = await nextBlockAt(fx.acknowledgedAt + 10n);
      await expect(fx.usage.connect(fx.provider).reportUsage(fx.charterId, now, CIPHERTEXT_1)).to.emit(
        fx.usage,
        "UsageReported",
      );
    });

    it("still takes the final period once the charter is closed", async function () {
      const fx = await loadFixture(usageFixture);
      await nextBlockAt(fx.acknowledgedAt + 100n);
      await fx.market.connect(fx.tenant).closeCharter(fx.charterId);
      await expect(fx.usage.connect(fx.provider).reportUsage(fx.charterId, fx.acknowledgedAt + 100n, CIPHERTEXT_1))
        .to.emit(fx.usage, "UsageReported")
        .withArgs(fx.charterId, fx.provider.address, fx.acknowledgedAt + 100n, CIPHERTEXT_1);
    });

    describe("when the charter is unknown", function () {
      it("reverts with UsageLedgerUnknownCharter", async function () {
        const fx = await loadFixture(usageFixture);
        await expect(fx.usage.connect(fx.provider).reportUsage(99n, fx.acknowledgedAt, CIPHERTEXT_1))
          .to.be.revertedWithCustomError(fx.usage, "UsageLedgerUnknownCharter")
          .withArgs(99n);
      });
    });

    describe("when the caller is not the charter's provider", function () {
      it("reverts with UsageLedgerNotProvider, for the tenant and for another provider", async function () {
        const fx = await loadFixture(usageFixture);
        await mineAt(fx.acknowledgedAt + 10n);
        for (const caller of [fx.tenant, fx.provider2]) {
          await expect(fx.usage.connect(caller).reportUsage(fx.charterId, fx.acknowledgedAt + 5n, CIPHERTEXT_1))
            .to.be.revertedWithCustomError(fx.usage, "UsageLedgerNotProvider")
            .withArgs(fx.charterId, caller.address);
        }
      });
    });

    describe("when the charter is not acknowledged", function () {
      it("reverts with UsageLedgerNotAcknowledged", async function () {
        const fx = await loadFixture(usageFixture);
        const { charterId } = await pendingCharter(fx);
        const now = BigInt(await time.latest());
        await expect(fx.usage.connect(fx.provider1).reportUsage(charterId, now, CIPHERTEXT_1))
          .to.be.revertedWithCustomError(fx.usage, "UsageLedgerNotAcknowledged")
          .withArgs(charterId);
      });
    });

    describe("when the ciphertext hash is zero", function () {
      it("reverts with UsageLedgerEmptyCiphertext", async function () {
        const fx = await loadFixture(usageFixture);
        await mineAt(fx.acknowledgedAt + 10n);
        await expect(
          fx.usage.connect(fx.provider).reportUsage(fx.charterId, fx.acknowledgedAt + 5n, ethers.ZeroHash),
        ).to.be.revertedWithCustomError(fx.usage, "UsageLedgerEmptyCiphertext");
      });
    });

    describe("when the period does not end after the acknowledgement", function () {
      it("reverts with UsageLedgerPeriodNotIncreasing against the acknowledgement time", async function () {
        const fx = await loadFixture(usageFixture);
        await mineAt(fx.acknowledgedAt + 10n);
        await expect(fx.usage.connect(fx.provider).reportUsage(fx.charterId, fx.acknowledgedAt, CIPHERTEXT_1))
          .to.be.revertedWithCustomError(fx.usage, "UsageLedgerPeriodNotIncreasing")
          .withArgs(fx.acknowledgedAt, fx.acknowledgedAt);
      });
    });

    describe("when the period does not end after the last report", function () {
      it("reverts with UsageLedgerPeriodNotIncreasing for an end equal to or before the last", async function () {
        const fx = await loadFixture(usageFixture);
        await mineAt(fx.acknowledgedAt + 100n);
        const last = fx.acknowledgedAt + 50n;
        await fx.usage.connect(fx.provider).reportUsage(fx.charterId, last, CIPHERTEXT_1);
        for (const periodEnd of [last, last - 1n]) {
          await expect(fx.usage.connect(fx.provider).reportUsage(fx.charterId, periodEnd, CIPHERTEXT_2))
            .to.be.revertedWithCustomError(fx.usage, "UsageLedgerPeriodNotIncreasing")
            .withArgs(periodEnd, last);
        }
        expect(await fx.usage.lastReport(fx.charterId)).to.deep.equal([last, CIPHERTEXT_1]);
      });
    });

    describe("when the period ends in the future", function () {
      it("reverts with UsageLedgerPeriodInFuture", async function () {
        const fx = await loadFixture(usageFixture);
        const now = await nextBlockAt(fx.acknowledgedAt + 10n);
        await expect(fx.usage.connect(fx.provider).reportUsage(fx.charterId, now + 1n, CIPHERTEXT_1))
          .to.be.revertedWithCustomError(fx.usage, "UsageLedgerPeriodInFuture")
          .withArgs(now + 1n, now);
      });
    });
  });

  describe("lastReport and reportCount", function () {
    it("are empty for a charter without reports", async function () {
      const fx = await loadFixture(usageFixture);
      expect(await fx.usage.lastReport(fx.charterId)).to.deep.equal([0n, ethers.ZeroHash]);
      expect(await fx.usage.reportCount(fx.charterId)).to.equal(0n);
    });
  });
});
