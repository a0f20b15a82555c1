/**
 * From a charter's manifest to what the engine must create: the networks that make the manifest's `to:` rules the
 * firewall, and one container spec per replica, with every limit. Pure functions (no engine), so the firewall's
 * shape is testable on its own. README.md in this folder explains the design.
 */
import type Docker from "dockerode";
import type { NormalisedManifest, NormalisedService } from "../../manifest/types";
import { ExecutorError } from "./errors";

export const LABEL = {
  charter: "tom3.charter",
  deployment: "tom3.deployment",
  version: "tom3.version",
  service: "tom3.service",
  provider: "tom3.provider",
  replica: "tom3.replica",
  network: "tom3.network", // "link" or "public"
  target: "tom3.target", // the service a network leads to
  caller: "tom3.caller", // the service allowed to call it ("" on a public network)
} as const;

/** What one charter runs: its placement group's services of one manifest version. */
export interface CharterWorkload {
  charterId: string | number | bigint;
  deploymentId: string | number | bigint;
  /** The deployment version (keccak256 of the manifest's canonical form). */
  version: string;
  manifest: NormalisedManifest;
  /** The services this charter runs (its placement group's); every service of the manifest when left out. */
  services?: readonly string[];
}

export interface NetworkPlan {
  name: string;
  kind: "link" | "public";
  /** The service the network leads to (its containers get the service name as a DNS alias on link networks). */
  target: string;
  /** The one service allowed to call `target` over this network; absent on a public network. */
  caller?: string;
  internal: boolean;
}

export interface ReplicaPlan {
  service: string;
  replica: number;
  name: string;
  /** Networks the container joins; the first is the one it is created on (the public one, which carries ports). */
  networks: NetworkPlan[];
  create: Docker.ContainerCreateOptions;
}

export interface ContainerPolicy {
  provider: string;
  namePrefix: string;
  publishAddress: string;
  readonlyRootfs: boolean;
  pidsLimit: number;
  restartMaxRetries: number;
  nofile: { soft: number; hard: number };
}

export interface CharterPlan {
  charterId: string;
  deploymentId: string;
  version: string;
  networks: NetworkPlan[];
  replicas: ReplicaPlan[];
  labels: Record<string, string>;
}

/** The services a workload runs, checked against the manifest. */
export function servicesOf(workload: CharterWorkload): string[] {
  const all = Object.keys(workload.manifest.services).sort();
  const chosen = workload.services ? [...new Set(workload.services)].sort() : all;
  const unknown = chosen.filter((name) => !(name in workload.manifest.services));
  if (unknown.length > 0)
    throw new ExecutorError("INVALID_REQUEST", `services not in the manifest: ${unknown.join(", ")}`, {
      details: { unknown },
    });
  if (chosen.length === 0) throw new ExecutorError("INVALID_REQUEST", "a charter runs at least one service");
  return chosen;
}

/** Short form of a version for names (names only: labels carry the whole version). */
export function shortVersion(version: string): string {
  return version.replace(/^0x/, "").slice(0, 12);
}

/**
 * The networks of a charter. One internal network per allowed (target, caller) pair: only the target's and that
 * caller's containers are on it, so a rule lets exactly the services it names reach the target, and callers of one
 * target do not see each other. One public network per service exposed to `global`, which only its own replicas
 * join and which carries its published ports. Callers outside the charter's group are not networks here: they come
 * through the cross-provider tunnel.
 */
