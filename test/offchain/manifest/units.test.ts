import { expect } from "chai";
import fc from "fast-check";
import { parseBandwidth, parseBytes, parseCpu, parseDuration, UnitError } from "../../../offchain/manifest";
import schema from "../../../offchain/manifest/schema.json";
import { fuzzRuns } from "./helpers";

function refuses(parse: () => number, ...fragments: string[]): void {
  let thrown: unknown;
  try {
    parse();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "expected a UnitError").to.be.instanceOf(UnitError);
  const { message, name } = thrown as UnitError;
  expect(name).to.equal("UnitError");
  for (const fragment of fragments) expect(message).to.contain(fragment);
}

describe("manifest units", function () {
  describe("cpu → millicores", function () {
    const cases: [string | number | bigint, number][] = [
      [0.5, 500],
      ["0.5", 500],
      [2, 2000],
      ["2", 2000],
      [2n, 2000],
      ["1.25", 1250],
      ["0.001", 1],
      ["1.500", 1500],
      ["250m", 250],
      ["1m", 1],
      ["1500m", 1500],
      ["0", 0],
    ];
    for (const [input, millis] of cases) {
      it(`${JSON.stringify(String(input))} is ${millis}m`, function () {
        expect(parseCpu(input)).to.equal(millis);
      });
    }

    it("refuses what is not a whole millicore", function () {
      refuses(() => parseCpu(0.0001), "not a whole number of millicores");
      refuses(() => parseCpu("1.0005"), "not a whole number of millicores");
      refuses(() => parseCpu("1.5m"), "not a whole number of millicores");
    });

    it("refuses other forms, naming the accepted ones", function () {
      for (const bad of ["", "abc", "-1", "+1", "1e3", "1e-7", ".5", "5.", "250 m", "250M", "1,5", "0x10", "1_000"]) {
        refuses(() => parseCpu(bad), "a number of CPUs (0.5, 2) or millicores (250m)");
      }
      refuses(() => parseCpu(1e-7), "got 1e-7");
      refuses(() => parseCpu(Infinity), "got Infinity");
      refuses(() => parseCpu(null as never), "got nothing");
      refuses(() => parseCpu({} as never), "got a map");
    });

    it("refuses a value too large to be exact, and text too long to be one", function () {
      refuses(() => parseCpu("9007199254740992m"), "too large");
      refuses(() => parseCpu("1".repeat(100_000)), "got 100000 characters");
      expect(parseCpu("9007199254740991m")).to.equal(Number.MAX_SAFE_INTEGER);
    });
  });

  describe("memory and storage → bytes", function () {
    const cases: [string | number, number][] = [
      [134217728, 134217728],
      ["134217728", 134217728],
      ["0", 0],
      ["1Ki", 1024],
      ["128Mi", 134217728],
      ["1.5Gi", 1610612736],
      ["2Ti", 2 * 2 ** 40],
      ["0.5Ki", 512],
      ["0.0009765625Ki", 1],
      ["0.25Gi", 268435456],
    ];
    for (const [input, bytes] of cases) {
      it(`${JSON.stringify(String(input))} is ${bytes} bytes`, function () {
        expect(parseBytes(input)).to.equal(bytes);
      });
    }

    it("refuses what is not a whole byte", function () {
      refuses(() => parseBytes("1.5"), "not a whole number of bytes");
      refuses(() => parseBytes("0.1Ki"), "not a whole number of bytes");
    });

    it("refuses decimal units, with a hint towards the binary one", function () {
      refuses(() => parseBytes("128M"), "did you mean Mi", "128Mi");
      refuses(() => parseBytes("128MB"), "did you mean Mi");
      refuses(() => parseBytes("1G"), "did you mean Gi");
      refuses(() => parseBytes("64mi"), "did you mean Mi");
      refuses(() => parseBytes("512k"), "did you mean Ki");
    });

    it("refuses other forms, naming the accepted ones", function () {
      for (const bad of ["", "Mi", "-1Mi", "1 Mi", "1e6", "1Pi", "1.Mi", "0x10"]) {
        refuses(() => parseBytes(bad), "binary units Ki, Mi, Gi, Ti", "plain bytes");
      }
    });

    it("refuses a size too large to be exact", function () {
      refuses(() => parseBytes("8192Ti"), "too large");
      expect(parseBytes("8191Ti")).to.equal(8191 * 2 ** 40);
    });
  });

  describe("bandwidth → bits per second", function () {
    const cases: [string, number][] = [
      ["1bps", 1],
      ["0bps", 0],
      ["500Kbps", 500_000],
      ["10Mbps", 10_000_000],
      ["2.5Mbps", 2_500_000],
      ["1Gbps", 1_000_000_000],
      ["0.001Kbps", 1],
    ];
    for (const [input, bps] of cases) {
      it(`${input} is ${bps} bps`, function () {
        expect(parseBandwidth(input)).to.equal(bps);
      });
    }

    it("refuses what is not a whole bit per second", function () {
      refuses(() => parseBandwidth("0.5bps"), "not a whole number of bits per second");
      refuses(() => parseBandwidth("0.0001Kbps"), "not a whole number of bits per second");
    });

    it("requires a unit, and names the accepted ones", function () {
      refuses(() => parseBandwidth("10"), "a unit is required", "10Mbps");
      refuses(() => parseBandwidth(10), "a unit is required");
      refuses(() => parseBandwidth("10mbps"), "did you mean 10Mbps");
      refuses(() => parseBandwidth("10MB/s"), "did you mean 10Mbps");
      for (const bad of ["", "Mbps", "10 Mbps", "10Tbps", "-1Mbps"]) {
        refuses(() => parseBandwidth(bad), "bps, Kbps, Mbps or Gbps");
      }
    });
  });

  describe("durations → seconds", function () {
    const cases: [string, number][] = [
      ["30s", 30],
      ["15m", 900],
      ["1h", 3600],
      ["60m", 3600],
      ["3600s", 3600],
      ["1h30m", 5400],
      ["90m", 5400],
      ["1.5h", 5400],
      ["7d", 604_800],
      ["1d2h3m4s", 93_784],
      ["1d4s", 86_404],
      ["0.5m", 30],
      ["0s", 0],
    ];
    for (const [input, seconds] of cases) {
      it(`${input} is ${seconds}s`, function () {
        expect(parseDuration(input)).to.equal(seconds);
      });
    }

    it("refuses what is not a whole second", function () {
      refuses(() => parseDuration("1.5s"), "not a whole number of seconds");
      refuses(() => parseDuration("0.001m"), "not a whole number of seconds");
    });

    it("requires a unit, largest first and each at most once", function () {
      refuses(() => parseDuration("60"), "a unit is required", "60s");
      refuses(() => parseDuration(3600), "a unit is required");
      for (const bad of ["", "1m1h", "1h1h", "1h 30m", "1w", "1y", "1ms", "-1h", "1H", "h"]) {
        refuses(() => parseDuration(bad), "d, h, m, s, largest unit first");
      }
    });
  });

  describe("the schema's patterns (what editors check) agree with the parsers", function () {
    // Every string a parser accepts matches the pattern; a string the pattern refuses, the parser refuses too.
    // (The parser alone refuses values that are not whole base units or are too large.)
    const resources = schema.definitions.resources.properties;
    const patterns = {
      cpu: [new RegExp(resources.cpu.pattern, "u"), parseCpu, "0123456789.mM "],
      bytes: [new RegExp(schema.definitions.bytes.pattern, "u"), parseBytes, "0123456789.KMGTiB "],
      bandwidth: [new RegExp(resources.bandwidth.pattern, "u"), parseBandwidth, "0123456789.KMGbps "],
      duration: [new RegExp(schema.definitions.duration.pattern, "u"), parseDuration, "0123456789.dhms "],
    } as const;
    for (const [name, [pattern, parse, alphabet]] of Object.entries(patterns)) {
      it(`${name}`, function () {
        fc.assert(
          fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 12 }), (text) => {
            let accepted = true;
            try {
              parse(text);
            } catch (error) {
              expect(error).to.be.instanceOf(UnitError);
              accepted = false;
            }
            if (accepted) expect(pattern.test(text), text).to.equal(true);
            if (!pattern.test(text)) expect(accepted, text).to.equal(false);
          }),
          { numRuns: fuzzRuns(500) },
        );
      });
    }
  });
});
