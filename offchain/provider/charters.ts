/**
 * The charter manager (Akash's `manifest/` + deployment manager): from a won order to running containers and back.
 *
 * - Won (`charterWon`): the charter waits for its workload, pushed by the tenant (`offer`, from the p2p node's
 *   `onManifest`). When no push came within `peerFetchDelayMs`, it asks the deployment's other charter holders
 *   (`fetchFromPeers`), and asks again at that period until the workload arrives or the watchdog gives up: a
 *   deployment with several charters needs the tenant to reach only one provider. A workload runs only if its
 *   version equals `market.deployment(id).version` read at that moment: a mismatch never starts a container.
 * - Run: the placement group whose RequirementSpec equals the on-chain order (resources, price limit, duration,
 *   minimum reputation, attributes) gives the services; the executor runs them; then `acknowledge`.
 * - Watchdog: a charter whose workload has not arrived `watchdogMarginSeconds` before `acknowledgeBy` is closed by
 *   the provider with a stated reason (recorded and logged): a late acknowledgement would fail anyway, and closing
 *   ends the tenant's wait at once.
 * - Running: `claim` every `claimIntervalMs`; DeploymentUpdated → the new version (from the store, a push or the
 *   peers) is rolled out; CharterClosed, DeploymentClosed or the charter's end → teardown, release the inventory,
 *   and `closeCharter` where the chain still holds it open (after the end, so history records a completion).
 * - Start-up: `executor.adopt()`, then reconciliation with the chain: containers of a closed charter are removed,
 *   an Active charter without containers runs again from the stored manifest, a rollout cut short is finished, a
 *   won charter without a record (a crash right after the win) is taken up. Nothing runs unpaid, nothing paid is
 *   left unrun.
 *
 * Every record lives in the state's `charters` table, so `GET /charters/:id` and restarts see the same thing.
 */
import { Contract } from "ethers";
import type { ContractTransactionReceipt, ContractTransactionResponse, Provider, Signer } from "ethers";
import { marketAbi } from "../chain/abis";
import { CLOSE_REASONS } from "../chain/enums";
import { decodeContractError } from "../chain/errors";
import { requirementSpecs, type ParsedManifest } from "../manifest";
import type { ManifestNode, VerifiedManifest } from "../p2p";
import type { BidEngine, Logger, WonOrder } from "./bidengine";
import type { ProviderMetrics } from "./metrics";
import type { DockerExecutor, Endpoint } from "./executor";
import type { Inventory } from "./inventory";
import type { StateStore } from "./state";
import { withTimeout } from "./watcher";
import type { ChainHead, ChainWatcher, MarketEvent } from "./watcher";

export const DEFAULT_WATCHDOG_MARGIN_SECONDS = 60;

/** CharterState of IMarket. */
const CHARTER = { None: 0n, Pending: 1n, Active: 2n, Closed: 3n } as const;

export type CharterPhase = "waiting" | "starting" | "running" | "closed" | "failed";

export interface CharterRecord {
  charterId: string;
  orderId: string;
  deploymentId: string;
  tenant: string;
  phase: CharterPhase;
  /** The version running (or last tried). */
  version?: string;
  group?: string;
  services?: string[];
  endpoints?: Endpoint[];
  /** unix seconds, from the chain. */
  acknowledgeBy?: string;
  endsAt?: string;
  acknowledged?: boolean;
  /** Who delivered the running version: the tenant (a push) or another provider of the deployment (a peer fetch). */
  deliveredBy?: string;
  /** wei claimed so far on chain (`charter(id).claimed`), after this daemon's last claim. */
  claimed?: string;
  /** Why the charter is not running (a refused workload, the watchdog, a close), with a stable code. */
  code?: string;
  reason?: string;
  updatedAt: number;
}

