/**
 * DockerExecutor against the real engine: examples/hello.yaml runs and answers over its published loopback port,
 * every container carries its limits, the manifest's rules are the only paths between containers, a restarted
 * executor adopts what runs, rollout and teardown leave nothing behind, and an absent image or engine fails fast.
 */
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  buildSampleImages,
  DockerExecutor,
  ExecutorError,
  type RunResult,
} from "../../../../offchain/provider/executor";
import { canConnect, cleanUp, docker, helloManifest, httpGet, leftovers, testRun, workload } from "./helpers";

const PROBE = `  probe:
    image: tom3/api:local
    command: ["/bin/httpd", "-f", "-p", "7000", "-h", "/api"]
    expose:
      - port: 7000
        to: [web]
    resources: { cpu: 100m, memory: 32Mi, storage: 16Mi, bandwidth: 1Mbps }
`;

async function expectExecutorError(promise: Promise<unknown>, code: string): Promise<ExecutorError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ExecutorError);
    expect((error as ExecutorError).code, (error as Error).message).to.equal(code);
    return error as ExecutorError;
  }
  throw new Error(`expected an ExecutorError ${code}`);
}

describe("DockerExecutor (real Docker engine)", function () {
  this.timeout(60_000);
  const run = testRun();
  const options = { provider: run.provider, namePrefix: run.namePrefix, publishAddress: "127.0.0.1", pullPolicy: "never" as const };
  let executor: DockerExecutor;

  before(async () => {
    await buildSampleImages({ docker });
    executor = new DockerExecutor(options);
    expect((await executor.start()).reachable).to.equal(true);
  });

  after(async () => {
    await executor?.stop();
    await cleanUp(run.provider);
  });

  describe("a deployment of hello.yaml plus a probe service that no rule lets reach the api", () => {
    const parsed = helloManifest(PROBE);
    const other = helloManifest();
    let a: RunResult;
    let b: RunResult;

    before(async () => {
      a = await executor.run(workload(101, parsed));
      b = await executor.run(workload(202, other));
    });

    const one = (result: RunResult, service: string) => result.containers.find((c) => c.service === service)!;

    it("publishes web on the loopback address and serves its page", async () => {
      expect(a.endpoints).to.have.length(1);
      const [endpoint] = a.endpoints;
      expect(endpoint).to.include({ service: "web", port: 8080, as: 80, host: "127.0.0.1" });
      const page = await httpGet(endpoint.hostPort);
      expect(page.status).to.equal(200);
      expect(page.body).to.contain("Hello from TOM3");
    });

    it("lets web call the api by its service name (the page's CGI resolves api and asks it)", async () => {
      const answer = await httpGet(a.endpoints[0].hostPort, "/cgi-bin/api");
      expect(answer.status, answer.body).to.equal(200);
      expect(answer.body).to.contain("hello from the internal api");
    });

    it("runs every container with its limits and without privileges", async () => {
      for (const c of a.containers) {
        const inspect = await docker.getContainer(c.id).inspect();
        const spec = parsed.manifest.services[c.service];
        const host = inspect.HostConfig;
        expect(host.NanoCpus).to.equal(spec.resources.cpuMillis * 1_000_000);
        expect(host.Memory).to.equal(spec.resources.memoryBytes);
        expect(host.MemorySwap).to.equal(spec.resources.memoryBytes);
        expect(host.PidsLimit).to.equal(256);
        expect(host.Privileged).to.equal(false);
        expect(host.CapDrop).to.deep.equal(["ALL"]);
        expect(host.CapAdd ?? []).to.deep.equal([]);
        expect(host.SecurityOpt).to.deep.equal(["no-new-privileges:true"]);
        expect(host.ReadonlyRootfs).to.equal(true);
        expect(host.Binds ?? []).to.deep.equal([]);
        expect(inspect.Mounts).to.deep.equal([]);
        expect(host.NetworkMode).to.not.equal("host");
        expect(host.RestartPolicy).to.deep.equal({ Name: "on-failure", MaximumRetryCount: 5 });
        expect(inspect.Config.Labels).to.include({
          "tom3.charter": "101",
          "tom3.deployment": "101",
          "tom3.version": parsed.version,
          "tom3.service": c.service,
          "tom3.provider": run.provider,
        });
        expect(inspect.State.Running).to.equal(true);
      }
    });

    it("lets only web reach the api: not the probe of the same deployment, nor another deployment", async () => {
      const api = one(a, "api");
      const apiAddresses = Object.values(api.addresses);
      expect(apiAddresses).to.have.length(1); // only on the web link network
      const [apiIp] = apiAddresses;
      expect(await canConnect(one(a, "web").id, apiIp, 9000)).to.equal(true);
      expect(await canConnect(one(a, "probe").id, apiIp, 9000)).to.equal(false);
      expect(await canConnect(one(b, "web").id, apiIp, 9000)).to.equal(false);
      expect(await canConnect(one(b, "api").id, apiIp, 9000)).to.equal(false);
      // The probe's own rule works: web reaches it.
      const [probeIp] = Object.values(one(a, "probe").addresses);
      expect(await canConnect(one(a, "web").id, probeIp, 7000)).to.equal(true);
      expect(await canConnect(one(a, "api").id, probeIp, 7000)).to.equal(false);
    });

    it("puts internal links on --internal networks and only global exposures on a network with a gateway", async () => {
      const networks = await docker.listNetworks({
        filters: JSON.stringify({ label: [`tom3.provider=${run.provider}`, "tom3.charter=101"] }),
      });
      const byName = Object.fromEntries(networks.map((n) => [n.Name.slice(run.namePrefix.length).replace(/^101-[0-9a-f]+-/, ""), n]));
      expect(Object.keys(byName).sort()).to.deep.equal(["link-api-web", "link-probe-web", "pub-web"]);
      expect(byName["link-api-web"].Internal).to.equal(true);
      expect(byName["link-probe-web"].Internal).to.equal(true);
      expect(byName["pub-web"].Internal).to.equal(false);
    });

    it("returns logs and stats of a charter", async () => {
      await httpGet(a.endpoints[0].hostPort);
      const logs = await executor.logs(101, { tail: 10 });
      expect(logs.map((l) => l.service).sort()).to.deep.equal(["api", "probe", "web"]);
      const stats = await executor.stats(101);
      expect(stats).to.have.length(3);
      for (const s of stats) {
        expect(s.memoryBytes).to.be.greaterThan(0);
        expect(s.memoryLimitBytes).to.equal(parsed.manifest.services[s.service].resources.memoryBytes);
      }
      await expectExecutorError(executor.logs(999), "NOT_FOUND");
    });

    it("is found again by a fresh executor after a restart (adopt by labels)", async () => {
      const restarted = new DockerExecutor(options);
      await restarted.start();
      const charters = await restarted.adopt();
      expect(charters.map((c) => c.charterId)).to.deep.equal(["101", "202"]);
      expect(charters[0].versions).to.deep.equal([parsed.version]);
      expect(charters[0].containers.map((c) => c.service).sort()).to.deep.equal(["api", "probe", "web"]);
      // Running the same version again is idempotent, and gives the same containers.
      const again = await restarted.run(workload(101, parsed));
      expect(again.containers.map((c) => c.id).sort()).to.deep.equal(a.containers.map((c) => c.id).sort());
      await restarted.stop();
    });

    it("refuses to run another version of a running charter: that is a rollout", async () => {
      await expectExecutorError(executor.run(workload(202, parsed)), "INVALID_REQUEST");
    });

    it("rolls out a new version on the same host port, and keeps the old one running on failure", async () => {
      const port = b.endpoints[0].hostPort;
      const broken = helloManifest("", (t) => t.replace("image: tom3/api:local", "image: tom3/absent:nope"));
      const failed = await expectExecutorError(executor.rollout(workload(202, broken)), "ROLLOUT_FAILED");
      expect(((failed.cause as ExecutorError).code)).to.equal("IMAGE_UNAVAILABLE");
      const still = (await executor.list()).find((c) => c.charterId === "202")!;
      expect(still.versions).to.deep.equal([other.version]);

      const next = helloManifest("", (t) => t.replace("GREETING: hello", "GREETING: bonjour"));
      const rolled = await executor.rollout(workload(202, next));
      expect(rolled.version).to.equal(next.version);
      const after = (await executor.list()).find((c) => c.charterId === "202")!;
      expect(after.versions).to.deep.equal([next.version]);
      // The service keeps its address: the new version publishes on the port the old one had.
      expect(rolled.endpoints.map((e) => [e.service, e.port, e.hostPort])).to.deep.equal([["web", 8080, port]]);
      const page = await httpGet(port);
      expect(page.status).to.equal(200);
      expect(page.body).to.include("bonjour");
      b = rolled;
    });

    it("publishes on a new port when the kept one was taken meanwhile, and still serves", async () => {
      const port = b.endpoints[0].hostPort;
      // The old web container stops, and something else takes its port before the next rollout.
      const web = (await executor.list()).find((c) => c.charterId === "202")!.containers.find((c) => c.service === "web")!;
      await docker.getContainer(web.id).stop({ t: 1 });
      const squatter = net.createServer();
      await new Promise<void>((resolve, reject) => squatter.once("error", reject).listen(port, "127.0.0.1", resolve));
      try {
        const next = helloManifest("", (t) => t.replace("GREETING: hello", "GREETING: hola"));
        const rolled = await executor.rollout(workload(202, next));
        const [endpoint] = rolled.endpoints;
        expect(endpoint.hostPort).to.not.equal(port);
        expect((await httpGet(endpoint.hostPort)).body).to.include("hola");
        b = rolled;
      } finally {
        await new Promise((resolve) => squatter.close(resolve));
      }
    });

    it("tears a charter down: no container and no network left", async () => {
      expect(await executor.teardown(202)).to.deep.include({ containers: 2 });
      expect(await executor.teardown(101)).to.deep.equal({ containers: 3, networks: 3 });
      expect(await leftovers(run.provider)).to.deep.equal({ containers: [], networks: [] });
      expect(await executor.list()).to.deep.equal([]);
    });
  });

  describe("replicas", () => {
    afterEach(() => cleanUp(run.provider));

    it("runs count containers of a service, each with its own published port", async () => {
      const parsed = helloManifest("", (t) => t.replace("    count: 1", "    count: 2"));
      const result = await executor.run(workload(303, parsed));
      expect(result.containers.filter((c) => c.service === "web")).to.have.length(2);
      expect(result.endpoints.map((e) => e.replica).sort()).to.deep.equal([0, 1]);
      for (const e of result.endpoints) expect((await httpGet(e.hostPort)).status).to.equal(200);
    });
  });

  describe("failures", () => {
    it("gives IMAGE_UNAVAILABLE at once for a missing image with pull policy never, and creates nothing", async () => {
      const parsed = helloManifest("", (t) => t.replace("image: tom3/api:local", "image: tom3/absent:nope"));
      const started = Date.now();
      const error = await expectExecutorError(executor.run(workload(404, parsed)), "IMAGE_UNAVAILABLE");
      expect(error.message).to.contain("tom3/absent:nope");
      expect(Date.now() - started).to.be.lessThan(3_000);
      expect(await leftovers(run.provider)).to.deep.equal({ containers: [], networks: [] });
    });

    it("reports an absent engine and fails fast with ENGINE_UNREACHABLE", async () => {
      const absent = new DockerExecutor({ ...options, socketPath: "/nonexistent/docker.sock" });
      const health = await absent.start();
      expect(health.reachable).to.equal(false);
      const started = Date.now();
      await expectExecutorError(absent.run(workload(505, helloManifest())), "ENGINE_UNREACHABLE");
      await expectExecutorError(absent.list(), "ENGINE_UNREACHABLE");
      expect(Date.now() - started).to.be.lessThan(2_000);
      await absent.stop();
    });

    it("recovers by itself when the engine comes back (through a socket proxy stopped and started)", async () => {
      const dir = mkdtempSync(join(tmpdir(), "tom3-engine-"));
      const socketPath = join(dir, "docker.sock");
      const proxy = socketProxy(socketPath);
      try {
        const flaky = new DockerExecutor({ ...options, socketPath, callTimeoutMs: 3_000 });
        await proxy.open();
        expect((await flaky.start()).reachable).to.equal(true);

        await proxy.close();
        const down = await flaky.health();
        expect(down.reachable).to.equal(false);
        await expectExecutorError(flaky.run(workload(606, helloManifest())), "ENGINE_UNREACHABLE");

        await proxy.open();
        expect((await flaky.health()).reachable).to.equal(true);
        expect(await flaky.list()).to.be.an("array");
        await flaky.stop();
      } finally {
        await proxy.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

/** A unix-socket proxy to the real engine, which a test can stop (dropping every connection) and start again. */
function socketProxy(path: string): { open(): Promise<void>; close(): Promise<void> } {
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  return {
    open: () =>
      new Promise((resolve, reject) => {
        server = net.createServer((client) => {
          const upstream = net.connect("/var/run/docker.sock");
          sockets.add(client).add(upstream);
          client.pipe(upstream).pipe(client);
          const drop = () => (client.destroy(), upstream.destroy());
          client.on("error", drop).on("close", drop);
          upstream.on("error", drop).on("close", drop);
        });
        server.once("error", reject);
        server.listen(path, () => resolve());
      }),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        if (!server?.listening) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
  };
}
