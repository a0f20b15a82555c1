/**
 * DockerExecutor: runs a charter's services as containers on one Docker engine, with the manifest's `to:` rules as
 * the firewall (see plan.ts and README.md). The engine is the only source of truth: every container and network
 * carries labels (charter, deployment, version, service, provider), so a restarted daemon finds all it ran with
 * `list()` / `adopt()` and keeps no state of its own. Every engine call has a timeout; an engine that does not
 * answer gives ENGINE_UNREACHABLE at once, and the next call tries again, so the executor recovers by itself.
 */
import Docker from "dockerode";
import type { Logger } from "pino";
import { ExecutorError, engineMessage, engineStatus, isUnreachable } from "./errors";
import {
  aliasesOn,
  hostPortKey,
  LABEL,
  planCharter,
  servicesOf,
  type CharterPlan,
  type CharterWorkload,
  type ContainerPolicy,
  type HostPorts,
} from "./plan";

export type PullPolicy = "never" | "if-missing" | "always";

export interface DockerExecutorOptions {
  /** The provider's address: the `tom3.provider` label that scopes everything this executor manages. */
  provider: string;
  /** A dockerode client; otherwise one on `socketPath` (default /var/run/docker.sock). */
  docker?: Docker;
  socketPath?: string;
  /** Host address of published (`global`) ports: 0.0.0.0 in production, 127.0.0.1 in tests and the demo. */
  publishAddress?: string;
  pullPolicy?: PullPolicy;
  /**
   * Prefix of container and network names. Default `tom3-<first 8 hex digits of the provider's address>-`, so two
   * providers sharing one Docker engine (or two demo runs) never collide on a name like `tom3-1-<version>-web-0`.
   */
  namePrefix?: string;
  /** Timeout of each engine call except pulls, in ms. */
  callTimeoutMs?: number;
  /** Timeout of one image pull, in ms. */
  pullTimeoutMs?: number;
  readonlyRootfs?: boolean;
  pidsLimit?: number;
  restartMaxRetries?: number;
  nofile?: { soft: number; hard: number };
  /** How long a container stopped by a rollout gets to exit before it is killed, in seconds (default 3). */
  stopTimeoutSeconds?: number;
  logger?: Logger;
}

export interface RunOptions {
  /** Overrides the executor's pull policy for this run. */
  pullPolicy?: PullPolicy;
}

export interface ContainerInfo {
  id: string;
  name: string;
  service: string;
  replica: number;
  version: string;
  /** Engine state: running, restarting, exited... */
  state: string;
  /** Network name → the container's address on it. */
  addresses: Record<string, string>;
}

export interface Endpoint {
  service: string;
  replica: number;
  /** Container port. */
  port: number;
  /** The port the service is known by. */
  as: number;
  host: string;
  hostPort: number;
}

export interface RunResult {
  charterId: string;
  deploymentId: string;
  version: string;
  containers: ContainerInfo[];
  endpoints: Endpoint[];
}

export interface ManagedCharter {
  charterId: string;
  deploymentId: string;
  /** Versions found (more than one only while a rollout runs or after one was cut short). */
  versions: string[];
  containers: ContainerInfo[];
}

export interface LogEntry {
  service: string;
  replica: number;
  container: string;
  stdout: string;
  stderr: string;
}

export interface ContainerStats {
  service: string;
  replica: number;
  container: string;
  memoryBytes: number;
  memoryLimitBytes: number;
  cpuTotalNs: number;
  pids: number;
  rxBytes: number;
  txBytes: number;
}

export type EngineHealth =
  | { reachable: true; version: string; apiVersion: string }
  | { reachable: false; error: string; code: string };

export type ExecutorStatus = "created" | "running" | "stopped";

