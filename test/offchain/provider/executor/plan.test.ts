/** The firewall's shape, without an engine: which networks a manifest's rules make and who joins them. */
import { expect } from "chai";
import { hostPortKey, planCharter, planNetworks } from "../../../../offchain/provider/executor";
import { helloManifest, workload } from "./helpers";

const policy = {
  provider: "0xprovider",
  namePrefix: "p-",
  publishAddress: "127.0.0.1",
  readonlyRootfs: true,
  pidsLimit: 64,
  restartMaxRetries: 3,
  nofile: { soft: 256, hard: 512 },
};

const EXTRA = `  worker:
    image: tom3/api:local
    expose:
      - port: 7000
        to: [web, api]
    resources: { cpu: 100m, memory: 32Mi, storage: 16Mi, bandwidth: 1Mbps }
  batch:
    image: tom3/api:local
    resources: { cpu: 100m, memory: 32Mi, storage: 16Mi, bandwidth: 1Mbps }
`;

describe("executor plan: the manifest's rules as networks", () => {
  const parsed = helloManifest(EXTRA);
  const w = workload(7, parsed);
  const tag = parsed.version.slice(2, 14);

  it("makes one internal network per allowed (target, caller) pair and one public network per global service", () => {
    const networks = planNetworks(w, "p-").map((n) => ({ ...n, name: n.name.replace(`p-7-${tag}-`, "") }));
    expect(networks).to.deep.equal([
      { name: "link-api-web", kind: "link", target: "api", caller: "web", internal: true },
      { name: "link-worker-api", kind: "link", target: "worker", caller: "api", internal: true },
      { name: "link-worker-web", kind: "link", target: "worker", caller: "web", internal: true },
      { name: "pub-web", kind: "public", target: "web", internal: false },
    ]);
  });

  it("creates each container on its public network when it has one, and a service with no rule on none", () => {
    const plan = planCharter(w, policy);
    const mode = (service: string) => plan.replicas.find((r) => r.service === service)!.create.HostConfig!.NetworkMode;
    expect(mode("web")).to.equal(`p-7-${tag}-pub-web`);
    expect(mode("batch")).to.equal("none");
    const joined = (service: string) =>
      plan.replicas.find((r) => r.service === service)!.networks.map((n) => n.name.replace(`p-7-${tag}-`, ""));
    expect(joined("web")).to.deep.equal(["pub-web", "link-api-web", "link-worker-web"]);
    expect(joined("api")).to.deep.equal(["link-api-web", "link-worker-api"]);
    expect(joined("worker")).to.deep.equal(["link-worker-api", "link-worker-web"]);
  });

  it("runs only the charter's group and ignores rules whose caller runs elsewhere", () => {
    const networks = planNetworks({ ...w, services: ["api", "worker"] }, "p-").map((n) => n.name.replace(`p-7-${tag}-`, ""));
    expect(networks).to.deep.equal(["link-worker-api"]);
    expect(() => planCharter({ ...w, services: ["nope"] }, policy)).to.throw(/not in the manifest/);
  });

  it("adds NET_BIND_SERVICE only for a port below 1024", () => {
    const low = helloManifest("", (t) => t.replace("- port: 8080", "- port: 80").replace("as: 80", "as: 80"));
    const plan = planCharter(workload(8, low), policy);
    const caps = (s: string) => plan.replicas.find((r) => r.service === s)!.create.HostConfig!.CapAdd;
    expect(caps("web")).to.deep.equal(["NET_BIND_SERVICE"]);
    expect(caps("api")).to.deep.equal([]);
  });

  it("publishes on the host port a rollout keeps for a service's replica and container port, else lets the engine pick", () => {
    const twoWebs = helloManifest("", (t) => t.replace("    count: 1", "    count: 2"));
    const plan = planCharter(workload(8, twoWebs), policy, new Map([[hostPortKey("web", 0, 8080), 32839]]));
    const bindings = plan.replicas
      .filter((r) => r.service === "web")
      .map((r) => (r.create.HostConfig?.PortBindings as Record<string, unknown>)["8080/tcp"]);
    expect(bindings).to.deep.equal([[{ HostIp: "127.0.0.1", HostPort: "32839" }], [{ HostIp: "127.0.0.1", HostPort: "" }]]);
  });
});
