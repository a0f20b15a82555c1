/**
 * What `tom3` says about a tenant's services once they run, and about orders nobody took: the URL of each published
 * service (from its provider's API, via the SDK's getStatus), whether an update kept it, each provider's reason for
 * not bidding, and cancelling what stays locked. Used by `deploy`, `status` and `update` in main.ts.
 */
import { fetchCharterReport, providerApiUrl } from "../sdk/provider-api";
import type { CharterReport, DeployedOrder, ProviderDecision, ServiceEndpoint, Tom3Client, UnmatchedOrder } from "../sdk";
import { price, tokens } from "./output";

/** A published service of a charter, as the CLI reports it (JSON `services`). */
export interface ServiceUrl extends ServiceEndpoint {
  charterId: bigint;
}

/** Each active charter's published services, and a line per charter whose provider could not say. */
export async function serviceUrls(tom3: Tom3Client, deploymentId: bigint): Promise<{ services: ServiceUrl[]; problems: string[] }> {
  const { deployments } = await tom3.getStatus({ deploymentId });
  const services: ServiceUrl[] = [];
  const problems: string[] = [];
  for (const c of deployments[0]?.charters ?? []) {
    for (const e of c.serviceEndpoints ?? []) services.push({ charterId: c.charterId, ...e });
    if (c.serviceEndpointsError) problems.push(`charter ${c.charterId}: no service URL: ${c.serviceEndpointsError}`);
  }
  return { services, problems };
}

/** "service web: http://127.0.0.1:32839 (port 80)". */
export function serviceLine(s: ServiceEndpoint, indent = ""): string {
  return `${indent}service ${s.service}${s.replica > 0 ? ` #${s.replica}` : ""}: ${s.url} (port ${s.as})`;
}

/** A provider's answer about an order, as one line. */
export function decisionLine(d: ProviderDecision): string {
  switch (d.kind) {
    case "decline":
      return `  ${d.provider}: declined: ${d.reason} (${d.code})`;
    case "bid":
      return `  ${d.provider}: bid ${price(d.price)}${d.outcome ? ` (${d.outcome})` : ""}${d.reason ? `: ${d.reason}` : ""}`;
    case "none":
      return `  ${d.provider}: ${d.reason}`;
    case "unreachable":
      return `  ${d.provider}: no answer (${d.reason})`;
  }
}

export interface UnmatchedReport {
  orderId: bigint;
  group: string;
  services: string[];
  reason: UnmatchedOrder["reason"];
  /** Each registered provider's answer (for orders that got no bid). */
  providers: ProviderDecision[];
  /** Cancelled by this command: the amount unlocked. */
  unlocked?: bigint;
  /** With --keep-open: the command that cancels it. */
  cancelWith?: string;
}

/**
 * For every order that got no bid: each provider's reason, then the order cancelled (its escrow back in the
 * available balance), or, with `keepOpen`, left open with the one command that cancels it.
 */
export async function settleUnmatched(
  tom3: Tom3Client,
  unmatched: readonly UnmatchedOrder[],
  orders: readonly DeployedOrder[],
  keepOpen: boolean,
): Promise<{ reports: UnmatchedReport[]; lines: string[] }> {
  const reports: UnmatchedReport[] = [];
  const lines: string[] = [];
  for (const u of unmatched) {
    const order = orders.find((o) => o.orderId === u.orderId);
    const group = order?.group ?? "?";
    const services = order?.services ?? [];
    const report: UnmatchedReport = { orderId: u.orderId, group, services, reason: u.reason, providers: [] };
    if (u.reason !== "noBids") {
      lines.push(`order ${u.orderId} (group ${group}): not matched (${u.reason === "cancelled" ? "cancelled" : "the deployment was closed"})`);
      reports.push(report);
      continue;
    }
    report.providers = (await tom3.getBidDecisions({ orderId: u.orderId })).decisions;
    lines.push(`order ${u.orderId} (group ${group}: ${services.join(", ")}): no provider bid`);
    if (report.providers.length === 0) lines.push("  no provider is registered on this market");
    lines.push(...report.providers.map(decisionLine));
    if (keepOpen) {
      report.cancelWith = `tom3 cancel ${u.orderId}`;
      lines.push(`  order ${u.orderId} stays open and keeps ${order ? tokens(order.spec.maxPricePerSecond * order.spec.duration) : "its escrow"} locked; cancel it with: ${report.cancelWith}`);
    } else {
      const cancelled = await tom3.cancelOrder({ orderId: u.orderId });
      report.unlocked = cancelled.unlocked;
      lines.push(
        `  order ${u.orderId} cancelled: ${tokens(cancelled.unlocked)} went back to your available balance ` +
          `(available ${tokens(cancelled.available)}, locked ${tokens(cancelled.locked)})`,
      );
    }
    reports.push(report);
  }
  return { reports, lines };
}

/**
 * After `update`: wait until each active charter's provider runs `version` (its API's `GET /charters/:id`), then
 * compare each service's URL with `before`: the same URL is said once; a changed one is said as old -> new.
 */
export async function waitForRollout(
  tom3: Tom3Client,
  deploymentId: bigint,
  version: string,
  before: readonly ServiceUrl[],
  timeoutMs: number,
): Promise<{ ok: boolean; services: ServiceUrl[]; lines: string[] }> {
  const { deployments } = await tom3.getStatus({ deploymentId, serviceEndpoints: false });
  const active = (deployments[0]?.charters ?? []).filter((c) => c.state === "Active");
  const lines: string[] = [];
  const services: ServiceUrl[] = [];
  let ok = true;
  const deadline = Date.now() + timeoutMs;
  for (const c of active) {
    const api = providerApiUrl(c.providerEndpoint);
    if (!api) {
      lines.push(`charter ${c.charterId}: its provider announces no API URL, so whether it runs the new version is unknown`);
      continue;
    }
    let last: CharterReport | undefined;
    let problem: string | undefined;
    for (;;) {
      try {
        last = await fetchCharterReport(api, c.charterId);
        problem = undefined;
      } catch (error) {
        problem = (error as Error).message;
      }
      if (last?.version?.toLowerCase() === version.toLowerCase() && last.phase === "running" && !last.code) break;
      if (Date.now() >= deadline) break;
      await tom3.sleep();
    }
    if (last?.version?.toLowerCase() !== version.toLowerCase() || last.code) {
      ok = false;
      const why = problem ?? (last?.reason ? `${last.reason} (${last.code})` : `it still runs ${last?.version ?? "nothing"}`);
      lines.push(`charter ${c.charterId}: the new version is not running after ${Math.round(timeoutMs / 1000)} s: ${why}`);
      continue;
    }
    lines.push(`charter ${c.charterId}: runs version ${version}`);
    for (const e of last.endpoints) {
      services.push({ charterId: c.charterId, ...e });
      const old = before.find((b) => b.charterId === c.charterId && b.service === e.service && b.replica === e.replica && b.port === e.port);
      if (!old) lines.push(serviceLine(e));
      else if (old.url === e.url) lines.push(`${serviceLine(e)}, unchanged`);
      else lines.push(`service ${e.service}${e.replica > 0 ? ` #${e.replica}` : ""}: URL changed: ${old.url} -> ${e.url} (port ${e.as})`);
    }
  }
  return { ok, services, lines };
}