export function planNetworks(workload: CharterWorkload, namePrefix: string): NetworkPlan[] {
  const services = servicesOf(workload);
  const base = `${namePrefix}${String(workload.charterId)}-${shortVersion(workload.version)}`;
  const networks = new Map<string, NetworkPlan>();
  for (const target of services) {
    for (const expose of workload.manifest.services[target].expose) {
      for (const who of expose.to) {
        if (who === "global") {
          const name = `${base}-pub-${target}`;
          networks.set(name, { name, kind: "public", target, internal: false });
        } else if (services.includes(who)) {
          const name = `${base}-link-${target}-${who}`;
          networks.set(name, { name, kind: "link", target, caller: who, internal: true });
        }
      }
    }
  }
  return [...networks.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Host ports to publish on, by `hostPortKey(service, replica, containerPort)`: a rollout passes the ports the old
 * version had, so a service keeps its address (its URL) across versions. Ports not listed are left to the engine.
 */
export type HostPorts = ReadonlyMap<string, number>;

export function hostPortKey(service: string, replica: number, containerPort: number): string {
  return `${service}/${replica}/${containerPort}`;
}

/** Everything the engine must create for a charter. */
export function planCharter(workload: CharterWorkload, policy: ContainerPolicy, hostPorts: HostPorts = new Map()): CharterPlan {
  const services = servicesOf(workload);
  const charterId = String(workload.charterId);
  const deploymentId = String(workload.deploymentId);
  const labels = {
    [LABEL.charter]: charterId,
    [LABEL.deployment]: deploymentId,
    [LABEL.version]: workload.version,
    [LABEL.provider]: policy.provider,
  };
  const networks = planNetworks(workload, policy.namePrefix);
  const replicas: ReplicaPlan[] = [];
  for (const service of services) {
    const spec = workload.manifest.services[service];
    const joined = networks
      .filter((n) => n.target === service || n.caller === service)
      .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "public" ? -1 : 1));
    for (let replica = 0; replica < spec.count; replica++) {
      const name = `${policy.namePrefix}${charterId}-${shortVersion(workload.version)}-${service}-${replica}`;
      replicas.push({
        service,
        replica,
        name,
        networks: joined,
        create: containerSpec(name, service, replica, spec, joined, { ...labels }, policy, hostPorts),
      });
    }
  }
  return { charterId, deploymentId, version: workload.version, networks, replicas, labels };
}

/** Aliases of a container on a network: the service name where the container is the network's target. */
export function aliasesOn(network: NetworkPlan, service: string): string[] {
  return network.kind === "link" && network.target === service ? [service] : [];
}

function containerSpec(
  name: string,
  service: string,
  replica: number,
  spec: NormalisedService,
  networks: NetworkPlan[],
  labels: Record<string, string>,
  policy: ContainerPolicy,
  hostPorts: HostPorts,
): Docker.ContainerCreateOptions {
  const published = spec.expose.filter((e) => e.to.includes("global"));
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const e of published) {
    exposedPorts[`${e.port}/tcp`] = {};
    // The port the service had before (a rollout), or "": the engine picks one.
    const kept = hostPorts.get(hostPortKey(service, replica, e.port));
    portBindings[`${e.port}/tcp`] = [{ HostIp: policy.publishAddress, HostPort: kept === undefined ? "" : String(kept) }];
  }
  // Binding a port below 1024 is the one privilege a workload may need. Docker 20.10 already sets
  // net.ipv4.ip_unprivileged_port_start=0 in a container's own network namespace; the capability keeps such
  // images working on engines that do not.
  const capAdd = spec.expose.some((e) => e.port < 1024) ? ["NET_BIND_SERVICE"] : [];
  const first = networks[0];
  return {
    name,
    Image: spec.image,
    // Docker's (and Kubernetes') meaning: a command replaces the ENTRYPOINT and then the image's CMD is not used.
    ...(spec.command ? { Entrypoint: spec.command } : {}),
    ...(spec.args ? { Cmd: spec.args } : {}),
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: { ...labels, [LABEL.service]: service, [LABEL.replica]: String(replica) },
    ExposedPorts: exposedPorts,
    Hostname: `${service}-${replica}`,
    HostConfig: {
      NanoCpus: spec.resources.cpuMillis * 1_000_000,
      Memory: spec.resources.memoryBytes,
      MemorySwap: spec.resources.memoryBytes, // no swap beyond the memory limit
      PidsLimit: policy.pidsLimit,
      Privileged: false,
      CapDrop: ["ALL"],
      CapAdd: capAdd,
      SecurityOpt: ["no-new-privileges:true"],
      ReadonlyRootfs: policy.readonlyRootfs,
      // The writable scratch space; it counts against the memory limit, and is bounded by the storage resource.
      Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${Math.max(spec.resources.storageBytes, 1 << 20)}` },
      Binds: [],
      Mounts: [],
      NetworkMode: first ? first.name : "none",
      PortBindings: portBindings,
      PublishAllPorts: false,
      RestartPolicy: { Name: "on-failure", MaximumRetryCount: policy.restartMaxRetries },
      Ulimits: [
        { Name: "nofile", Soft: policy.nofile.soft, Hard: policy.nofile.hard },
        { Name: "core", Soft: 0, Hard: 0 },
      ],
      IpcMode: "private",
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
    },
    NetworkingConfig: first
      ? { EndpointsConfig: { [first.name]: { Aliases: aliasesOn(first, service) } } }
      : undefined,
  };
}