const DEFAULTS = {
  socketPath: "/var/run/docker.sock",
  publishAddress: "0.0.0.0",
  pullPolicy: "if-missing" as PullPolicy,
  callTimeoutMs: 10_000,
  pullTimeoutMs: 300_000,
  readonlyRootfs: true,
  pidsLimit: 256,
  restartMaxRetries: 5,
  nofile: { soft: 1024, hard: 4096 },
  stopTimeoutSeconds: 3,
};

export class DockerExecutor {
  readonly docker: Docker;
  private readonly options: Required<Omit<DockerExecutorOptions, "docker" | "logger" | "socketPath">>;
  private readonly logger?: Logger;
  private controller = new AbortController();
  private _status: ExecutorStatus = "created";
  /** One operation at a time per charter (run, rollout, teardown). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(options: DockerExecutorOptions) {
    const { docker, logger, socketPath, ...rest } = options;
    const namePrefix = rest.namePrefix ?? `tom3-${rest.provider.toLowerCase().replace(/^0x/, "").slice(0, 8)}-`;
    this.options = { ...DEFAULTS, ...rest, namePrefix } as typeof this.options;
    this.logger = logger;
    // The modem's own timeout is a backstop for a socket that accepts and then says nothing.
    this.docker = docker ?? new Docker({ socketPath: socketPath ?? DEFAULTS.socketPath, timeout: this.options.pullTimeoutMs });
  }

  get status(): ExecutorStatus {
    return this._status;
  }

  /** Checks the engine; an unreachable engine is logged, not fatal: calls work again once it answers. */
  async start(): Promise<EngineHealth> {
    this.controller = new AbortController();
    this._status = "running";
    const health = await this.health();
    if (!health.reachable) this.logger?.warn({ error: health.error }, "docker engine unreachable; will retry on use");
    return health;
  }

  /** Aborts engine calls in flight. Containers keep running: they belong to their charters, not to the daemon. */
  async stop(): Promise<void> {
    this._status = "stopped";
    this.controller.abort(new ExecutorError("ENGINE_UNREACHABLE", "executor stopped"));
    await Promise.allSettled([...this.locks.values()]);
  }

  /** Whether the engine answers, with its version, or the error. */
  async health(): Promise<EngineHealth> {
    try {
      const version = await this.call("ping the engine", async (signal) => {
        await withSignal<unknown>(this.docker, this.docker.ping, signal);
        return withSignal<Docker.DockerVersion>(this.docker, this.docker.version, signal);
      });
      return { reachable: true, version: version.Version, apiVersion: version.ApiVersion };
    } catch (error) {
      const e = error as ExecutorError;
      return { reachable: false, error: e.message, code: e.code ?? "ENGINE_ERROR" };
    }
  }

  /**
   * Starts a charter's services: images (by the pull policy), networks, then one container per replica. Running
   * the version already running returns it as it is; another version needs `rollout`. On failure, what this call
   * created is removed.
   */
  async run(workload: CharterWorkload, options: RunOptions = {}): Promise<RunResult> {
    const charterId = String(workload.charterId);
    return this.exclusive(charterId, async () => {
      const existing = await this.charterContainers(charterId);
      const versions = [...new Set(existing.map((c) => c.version))];
      if (versions.includes(workload.version) && versions.length === 1) return this.describe(charterId, workload);
      if (versions.length > 0)
        throw new ExecutorError(
          "INVALID_REQUEST",
          `charter ${charterId} already runs version ${versions.join(", ")}: use rollout to change it`,
          { details: { charterId, running: versions } },
        );
      return this.startVersion(workload, options);
    });
  }

