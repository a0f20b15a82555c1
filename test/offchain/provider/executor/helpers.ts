/**
 * Shared setup of the executor tests, which run real containers on the local Docker engine: the sample images,
 * manifests made from examples/hello.yaml, a label and name prefix unique to the test run (so parallel runs and
 * other users of the engine are never touched), exec inside a container, and the removal of everything the run
 * created.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import Docker from "dockerode";
import { parseManifest, type ParsedManifest } from "../../../../offchain/manifest";
import { LABEL, type CharterWorkload } from "../../../../offchain/provider/executor";
import { demux } from "../../../../offchain/provider/executor/executor";

export const docker = new Docker({ socketPath: "/var/run/docker.sock", timeout: 30_000 });

/** A provider label and name prefix unique to this test run. */
export function testRun(): { provider: string; namePrefix: string } {
  const id = randomBytes(4).toString("hex");
  return { provider: `0xtest${id}`, namePrefix: `tom3t-${id}-` };
}

export const HELLO_YAML = readFileSync(join(__dirname, "../../../../examples/hello.yaml"), "utf8");

/** hello.yaml, with `extra` YAML lines appended under `services:` (indented as services). */
export function helloManifest(extraServices = "", edit: (text: string) => string = (t) => t): ParsedManifest {
  const text = edit(HELLO_YAML)
    .replace(/^services:\n/m, `services:\n${extraServices}`)
    .replace("services: [web, api]", extraServices ? `services: [web, api, ${serviceNames(extraServices)}]` : "services: [web, api]");
  return parseManifest(text, { source: "hello.yaml (test)" });
}

function serviceNames(yaml: string): string {
  return [...yaml.matchAll(/^ {2}([a-z][a-z0-9-]*):$/gm)].map((m) => m[1]).join(", ");
}

export function workload(charterId: number, parsed: ParsedManifest, deploymentId = charterId): CharterWorkload {
  return { charterId, deploymentId, version: parsed.version, manifest: parsed.manifest };
}

/** Runs a command in a running container; returns its exit code and output. */
export async function execIn(containerId: string, cmd: string[], timeoutMs = 10_000): Promise<{ exitCode: number; output: string }> {
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exec ${cmd.join(" ")} took more than ${timeoutMs} ms`)), timeoutMs);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => (clearTimeout(timer), resolve()));
    stream.on("error", (error) => (clearTimeout(timer), reject(error)));
  });
  const { stdout, stderr } = demux(Buffer.concat(chunks));
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, output: stdout + stderr };
}

/**
 * Whether a container gets an HTTP answer from ip:port within 2 s. busybox nc has no `-z`, so it sends a request
 * and looks for a status line: an answer proves the connection, not just a successful exit.
 */
export async function canConnect(fromContainer: string, ip: string, port: number): Promise<boolean> {
  const { output } = await execIn(fromContainer, [
    "sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} ${port}`,
  ]);
  return /^HTTP\/1\.[01] 200/.test(output);
}

/** GET over loopback, retried while the server comes up. */
export async function httpGet(port: number, path = "/", attempts = 20): Promise<{ status: number; body: string }> {
  for (let i = 1; ; i++) {
    try {
      return await new Promise((resolve, reject) => {
        const request = http.get({ host: "127.0.0.1", port, path, timeout: 3000 }, (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => (body += chunk.toString()));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on("timeout", () => request.destroy(new Error("timeout")));
        request.on("error", reject);
      });
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

/** Containers and networks carrying this run's provider label. */
export async function leftovers(provider: string): Promise<{ containers: string[]; networks: string[] }> {
  const filters = JSON.stringify({ label: [`${LABEL.provider}=${provider}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const networks = await docker.listNetworks({ filters });
  return { containers: containers.map((c) => c.Names[0]), networks: networks.map((n) => n.Name) };
}

/** Removes everything this run's provider label marks, and any extra container by id. */
export async function cleanUp(provider: string, extraContainers: string[] = []): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL.provider}=${provider}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const ids = [...containers.map((c) => c.Id), ...extraContainers];
  await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
  for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove().catch(() => undefined);
}