export interface CharterManagerOptions {
  provider: Provider;
  signer: Signer;
  market: string;
  self: string;
  watcher: ChainWatcher;
  engine: BidEngine;
  inventory: Inventory;
  state: StateStore;
  executor: DockerExecutor;
  node: ManifestNode;
  /** How often running charters are claimed (default 1 h). */
  claimIntervalMs?: number;
  /** The watchdog closes a charter whose workload has not arrived this long before acknowledgeBy (default 60 s). */
  watchdogMarginSeconds?: number;
  /** A won charter waits this long for the tenant's push before fetching from the other providers (default 5 s). */
  peerFetchDelayMs?: number;
  metrics?: ProviderMetrics;
  rpcTimeoutMs?: number;
  txTimeoutMs?: number;
  logger?: Logger;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export class CharterManager {
  private readonly market: Contract;
  private readonly writer: Contract;
  private readonly log: Logger;
  private readonly margin: bigint;
  private readonly queues = new Map<string, Promise<unknown>>();
  private unsubscribe: (() => void) | undefined;
  private claimTimer: NodeJS.Timeout | undefined;
  /** Pending peer fetches, by charter. */
  private readonly fetchTimers = new Map<string, NodeJS.Timeout>();
  private claiming = false;
  private controller: AbortController | undefined;
  private readonly onWon = (charterId: bigint, won: WonOrder) => void this.won(charterId, won).catch((e) => this.fail("won", e));

  constructor(private readonly o: CharterManagerOptions) {
    this.market = new Contract(o.market, marketAbi, o.provider);
    this.writer = new Contract(o.market, marketAbi, o.signer);
    this.log = o.logger ?? silent;
    this.margin = BigInt(o.watchdogMarginSeconds ?? DEFAULT_WATCHDOG_MARGIN_SECONDS);
  }

  /** Adopt what the engine runs, reconcile with the chain, then follow the bid engine and the watcher. */
  async start(): Promise<void> {
    if (this.controller) return;
    this.controller = new AbortController();
    await this.o.executor.adopt();
    await this.reconcile();
    this.updateGauge();
    this.o.engine.on("charterWon", this.onWon);
    this.unsubscribe = this.o.watcher.subscribe((events, head) => this.onBatch(events, head));
    this.claimTimer = setInterval(() => void this.claimAll(), this.o.claimIntervalMs ?? 3_600_000);
    this.claimTimer.unref();
  }

  /** Stop following; containers keep running (a restart adopts them). */
  async stop(): Promise<void> {
    if (!this.controller) return;
    this.controller.abort();
    this.o.engine.off("charterWon", this.onWon);
    this.unsubscribe?.();
    clearInterval(this.claimTimer);
    for (const timer of this.fetchTimers.values()) clearTimeout(timer);
    this.fetchTimers.clear();
    await Promise.allSettled([...this.queues.values()]);
    this.controller = undefined;
  }

  charter(charterId: bigint | string): CharterRecord | undefined {
    return this.o.state.get<CharterRecord>("charters", String(charterId));
  }

  charters(): CharterRecord[] {
    return this.o.state.all<CharterRecord>("charters").map(([, c]) => c);
  }

  /** A verified manifest arrived (the p2p node's `onManifest`): start or roll out the charters that wait for it. */
  async offer(verified: Pick<VerifiedManifest, "deploymentId" | "version" | "manifest"> & { from?: string }): Promise<void> {
    const targets = this.charters().filter(
      (c) => c.deploymentId === String(verified.deploymentId) && (c.phase === "waiting" || (c.phase === "running" && c.version !== verified.version)),
    );
    await Promise.all(targets.map((c) => this.serial(c.charterId, () => this.launch(c.charterId, verified.manifest, verified.from))));
  }

  // ------------------------------------------------------------------ won → running

  private async won(charterId: bigint, won: WonOrder): Promise<void> {
    const id = String(charterId);
    if (this.charter(id)) return;
    const onChain = await this.rpc(() => this.market.charter(charterId));
    this.put({
      charterId: id,
      orderId: String(won.orderId),
      deploymentId: String(won.deploymentId),
      tenant: won.tenant,
      phase: "waiting",
      acknowledgeBy: String(onChain.acknowledgeBy),
      updatedAt: Date.now(),
    });
    this.log.info({ charterId: id, deploymentId: String(won.deploymentId) }, "charter won: waiting for its workload");
    const stored = await this.storedCurrent(won.deploymentId);
    if (stored) return this.serial(id, () => this.launch(id, stored.manifest, stored.from));
    // The tenant pushes to us; if it has not within the delay, the other providers may hold it.
    this.scheduleFetch(id);
  }

  /** The stored manifest at the deployment's on-chain version, if any. */
  private async storedCurrent(deploymentId: bigint | string): Promise<{ manifest: ParsedManifest; from: string } | undefined> {
    const version = String((await this.rpc(() => this.market.deployment(deploymentId))).version);
    return this.o.node.store.get(BigInt(deploymentId), version);
  }

  /**
   * In `peerFetchDelayMs`, unless the workload came meanwhile: fetch the deployment's current version from its other
   * charter holders, and try again at the same period while the charter still needs it (waiting, or running another
   * version). The watchdog, a close or `stop()` ends the retries.
   */
  private scheduleFetch(charterId: string): void {
    if (this.fetchTimers.has(charterId) || !this.controller) return;
    const delay = this.o.peerFetchDelayMs ?? 5_000;
    const timer = setTimeout(() => {
      this.fetchTimers.delete(charterId);
      void this.fetchFromPeers(charterId);
    }, delay);
    timer.unref();
    this.fetchTimers.set(charterId, timer);
  }

  private async fetchFromPeers(charterId: string): Promise<void> {
    let again = false;
    try {
      const c = this.charter(charterId);
      if (!c || !this.controller || (c.phase !== "waiting" && c.phase !== "running")) return;
      const version = String((await this.rpc(() => this.market.deployment(c.deploymentId))).version);
      if (c.phase === "running" && c.version === version) return;
      again = true;
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(30_000)]);
      const fetched = await this.o.node.fetchFromPeers(BigInt(c.deploymentId), { signal });
      again = false;
      this.log.info({ charterId, version: fetched.version, from: fetched.source?.provider ?? fetched.from }, "workload fetched from another provider");
      await this.offer(fetched);
    } catch (error) {
      if (this.controller?.signal.aborted) return;
      this.log.info({ charterId, err: (error as Error).message }, "no other provider served the workload yet; asking again later");
    }
    if (again) this.scheduleFetch(charterId);
  }

  /** Run (or roll out) `manifest` for one charter; every refusal is recorded with its reason. */
  private async launch(charterId: string, manifest: ParsedManifest, from?: string): Promise<void> {
    const c = this.charter(charterId);
    if (!c || c.phase === "closed" || c.phase === "failed") return;
    if (c.phase === "running" && c.version === manifest.version) return;
    const deployment = await this.rpc(() => this.market.deployment(c.deploymentId));
    const onChainVersion = String(deployment.version).toLowerCase();
    if (manifest.version.toLowerCase() !== onChainVersion) {
      this.log.warn({ charterId, offered: manifest.version, onChain: onChainVersion }, "workload refused: version differs from the chain");
      this.o.metrics?.workloadRefusals.inc({ code: "VERSION_MISMATCH" });
      this.put({ ...c, code: "VERSION_MISMATCH", reason: `the workload's version ${manifest.version} is not the deployment's version ${onChainVersion}` });
      return;
    }
    const chainCharter = await this.rpc(() => this.market.charter(charterId));
    const state = BigInt(chainCharter.state);
    if (state !== CHARTER.Pending && state !== CHARTER.Active) return this.finish(charterId, "CHARTER_CLOSED", "the charter is closed on chain");

    const group = await this.groupOf(c, manifest);
    if (!group) {
      this.o.metrics?.workloadRefusals.inc({ code: "NO_MATCHING_GROUP" });
      this.put({ ...c, code: "NO_MATCHING_GROUP", reason: "no placement group of the workload matches the order's requirement spec" });
      return;
    }
    const workload = { charterId, deploymentId: c.deploymentId, version: manifest.version, manifest: manifest.manifest, services: group.services };
    const rolling = c.phase === "running";
    this.put({ ...c, phase: rolling ? "running" : "starting", group: group.group, services: group.services });
    try {
      const result = rolling ? await this.o.executor.rollout(workload) : await this.o.executor.run(workload);
      this.put({ ...this.charter(charterId)!, version: manifest.version, endpoints: result.endpoints, deliveredBy: from || this.charter(charterId)!.deliveredBy, code: undefined, reason: undefined });
      this.log.info({ charterId, version: manifest.version, rolling }, rolling ? "rolled out" : "workload running");
    } catch (error) {
      this.log.error({ charterId, err: String(error) }, rolling ? "rollout failed: the old version keeps running" : "workload failed to start");
      this.put({ ...this.charter(charterId)!, phase: rolling ? "running" : "waiting", code: "START_FAILED", reason: (error as Error).message });
      return;
    }
    if (state === CHARTER.Pending) {
      try {
        await this.send(() => this.writer.acknowledge(charterId));
      } catch (error) {
        const decoded = decodeContractError(error, { contract: "market" });
        this.log.error({ charterId, err: decoded?.message ?? String(error) }, "acknowledge failed");
        await this.o.executor.teardown(charterId).catch(() => undefined);
        return this.finish(charterId, decoded?.code ?? "ACKNOWLEDGE_FAILED", `acknowledge failed: ${decoded?.message ?? String(error)}`);
      }
    }
    const after = await this.rpc(() => this.market.charter(charterId));
    this.put({ ...this.charter(charterId)!, phase: "running", acknowledged: true, endsAt: String(after.endsAt) });
  }

  /** The placement group whose RequirementSpec is the on-chain order's. */
  private async groupOf(c: CharterRecord, manifest: ParsedManifest): Promise<{ group: string; services: string[] } | undefined> {
    const order = await this.rpc(() => this.market.order(c.orderId));
    const attributes = [...(order.attributes as string[])].map((a) => a.toLowerCase()).sort();
    return requirementSpecs(manifest).find(({ spec }) => {
      const r = spec.resources;
      const same = (a: unknown, b: unknown) => BigInt(a as bigint) === BigInt(b as bigint);
      return (
        same(r.cpuMillis, order.resources.cpuMillis) &&
        same(r.memoryMiB, order.resources.memoryMiB) &&
        same(r.storageMiB, order.resources.storageMiB) &&
        same(r.bandwidthMbps, order.resources.bandwidthMbps) &&
        same(spec.maxPricePerSecond, order.maxPricePerSecond) &&
        same(spec.duration, order.duration) &&
        same(spec.minReputation, order.minReputation) &&
        spec.attributes.map((a) => a.toLowerCase()).sort().join() === attributes.join()
      );
    });
  }

  // ------------------------------------------------------------------ chain events

  private async onBatch(events: MarketEvent[], head: ChainHead): Promise<void> {
    for (const e of events) {
      switch (e.type) {
        case "CharterClosed":
          if (this.charter(e.charterId)) await this.serial(String(e.charterId), () => this.finish(String(e.charterId), "CHARTER_CLOSED", `closed on chain (${CLOSE_REASONS[Number(e.reason)] ?? `reason ${e.reason}`})`));
          break;
        case "DeploymentClosed":
          for (const c of this.liveOf(e.deploymentId)) {
            await this.serial(c.charterId, () => this.finish(c.charterId, "DEPLOYMENT_CLOSED", "the deployment was closed", true));
          }
          break;
        case "DeploymentUpdated":
          for (const c of this.liveOf(e.deploymentId)) {
            const stored = this.o.node.store.get(e.deploymentId, e.version);
            if (stored) void this.serial(c.charterId, () => this.launch(c.charterId, stored.manifest, stored.from));
            else this.scheduleFetch(c.charterId);
          }
          break;
        case "CharterExtended": {
          const c = this.charter(e.charterId);
          if (c) this.put({ ...c, endsAt: String(e.endsAt) });
          break;
        }
        default:
          break;
      }
    }
    const now = BigInt(head.timestamp);
    for (const c of this.charters()) {
      if (c.phase === "waiting" && c.acknowledgeBy !== undefined && now >= BigInt(c.acknowledgeBy) - this.margin) {
        void this.serial(c.charterId, () => this.watchdog(c.charterId));
      } else if (c.phase === "running" && c.endsAt !== undefined && BigInt(c.endsAt) > 0n && now >= BigInt(c.endsAt)) {
        void this.serial(c.charterId, () => this.finish(c.charterId, "ENDED", "the charter reached its end", true));
      }
    }
  }

  private liveOf(deploymentId: bigint): CharterRecord[] {
    return this.charters().filter((c) => c.deploymentId === String(deploymentId) && c.phase !== "closed" && c.phase !== "failed");
  }

  /** The workload did not arrive in time: close with a stated reason rather than miss acknowledgeBy silently. */
  private async watchdog(charterId: string): Promise<void> {
    const c = this.charter(charterId);
    if (!c || c.phase !== "waiting") return;
    const reason =
      `the workload did not arrive ${this.margin} s before the acknowledgement deadline ${c.acknowledgeBy}` +
      (c.reason ? ` (last problem: ${c.reason})` : "");
    this.log.warn({ charterId, reason }, "watchdog: closing the charter");
    await this.closeOnChain(charterId);
    this.o.inventory.release(charterId, "charter-closed");
    this.put({ ...c, phase: "failed", code: "WORKLOAD_TIMEOUT", reason });
  }

  /** Teardown, release the inventory and (where asked and still open) close the charter on chain. */
  private async finish(charterId: string, code: string, reason: string, close = false): Promise<void> {
    const c = this.charter(charterId);
    if (!c || c.phase === "closed" || c.phase === "failed") return;
    await this.o.executor.teardown(charterId).catch((error) => this.log.error({ charterId, err: String(error) }, "teardown failed"));
    if (close) await this.closeOnChain(charterId);
    this.o.inventory.release(charterId, "charter-closed");
    this.put({ ...c, phase: "closed", endpoints: [], code, reason });
    this.log.info({ charterId, code, reason }, "charter finished");
  }

  private async closeOnChain(charterId: string): Promise<void> {
    const state = BigInt((await this.rpc(() => this.market.charter(charterId))).state);
    if (state === CHARTER.Closed || state === CHARTER.None) return;
    try {
      await this.send(() => this.writer.closeCharter(charterId));
    } catch (error) {
      this.log.warn({ charterId, err: decodeContractError(error, { contract: "market" })?.message ?? String(error) }, "closeCharter failed");
    }
  }

  /** Move what accrued to the provider's balance, for every running charter. */
  async claimAll(): Promise<void> {
    if (this.claiming) return; // a slow round still running: the next tick catches up
    this.claiming = true;
    try {
      await this.claimEach();
    } finally {
      this.claiming = false;
    }
  }

  private async claimEach(): Promise<void> {
    for (const c of this.charters()) {
      if (c.phase !== "running" || !c.acknowledged) continue;
      try {
        const claimable = (await this.rpc(() => this.market.claimable(c.charterId))) as bigint;
        if (claimable === 0n) continue;
        const receipt = await this.send(() => this.writer.claim(c.charterId));
        for (const log of receipt?.logs ?? []) {
          const parsed = this.market.interface.parseLog(log);
          if (parsed?.name !== "PaymentClaimed") continue;
          this.o.metrics?.claims.inc();
          this.o.metrics?.claimedWei.inc(Number(parsed.args.amount as bigint));
          this.log.info({ charterId: c.charterId, amount: String(parsed.args.amount), fee: String(parsed.args.fee) }, "payment claimed");
        }
        const claimed = String((await this.rpc(() => this.market.charter(c.charterId))).claimed);
        const now = this.charter(c.charterId);
        if (now) this.put({ ...now, claimed });
      } catch (error) {
        this.log.warn({ charterId: c.charterId, err: String(error) }, "claim failed");
      }
    }
  }

  // ------------------------------------------------------------------ start-up

  /** Make the engine agree with the chain: nothing left running unpaid, nothing paid left unrun. */
  private async reconcile(): Promise<void> {
    const running = await this.o.executor.list();
    for (const m of running) {
      const state = BigInt((await this.rpc(() => this.market.charter(m.charterId))).state);
      if (state !== CHARTER.Active && state !== CHARTER.Pending) {
        this.log.info({ charterId: m.charterId }, "reconcile: charter closed on chain, removing its containers");
        await this.o.executor.teardown(m.charterId);
        const c = this.charter(m.charterId);
        if (c && c.phase !== "closed") this.put({ ...c, phase: "closed", endpoints: [], code: "CHARTER_CLOSED", reason: "closed while the daemon was down" });
      }
    }
    await this.recoverUnrecorded();
    const versionsOf = new Map(running.map((m) => [m.charterId, m.versions]));
    for (const c of this.charters()) {
      if (c.phase === "closed" || c.phase === "failed") continue;
      const state = BigInt((await this.rpc(() => this.market.charter(c.charterId))).state);
      if (state !== CHARTER.Active && state !== CHARTER.Pending) {
        this.put({ ...c, phase: "closed", endpoints: [], code: "CHARTER_CLOSED", reason: "closed while the daemon was down" });
        this.o.inventory.release(c.charterId, "charter-closed");
        continue;
      }
      const versions = versionsOf.get(c.charterId);
      if (versions && c.phase === "running") {
        await this.resumeRollout(c, versions);
        continue;
      }
      const stored = await this.storedCurrent(c.deploymentId);
      if (stored) {
        this.put({ ...c, phase: c.phase === "running" ? "waiting" : c.phase });
        await this.serial(c.charterId, () => this.launch(c.charterId, stored.manifest, stored.from));
      } else if (c.phase === "waiting") {
        this.scheduleFetch(c.charterId);
      }
    }
  }

  /**
   * A charter the bid engine committed (won) that has no record: the process died between the engine's `charterWon`
   * and the manager's first write, and the watcher's cursor has moved past CharterCreated, so no event will bring it
   * back. Without this it would never run, and the tenant could cancel it as undelivered.
   */
  private async recoverUnrecorded(): Promise<void> {
    for (const r of this.o.inventory.list()) {
      if (r.state !== "committed" || r.charterId === undefined || this.charter(r.charterId)) continue;
      const onChain = await this.rpc(() => this.market.charter(r.charterId!));
      const state = BigInt(onChain.state);
      if (state !== CHARTER.Pending && state !== CHARTER.Active) {
        this.o.inventory.release(r.charterId, "charter-closed");
        continue;
      }
      this.log.warn({ charterId: r.charterId }, "reconcile: a won charter had no record; taking it up");
      await this.won(BigInt(r.charterId), {
        charterId: BigInt(r.charterId),
        orderId: BigInt(r.orderId),
        deploymentId: BigInt(r.deploymentId),
        tenant: String(onChain.tenant),
        resources: r.resources,
        pricePerSecond: BigInt(onChain.pricePerSecond),
      });
    }
  }

  /**
   * A running charter with containers: adopted as it is when it runs exactly the deployment's on-chain version;
   * otherwise a rollout was cut short (DeploymentUpdated is handled after the watcher's cursor moved on), so it is
   * finished from the stored manifest, or from the peers once one serves it. The first attempt may meet the new
   * version's half-created containers; the executor removes them on failure, so a second attempt starts clean.
   */
  private async resumeRollout(c: CharterRecord, versions: string[]): Promise<void> {
    const current = String((await this.rpc(() => this.market.deployment(c.deploymentId))).version).toLowerCase();
    const runs = versions.map((v) => v.toLowerCase());
    if (runs.length === 1 && runs[0] === current) {
      if (c.version?.toLowerCase() !== current) this.put({ ...c, version: versions[0] });
      return;
    }
    const stored = this.o.node.store.get(BigInt(c.deploymentId), current);
    if (!stored) return this.scheduleFetch(c.charterId);
    this.log.info({ charterId: c.charterId, running: versions, current }, "reconcile: finishing a rollout cut short");
    for (let attempt = 0; attempt < 2 && this.charter(c.charterId)?.version?.toLowerCase() !== current; attempt++) {
      await this.serial(c.charterId, () => this.launch(c.charterId, stored.manifest, stored.from));
    }
  }

  // ------------------------------------------------------------------ helpers

  private put(record: CharterRecord): void {
    const before = this.charter(record.charterId)?.phase;
    this.o.state.put("charters", record.charterId, { ...record, updatedAt: Date.now() });
    if (before !== record.phase) this.updateGauge();
  }

  private updateGauge(): void {
    const gauge = this.o.metrics?.charters;
    if (!gauge) return;
    const counts: Record<CharterPhase, number> = { waiting: 0, starting: 0, running: 0, closed: 0, failed: 0 };
    for (const c of this.charters()) counts[c.phase]++;
    for (const [phase, n] of Object.entries(counts)) gauge.set({ phase }, n);
  }

  /** Operations on one charter run one after another. */
  private serial(charterId: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(charterId) ?? Promise.resolve();
    const next = previous.then(fn, fn).catch((error) => this.fail(charterId, error));
    this.queues.set(charterId, next);
    void next.finally(() => {
      if (this.queues.get(charterId) === next) this.queues.delete(charterId);
    });
    return next;
  }

  private async send(fn: () => Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt | null> {
    const tx = await withTimeout(fn(), this.o.txTimeoutMs ?? 120_000, "sending a transaction");
    return withTimeout(tx.wait(), this.o.txTimeoutMs ?? 120_000, "waiting for a transaction");
  }

  private rpc<T>(call: () => Promise<T>): Promise<T> {
    return withTimeout(call(), this.o.rpcTimeoutMs ?? 10_000, "RPC call");
  }

  private fail(where: string, error: unknown): void {
    this.log.error({ where, err: String(error) }, "charter manager error");
  }
}