  /**
   * Moves a charter to a new manifest version: starts the new containers, then removes the old ones. If the new
   * version does not start, it is removed and the old one keeps running (ROLLOUT_FAILED, with the cause).
   *
   * A published port stays the same across versions, so the service's address (its URL) does not change: the old
   * containers that publish ports are stopped first (a short interruption of those services only), the new ones
   * publish on the same host ports, and the old ones are removed once the new ones run. Only when a port was
   * taken meanwhile by something else does the new version get fresh ports (the endpoints then say so).
   */
  async rollout(workload: CharterWorkload, options: RunOptions = {}): Promise<RunResult> {
    const charterId = String(workload.charterId);
    return this.exclusive(charterId, async () => {
      const existing = await this.charterContainers(charterId);
      if (existing.length === 0)
        throw new ExecutorError("NOT_FOUND", `charter ${charterId} runs nothing here`, { details: { charterId } });
      const old = [...new Set(existing.map((c) => c.version))].filter((v) => v !== workload.version);
      if (old.length === 0) return this.describe(charterId, workload);
      const { ports, holders } = await this.publishedPorts(existing.filter((c) => old.includes(c.version)));
      let result: RunResult;
      try {
        // Images first: a missing image fails the rollout before the old version stops serving.
        await this.ensureImages(workload, options);
        for (const holder of holders) await this.stopContainer(holder);
        try {
          result = await this.startVersion(workload, options, ports);
        } catch (error) {
          if (ports.size === 0 || !portTaken(error)) throw error;
          this.logger?.warn({ charterId, error: (error as Error).message }, "a kept port was taken meanwhile: publishing on new ports");
          result = await this.startVersion(workload, options);
        }
      } catch (error) {
        for (const holder of holders) {
          await this.call(`restart ${holder.name}`, (signal) => this.docker.getContainer(holder.id).start({ abortSignal: signal })).catch(
            (restart: unknown) => this.logger?.error({ container: holder.name, error: engineMessage(restart) }, "could not restart the old version"),
          );
        }
        const code = (error as ExecutorError).code;
        throw new ExecutorError(
          code === "ENGINE_UNREACHABLE" ? code : "ROLLOUT_FAILED",
          `rollout of charter ${charterId} to ${workload.version} failed; version ${old.join(", ")} keeps running: ${(error as Error).message}`,
          { cause: error, details: { charterId, version: workload.version, running: old } },
        );
      }
      for (const version of old) await this.removeVersion(charterId, version);
      return result;
    });
  }

  /** Removes every container and network of a charter; returns how many of each. Nothing to remove is no error. */
  async teardown(charterId: string | number | bigint): Promise<{ containers: number; networks: number }> {
    const id = String(charterId);
    return this.exclusive(id, () => this.removeVersion(id));
  }

  /** Every charter this provider runs on the engine, from the labels. */
  async list(): Promise<ManagedCharter[]> {
    const containers = await this.managedContainers({});
    const charters = new Map<string, ManagedCharter>();
    for (const c of containers) {
      const charterId = c.labels[LABEL.charter];
      const entry = charters.get(charterId) ?? {
        charterId,
        deploymentId: c.labels[LABEL.deployment],
        versions: [],
        containers: [],
      };
      if (!entry.versions.includes(c.info.version)) entry.versions.push(c.info.version);
      entry.containers.push(c.info);
      charters.set(charterId, entry);
    }
    return [...charters.values()].sort((a, b) => a.charterId.localeCompare(b.charterId));
  }

  /**
   * After a restart: takes over what the engine runs for this provider. Networks that no container uses (left by a
   * run or rollout cut short) are removed, so nothing stays unmanaged. Returns the charters found.
   */
  async adopt(): Promise<ManagedCharter[]> {
    const charters = await this.list();
    const used = new Set(charters.flatMap((c) => c.versions.map((v) => `${c.charterId} ${v}`)));
    const networks = await this.managedNetworks({});
    for (const n of networks) {
      const labels = n.Labels ?? {};
      const key = `${labels[LABEL.charter]} ${labels[LABEL.version]}`;
      if (used.has(key) || this.locks.has(labels[LABEL.charter])) continue;
      await this.removeNetwork(n.Id);
      this.logger?.info({ network: n.Name }, "removed a network no container uses");
    }
    return charters;
  }

