/**
 * What a provider registers as its endpoint: its announce list as written, or where it really listens (multiaddrs
 * and its API's URL), so tenants can always find the API that serves their service URLs, logs and bid decisions.
 */
import { expect } from "chai";
import { parseProviderConfig, ProviderConfigError } from "../../../offchain/provider";
import { registeredEndpoint } from "../../../offchain/provider/daemon";

const PEER = "16Uiu2HAmExamplePeerIdExamplePeerIdExample";

describe("provider endpoint", function () {
  it("registers the announce list as written, multiaddrs completed with the peer id", function () {
    const endpoint = registeredEndpoint(["/dns4/p.example/tcp/4001", "https://p.example"], PEER, ["/ip4/127.0.0.1/tcp/1"], "http://0.0.0.0:8443");
    expect(endpoint).to.equal(`/dns4/p.example/tcp/4001/p2p/${PEER} https://p.example`);
  });

  it("with no announce list, registers the listen addresses and the API bound to a specific host", function () {
    const multiaddrs = [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`];
    expect(registeredEndpoint([], PEER, multiaddrs, "http://127.0.0.1:8443")).to.equal(`${multiaddrs[0]} http://127.0.0.1:8443`);
  });

  it("announces a wildcard API on the first IPv4 address the p2p node listens on", function () {
    const multiaddrs = [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, `/ip4/10.1.2.3/tcp/4001/p2p/${PEER}`];
    expect(registeredEndpoint([], PEER, multiaddrs, "http://0.0.0.0:8443").split(" ")).to.deep.equal([...multiaddrs, "http://127.0.0.1:8443"]);
  });

  it("without an API, registers the listen addresses only", function () {
    expect(registeredEndpoint([], PEER, [`/ip4/127.0.0.1/tcp/1/p2p/${PEER}`], undefined)).to.equal(`/ip4/127.0.0.1/tcp/1/p2p/${PEER}`);
  });

  it("refuses a plain-HTTP API URL on a public host in endpoints.announce, naming the entry", function () {
    const text = `chain: { rpcUrl: "http://127.0.0.1:8545" }
key: { keyEnv: TOM3_PROVIDER_KEY }
endpoints: { announce: [/dns4/p.example/tcp/4001, "http://p.example:8443"] }
capacity: { storage: 1Gi, bandwidth: 10Mbps }
pricing: { cpu: 1 }
dataDir: ./data
`;
    let error: unknown;
    try {
      parseProviderConfig(text, "provider.yaml", "/tmp");
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ProviderConfigError);
    expect(String((error as Error).message)).to.match(/provider\.yaml:3:\d+: endpoints\.announce\[1\]: http:\/\/p\.example:8443: a public API is announced as https:\/\//);
  });

  it("accepts http:// on loopback in endpoints.announce (a development machine)", function () {
    const config = parseProviderConfig(
      `chain: { rpcUrl: "http://127.0.0.1:8545" }
key: { keyEnv: TOM3_PROVIDER_KEY }
endpoints: { announce: ["http://127.0.0.1:8443"] }
capacity: { storage: 1Gi, bandwidth: 10Mbps }
pricing: { cpu: 1 }
dataDir: ./data
`,
      "provider.yaml",
      "/tmp",
    );
    expect(config.endpoints.announce).to.deep.equal(["http://127.0.0.1:8443"]);
  });
});
