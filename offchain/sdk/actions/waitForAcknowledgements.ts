import type { Tom3Client } from "../client";
import { Tom3TimeoutError } from "../errors";
import { fetchCharterReport, providerApiUrl } from "../provider-api";
import { readCharter } from "../records";
import type { CloseReasonName } from "../records";

export interface WaitForAcknowledgementsParameters {
  charterIds: readonly bigint[];
  /** Default `client.timeouts.acknowledgeMs`. */
  timeoutMs?: number;
}

export interface AcknowledgedCharter {
  charterId: bigint;
  provider: string;
  acknowledgedAt: bigint;
  endsAt: bigint;
}

export interface UnacknowledgedCharter {
  charterId: bigint;
  provider: string;
  /**
   * `closed`: the charter was closed before acknowledgement (`closeReason` says how); `startTimeoutOver`: the
   * provider let the start timeout pass, so the tenant may `cancelUndelivered` it (full refund, bond, slash).
   */
  reason: "closed" | "startTimeoutOver";
  closeReason: CloseReasonName;
}

export interface WaitForAcknowledgementsReturnType {
  acknowledged: AcknowledgedCharter[];
  unacknowledged: UnacknowledgedCharter[];
}

/**
 * Wait until each charter's provider has acknowledged that the workload runs (payment accrues from then), the
 * charter was closed, or its start timeout passed. Throws `Tom3TimeoutError` after `timeoutMs`.
 *
 * @example
 * import { waitForAcknowledgements } from "./offchain/sdk";
 *
 * const { acknowledged } = await waitForAcknowledgements(client, { charterIds: matched.map((m) => m.charterId) });
 * for (const a of acknowledged) console.log(`charter ${a.charterId} runs until ${a.endsAt}`);
 */
export async function waitForAcknowledgements(
  client: Tom3Client,
  parameters: WaitForAcknowledgementsParameters,
): Promise<WaitForAcknowledgementsReturnType> {
  const timeoutMs = parameters.timeoutMs ?? client.timeouts.acknowledgeMs;
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(parameters.charterIds);
  const acknowledged: AcknowledgedCharter[] = [];
  const unacknowledged: UnacknowledgedCharter[] = [];
  // What each pending charter's provider last said was wrong (its API's code and reason), asked every few seconds.
  const problems = new Map<bigint, string>();
  let askedAt = Date.now(); // first asked after a few seconds: a prompt acknowledgement costs no API request
  for (;;) {
    const now = await client.now();
    for (const charterId of [...pending]) {
      const charter = await readCharter(client, charterId);
      const { provider } = charter;
      if (charter.acknowledgedAt !== 0n) {
        acknowledged.push({ charterId, provider, acknowledgedAt: charter.acknowledgedAt, endsAt: charter.endsAt });
        client.progress({ type: "charterAcknowledged", charterId, endsAt: charter.endsAt });
      } else if (charter.state === "Closed") {
        unacknowledged.push({ charterId, provider, reason: "closed", closeReason: charter.closeReason });
      } else if (charter.state === "Pending" && now > charter.acknowledgeBy) {
        unacknowledged.push({ charterId, provider, reason: "startTimeoutOver", closeReason: "None" });
      } else {
        continue;
      }
      pending.delete(charterId);
    }
    if (pending.size === 0) return { acknowledged, unacknowledged };
    if (Date.now() - askedAt >= 5_000 || Date.now() >= deadline) {
      askedAt = Date.now();
      for (const charterId of pending) await askProvider(client, charterId, problems);
    }
    if (Date.now() >= deadline) {
      const said = [...pending].filter((id) => problems.has(id)).map((id) => `charter ${id}: its provider reports ${problems.get(id)}`);
      const what = `the acknowledgement of charter${pending.size > 1 ? "s" : ""} ${[...pending].join(", ")}${said.length ? ` (${said.join("; ")})` : ""}`;
      throw new Tom3TimeoutError(what, timeoutMs, {
        pending: [...pending],
        acknowledged,
        unacknowledged,
      });
    }
    await client.sleep();
  }
}

/** Ask the charter's provider (its API, from its on-chain endpoint) why the workload does not run; report news. */
async function askProvider(client: Tom3Client, charterId: bigint, problems: Map<bigint, string>): Promise<void> {
  try {
    const { provider } = await readCharter(client, charterId);
    const api = providerApiUrl(await client.read<string>("registry", "endpointOf", [provider]));
    if (!api) return;
    const report = await fetchCharterReport(api, charterId, AbortSignal.timeout(5_000));
    if (!report.code || !report.reason) return;
    const said = `${report.code}: ${report.reason}`;
    if (problems.get(charterId) === said) return;
    problems.set(charterId, said);
    client.progress({ type: "charterProblem", charterId, provider, code: report.code, reason: report.reason });
  } catch {
    // The provider's API is optional: the chain alone decides when the wait ends.
  }
}