  /** The recent output of a charter's containers. */
  async logs(
    charterId: string | number | bigint,
    options: { tail?: number; since?: number | string; timestamps?: boolean } = {},
  ): Promise<LogEntry[]> {
    const containers = await this.requireCharter(String(charterId));
    return Promise.all(
      containers.map(async (c) => {
        const raw = await this.call(`read the logs of ${c.name}`, (signal) =>
          this.docker.getContainer(c.id).logs({
            stdout: true,
            stderr: true,
            follow: false,
            tail: options.tail ?? 100,
            // The engine takes "seconds.nanoseconds"; the typings say number.
            since: (options.since ?? 0) as number,
            timestamps: options.timestamps ?? false,
            abortSignal: signal,
          }),
        );
        return { service: c.service, replica: c.replica, container: c.name, ...demux(raw as unknown as Buffer) };
      }),
    );
  }

  /** One sample of each container's resource use. */
  async stats(charterId: string | number | bigint): Promise<ContainerStats[]> {
    const containers = await this.requireCharter(String(charterId));
    return Promise.all(
      containers.map(async (c) => {
        const s = (await this.call(`read the stats of ${c.name}`, (signal) =>
          this.docker.getContainer(c.id).stats({ stream: false, "one-shot": true, abortSignal: signal } as object),
        )) as unknown as RawStats;
        const networks = Object.values(s.networks ?? {});
        return {
          service: c.service,
          replica: c.replica,
          container: c.name,
          memoryBytes: s.memory_stats?.usage ?? 0,
          memoryLimitBytes: s.memory_stats?.limit ?? 0,
          cpuTotalNs: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
          pids: s.pids_stats?.current ?? 0,
          rxBytes: networks.reduce((sum, n) => sum + n.rx_bytes, 0),
          txBytes: networks.reduce((sum, n) => sum + n.tx_bytes, 0),
        };
      }),
    );
  }

  // ---- internals ----

  private policy(): ContainerPolicy {
    const o = this.options;
    return {
      provider: o.provider,
      namePrefix: o.namePrefix,
      publishAddress: o.publishAddress,
      readonlyRootfs: o.readonlyRootfs,
      pidsLimit: o.pidsLimit,
      restartMaxRetries: o.restartMaxRetries,
      nofile: o.nofile,
    };
  }

