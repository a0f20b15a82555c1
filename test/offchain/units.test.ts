import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { attributeId, parseAttributes } from "../../offchain/chain/attributes";
import { UnitError as ManifestUnitError } from "../../offchain/manifest";
import { attributeHash } from "../../offchain/manifest/spec";
import {
  UnitError,
  formatResources,
  formatTokenAmount,
  formatTokens,
  parseBitsPerSecond,
  parseBytes,
  parseCpuMillis,
  parseDurationSeconds,
  parseMbps,
  parseMiB,
  parseResources,
  parseTokenAmount,
} from "../../offchain/chain/units";

/** Expect `action` to throw a UnitError about `field` whose message matches `pattern`. */
function expectUnitError(action: () => unknown, field: string, pattern: RegExp): void {
  try {
    action();
  } catch (error) {
    expect(error).to.be.instanceOf(UnitError);
    expect(error).to.be.instanceOf(ManifestUnitError);
    expect((error as UnitError).field).to.equal(field);
    expect((error as UnitError).message.startsWith(`${field}: `), (error as Error).message).to.equal(true);
    expect((error as UnitError).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a UnitError about ${field}`);
}

describe("offchain/chain/units", function () {
  describe("cpu", function () {
    it("reads CPUs and millicores", function () {
      expect(parseCpuMillis("250m")).to.equal(250);
      expect(parseCpuMillis("0.5")).to.equal(500);
      expect(parseCpuMillis(0.5)).to.equal(500);
      expect(parseCpuMillis("2")).to.equal(2000);
      expect(parseCpuMillis("1.5")).to.equal(1500);
      expect(parseCpuMillis("0")).to.equal(0);
    });

    it("refuses fractions of a millicore, negatives, other units and overflows", function () {
      expectUnitError(() => parseCpuMillis("0.0005", "--cpu"), "--cpu", /not a whole number of millicores/);
      expectUnitError(() => parseCpuMillis("1.5m", "--cpu"), "--cpu", /not a whole number of millicores/);
      for (const bad of ["-1", "2 cores", "500M", "", Number.NaN]) {
        expectUnitError(
          () => parseCpuMillis(bad, "--cpu"),
          "--cpu",
          /expected a number of CPUs \(0\.5, 2\) or millicores/,
        );
      }
      expectUnitError(() => parseCpuMillis("5000000", "--cpu"), "--cpu", /above the on-chain maximum 4294967295/);
    });
  });

  describe("memory and storage", function () {
    it("reads plain bytes and binary units", function () {
      expect(parseBytes("268435456")).to.equal(268435456);
      expect(parseBytes("512Ki")).to.equal(524288);
      expect(parseBytes("256Mi")).to.equal(268435456);
      expect(parseBytes("1.5Gi")).to.equal(1610612736);
      expect(parseBytes(1024)).to.equal(1024);
    });

    it("converts to whole MiB, rounding up", function () {
      expect(parseMiB("256Mi")).to.equal(256);
      expect(parseMiB("1Gi")).to.equal(1024);
      expect(parseMiB("0.5Gi")).to.equal(512);
      expect(parseMiB("1")).to.equal(1);
      expect(parseMiB("1025Ki")).to.equal(2);
      expect(parseMiB("0")).to.equal(0);
    });

    it("refuses decimal units with a hint, fractional bytes and overflows", function () {
      expectUnitError(
        () => parseMiB("256M", "--memory"),
        "--memory",
        /sizes are binary: did you mean Mi, e\.g\. 256Mi\?/,
      );
      expectUnitError(() => parseMiB("1GB", "--storage"), "--storage", /did you mean Gi, e\.g\. 1Gi\?/);
      expectUnitError(() => parseMiB("256MiB", "--memory"), "--memory", /did you mean Mi, e\.g\. 256Mi\?/);
      expectUnitError(() => parseMiB("1.5", "--memory"), "--memory", /not a whole number of bytes/);
      expectUnitError(() => parseMiB("5000000Gi", "--storage"), "--storage", /above the on-chain maximum/);
      expectUnitError(
        () => parseMiB("lots", "services.api.resources.memory"),
        "services.api.resources.memory",
        /expected a size in binary units/,
      );
    });
  });

  describe("bandwidth", function () {
    it("reads Kbps, Mbps and Gbps", function () {
      expect(parseBitsPerSecond("10Mbps")).to.equal(10_000_000);
      expect(parseBitsPerSecond("500Kbps")).to.equal(500_000);
      expect(parseMbps("10Mbps")).to.equal(10);
      expect(parseMbps("1Gbps")).to.equal(1000);
      expect(parseMbps("1.5Gbps")).to.equal(1500);
      expect(parseMbps("500Kbps")).to.equal(1);
    });

    it("refuses a number without a unit", function () {
      expectUnitError(() => parseMbps("10", "--bandwidth"), "--bandwidth", /a unit is required: 10Mbps\?/);
      expectUnitError(() => parseMbps("10MB", "--bandwidth"), "--bandwidth", /did you mean 10Mbps\?/);
    });
  });

  describe("durations", function () {
    it("reads s, m, h, d and their combinations", function () {
      expect(parseDurationSeconds("30s")).to.equal(30);
      expect(parseDurationSeconds("90m")).to.equal(5400);
      expect(parseDurationSeconds("1h")).to.equal(3600);
      expect(parseDurationSeconds("1.5h")).to.equal(5400);
      expect(parseDurationSeconds("2d")).to.equal(172800);
      expect(parseDurationSeconds("1h30m")).to.equal(5400);
    });

    it("refuses a bare number, other units and fractional seconds", function () {
      expectUnitError(() => parseDurationSeconds("45", "--duration"), "--duration", /a unit is required: 45s\?/);
      expectUnitError(
        () => parseDurationSeconds("1w", "--duration"),
        "--duration",
        /expected a duration in d, h, m, s/,
      );
      expectUnitError(() => parseDurationSeconds("0.5s", "--window"), "--window", /not a whole number of seconds/);
    });
  });

  describe("resources", function () {
    it("builds on-chain resources and names the failing flag", function () {
      const fields = { cpu: "--cpu", memory: "--memory", storage: "--storage", bandwidth: "--bandwidth" };
      expect(
        parseResources({ cpu: "500m", memory: "256Mi", storage: "1Gi", bandwidth: "10Mbps" }, fields),
      ).to.deep.equal({ cpuMillis: 500, memoryMiB: 256, storageMiB: 1024, bandwidthMbps: 10 });
      expectUnitError(
        () => parseResources({ cpu: "500m", memory: "256Mi", storage: "1G", bandwidth: "10Mbps" }, fields),
        "--storage",
        /sizes are binary/,
      );
    });

    it("formats them back", function () {
      expect(formatResources({ cpuMillis: 500, memoryMiB: 256, storageMiB: 1024, bandwidthMbps: 10n })).to.equal(
        "cpu 500m, memory 256Mi, storage 1024Mi, bandwidth 10Mbps",
      );
    });
  });

  describe("token amounts", function () {
    it("reads TOM3 and wei", function () {
      expect(parseTokenAmount("10")).to.equal(10n * 10n ** 18n);
      expect(parseTokenAmount("0.5")).to.equal(5n * 10n ** 17n);
      expect(parseTokenAmount("10wei")).to.equal(10n);
      expect(parseTokenAmount("2 TOM3")).to.equal(2n * 10n ** 18n);
      expect(parseTokenAmount("0.000000000000000001")).to.equal(1n);
    });

    it("refuses fractions of a wei and unknown units", function () {
      expectUnitError(() => parseTokenAmount("1.5wei", "--amount"), "--amount", /is not an amount/);
      expectUnitError(() => parseTokenAmount("0.0000000000000000001", "--amount"), "--amount", /finer than one wei/);
      expectUnitError(() => parseTokenAmount("10eth", "--amount"), "--amount", /is not an amount/);
      expectUnitError(() => parseTokenAmount("-1", "--amount"), "--amount", /is not an amount/);
    });

    it("formats wei as TOM3", function () {
      expect(formatTokenAmount(15n * 10n ** 17n)).to.equal("1.5 TOM3");
      expect(formatTokenAmount(10n ** 18n)).to.equal("1 TOM3");
      expect(formatTokenAmount(0n)).to.equal("0 TOM3");
      expect(formatTokenAmount(1n)).to.equal("0.000000000000000001 TOM3");
    });

    it("formats small amounts in wei for people", function () {
      expect(formatTokens(432_000n)).to.equal("432000 wei");
      expect(formatTokens(10n ** 12n)).to.equal("0.000001 TOM3");
      expect(formatTokens(0n)).to.equal("0 TOM3");
    });
  });

  describe("attributes", function () {
    it("hashes key=value", function () {
      expect(attributeId("region=eu-west")).to.equal(keccak256(toUtf8Bytes("region=eu-west")));
      expect(attributeId("region=eu-west")).to.equal(attributeHash("region", "eu-west"));
    });

    it("parses a comma-separated list, keeping ids given as hex", function () {
      const gpu = keccak256(toUtf8Bytes("tier=gpu"));
      expect(parseAttributes("region=eu-west, tier=gpu")).to.deep.equal([attributeId("region=eu-west"), gpu]);
      expect(parseAttributes(gpu.toUpperCase().replace("0X", "0x"))).to.deep.equal([gpu]);
      expect(parseAttributes("")).to.deep.equal([]);
      expect(parseAttributes(undefined)).to.deep.equal([]);
    });

    it("refuses malformed and repeated attributes", function () {
      expectUnitError(() => parseAttributes("region", "--attributes"), "--attributes", /write key=value/);
      expectUnitError(() => parseAttributes("=gpu", "--attributes"), "--attributes", /write key=value/);
      expectUnitError(() => parseAttributes("tier=gpu,tier=gpu", "--attributes"), "--attributes", /listed twice/);
    });
  });
});