  /** The host ports the containers publish on (by service, replica and container port), and which hold any. */
  private async publishedPorts(containers: ContainerInfo[]): Promise<{ ports: Map<string, number>; holders: ContainerInfo[] }> {
    const ports = new Map<string, number>();
    const holders: ContainerInfo[] = [];
    for (const c of containers) {
      const inspect = await this.call(`inspect ${c.name}`, (signal) => this.docker.getContainer(c.id).inspect({ abortSignal: signal }));
      let holds = false;
      // What the port is bound to now; for a container that is not running, the port it was created with (a
      // port an earlier rollout kept is written there).
      const live = inspect.NetworkSettings.Ports ?? {};
      const configured = (inspect.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;
      for (const key of new Set([...Object.keys(live), ...Object.keys(configured)])) {
        if (!key.endsWith("/tcp")) continue;
        const bound = [...(live[key] ?? []), ...(configured[key] ?? [])].find(
          (b) => b.HostIp === this.options.publishAddress && /^[1-9][0-9]*$/.test(b.HostPort ?? ""),
        );
        if (!bound) continue;
        ports.set(hostPortKey(c.service, c.replica, Number.parseInt(key, 10)), Number(bound.HostPort));
        holds = true;
      }
      if (holds) holders.push(c);
    }
    return { ports, holders };
  }

  private async stopContainer(c: ContainerInfo): Promise<void> {
    await this.call(
      `stop ${c.name}`,
      (signal) => this.docker.getContainer(c.id).stop({ t: this.options.stopTimeoutSeconds, abortSignal: signal }),
      this.options.callTimeoutMs + this.options.stopTimeoutSeconds * 1000,
    ).catch((error: unknown) => {
      // 304: already stopped.
      if (!(error instanceof ExecutorError && (error.details.statusCode === 304 || error.code === "NOT_FOUND"))) throw error;
    });
  }

  private async startVersion(workload: CharterWorkload, options: RunOptions, hostPorts?: HostPorts): Promise<RunResult> {
    const plan = planCharter(workload, this.policy(), hostPorts);
    await this.ensureImages(workload, options);
    try {
      await this.createNetworks(plan);
      for (const replica of plan.replicas) {
        const container = await this.call(`create container ${replica.name}`, (signal) =>
          this.docker.createContainer({ ...replica.create, abortSignal: signal } as Docker.ContainerCreateOptions),
        );
        for (const network of replica.networks.slice(1)) {
          await this.call(`connect ${replica.name} to ${network.name}`, (signal) =>
            this.docker.getNetwork(network.name).connect({
              Container: container.id,
              EndpointConfig: { Aliases: aliasesOn(network, replica.service) },
              abortSignal: signal,
            } as object),
          );
        }
      }
      for (const replica of plan.replicas)
        await this.call(`start container ${replica.name}`, (signal) =>
          this.docker.getContainer(replica.name).start({ abortSignal: signal }),
        );
      const result = await this.describe(plan.charterId, workload);
      const down = result.containers.filter((c) => c.state !== "running");
      if (down.length > 0)
        throw new ExecutorError("START_FAILED", `containers did not stay up: ${down.map((c) => `${c.name} (${c.state})`).join(", ")}`, {
          details: { containers: down.map((c) => c.name) },
        });
      this.logger?.info({ charterId: plan.charterId, version: plan.version, containers: result.containers.length }, "charter started");
      return result;
    } catch (error) {
      await this.removeVersion(plan.charterId, plan.version).catch((cleanup: unknown) =>
        this.logger?.error({ error: engineMessage(cleanup) }, "cleanup after a failed start failed"),
      );
      if (error instanceof ExecutorError && error.code !== "ENGINE_ERROR") throw error;
      throw new ExecutorError("START_FAILED", `charter ${plan.charterId} did not start: ${(error as Error).message}`, {
        cause: error,
        details: { charterId: plan.charterId, version: plan.version },
      });
    }
  }

  private async createNetworks(plan: CharterPlan): Promise<void> {
    for (const network of plan.networks) {
      await this.call(`create network ${network.name}`, (signal) =>
        this.docker.createNetwork({
          Name: network.name,
          Driver: "bridge",
          Internal: network.internal,
          CheckDuplicate: true,
          Attachable: false,
          EnableIPv6: false,
          Labels: {
            ...plan.labels,
            [LABEL.network]: network.kind,
            [LABEL.target]: network.target,
            [LABEL.caller]: network.caller ?? "",
          },
          abortSignal: signal,
        } as Docker.NetworkCreateOptions),
      );
    }
  }

  private async ensureImages(workload: CharterWorkload, options: RunOptions): Promise<void> {
    const images = new Set(servicesOf(workload).map((service) => workload.manifest.services[service].image));
    for (const image of images) await this.ensureImage(image, options.pullPolicy ?? this.options.pullPolicy);
  }

  /** Makes the image present by the pull policy, or fails with IMAGE_UNAVAILABLE naming it. */
  private async ensureImage(image: string, policy: PullPolicy): Promise<void> {
    if (policy !== "always") {
      try {
        await this.call(`inspect image ${image}`, (signal) => {
          const handle = this.docker.getImage(image);
          return withSignal<Docker.ImageInspectInfo>(handle, handle.inspect, signal);
        });
        return;
      } catch (error) {
        if (!(error instanceof ExecutorError && error.code === "NOT_FOUND")) throw error;
        if (policy === "never")
          throw new ExecutorError("IMAGE_UNAVAILABLE", `image ${image} is not on this engine and the pull policy is never`, {
            details: { image, pullPolicy: policy },
          });
      }
    }
    try {
      await this.call(
        `pull image ${image}`,
        async (signal) => {
          const stream = (await this.docker.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream;
          await new Promise<void>((resolve, reject) =>
            this.docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => {
              const failed = output?.find((m) => m.error);
              if (error || failed) reject(error ?? new Error(failed?.error));
              else resolve();
            }),
          );
        },
        this.options.pullTimeoutMs,
      );
    } catch (error) {
      if (error instanceof ExecutorError && error.code === "ENGINE_UNREACHABLE" && !error.details.timeoutMs) throw error;
      throw new ExecutorError("IMAGE_UNAVAILABLE", `image ${image} could not be pulled: ${(error as Error).message}`, {
        cause: error,
        details: { image, pullPolicy: policy },
      });
    }
  }

  /** Removes a charter's containers (of one version, or all) and then their networks. */
  private async removeVersion(charterId: string, version?: string): Promise<{ containers: number; networks: number }> {
    const filter: Record<string, string> = { [LABEL.charter]: charterId };
    if (version) filter[LABEL.version] = version;
    const containers = await this.managedContainers(filter);
    await Promise.all(
      containers.map((c) =>
        this.call(`remove container ${c.info.name}`, (signal) =>
          this.docker.getContainer(c.info.id).remove({ force: true, v: true, abortSignal: signal }),
        ).catch((error: unknown) => {
          if (!(error instanceof ExecutorError && error.code === "NOT_FOUND")) throw error;
        }),
      ),
    );
    const networks = await this.managedNetworks(filter);
    for (const n of networks) await this.removeNetwork(n.Id);
    if (containers.length > 0 || networks.length > 0)
      this.logger?.info({ charterId, version, containers: containers.length, networks: networks.length }, "removed");
    return { containers: containers.length, networks: networks.length };
  }

  private async removeNetwork(id: string): Promise<void> {
    await this.call(`remove network ${id}`, (signal) => this.docker.getNetwork(id).remove({ abortSignal: signal })).catch(
      (error: unknown) => {
        if (!(error instanceof ExecutorError && error.code === "NOT_FOUND")) throw error;
      },
    );
  }

  /** The current containers and endpoints of a charter's version, read back from the engine. */
  private async describe(charterId: string, workload: CharterWorkload): Promise<RunResult> {
    const found = await this.managedContainers({ [LABEL.charter]: charterId, [LABEL.version]: workload.version });
    const services = servicesOf(workload);
    const endpoints: Endpoint[] = [];
    for (const c of found) {
      const inspect = await this.call(`inspect ${c.info.name}`, (signal) =>
        this.docker.getContainer(c.info.id).inspect({ abortSignal: signal }),
      );
      c.info.state = inspect.State.Status;
      const spec = workload.manifest.services[c.info.service];
      if (!spec || !services.includes(c.info.service)) continue;
      for (const e of spec.expose.filter((x) => x.to.includes("global"))) {
        for (const binding of inspect.NetworkSettings.Ports?.[`${e.port}/tcp`] ?? []) {
          // An engine with IPv6 reports a second binding on ::; the configured address is the one that counts.
          if (binding.HostIp !== this.options.publishAddress) continue;
          endpoints.push({
            service: c.info.service,
            replica: c.info.replica,
            port: e.port,
            as: e.as,
            host: binding.HostIp,
            hostPort: Number(binding.HostPort),
          });
        }
      }
    }
    return {
      charterId,
      deploymentId: String(workload.deploymentId),
      version: workload.version,
      containers: found.map((c) => c.info),
      endpoints,
    };
  }

  private async requireCharter(charterId: string): Promise<ContainerInfo[]> {
    const containers = await this.charterContainers(charterId);
    if (containers.length === 0)
      throw new ExecutorError("NOT_FOUND", `charter ${charterId} runs nothing here`, { details: { charterId } });
    return containers;
  }

  private async charterContainers(charterId: string): Promise<ContainerInfo[]> {
    return (await this.managedContainers({ [LABEL.charter]: charterId })).map((c) => c.info);
  }

  /** This provider's containers (running or not) matching the labels. */
  private async managedContainers(
    labels: Record<string, string>,
  ): Promise<Array<{ info: ContainerInfo; labels: Record<string, string> }>> {
    const filters = { label: labelFilter({ ...labels, [LABEL.provider]: this.options.provider }) };
    const list = await this.call("list containers", (signal) =>
      this.docker.listContainers({ all: true, filters, abortSignal: signal } as Docker.ContainerListOptions),
    );
    return list
      .map((c) => ({
        labels: c.Labels,
        info: {
          id: c.Id,
          name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
          service: c.Labels[LABEL.service],
          replica: Number(c.Labels[LABEL.replica] ?? 0),
          version: c.Labels[LABEL.version],
          state: c.State,
          addresses: Object.fromEntries(
            Object.entries(c.NetworkSettings?.Networks ?? {}).map(([name, n]) => [name, n.IPAddress]),
          ),
        },
      }))
      .sort((a, b) => a.info.name.localeCompare(b.info.name));
  }

  private async managedNetworks(labels: Record<string, string>): Promise<Docker.NetworkInspectInfo[]> {
    const filters = { label: labelFilter({ ...labels, [LABEL.provider]: this.options.provider }) };
    return this.call("list networks", (signal) =>
      this.docker.listNetworks({ filters, abortSignal: signal } as Docker.NetworkListOptions),
    );
  }

  /**
   * One engine call with a timeout, its errors turned into ExecutorErrors: no answer → ENGINE_UNREACHABLE,
   * 404 → NOT_FOUND, anything else the engine says → ENGINE_ERROR.
   */
  private async call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>, timeoutMs = this.options.callTimeoutMs): Promise<T> {
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(timeoutMs)]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: "TimeoutError" })), timeoutMs);
    });
    try {
      return await Promise.race([fn(signal), deadline]);
    } catch (error) {
      if (error instanceof ExecutorError) throw error;
      if (isUnreachable(error)) {
        const timedOut = (error as Error).name === "TimeoutError" || signal.aborted;
        throw new ExecutorError("ENGINE_UNREACHABLE", `docker engine unreachable (${what}): ${engineMessage(error)}`, {
          cause: error,
          details: timedOut ? { timeoutMs } : {},
        });
      }
      const status = engineStatus(error);
      throw new ExecutorError(status === 404 ? "NOT_FOUND" : "ENGINE_ERROR", `${what}: ${engineMessage(error)}`, {
        cause: error,
        details: { statusCode: status },
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this._status === "stopped") throw new ExecutorError("INVALID_REQUEST", "executor stopped");
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(key, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }
  }
}

/** The engine refused a published port because something else holds it. */
function portTaken(error: unknown): boolean {
  for (let e = error as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (/port is already allocated|address already in use/i.test(String(e.message))) return true;
  }
  return false;
}

/** Calls a dockerode method whose typings predate its `abortSignal` option. */
function withSignal<T>(self: object, method: unknown, signal: AbortSignal): Promise<T> {
  return (method as (options: object) => Promise<T>).call(self, { abortSignal: signal });
}

function labelFilter(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

interface RawStats {
  memory_stats?: { usage?: number; limit?: number };
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

/** Splits the engine's multiplexed log stream (8-byte frame headers) into stdout and stderr. */
export function demux(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const stream = raw[offset];
    const size = raw.readUInt32BE(offset + 4);
    const frame = raw.subarray(offset + 8, offset + 8 + size);
    (stream === 2 ? err : out).push(frame);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}
