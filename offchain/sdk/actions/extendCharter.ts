import type { Tom3Client } from "../client";
import { ensureAvailable } from "../escrow";
import { Tom3InputError } from "../errors";
import { readCharter } from "../records";
import { eventArg } from "./deployManifest";

export interface ExtendCharterParameters {
  charterId: bigint;
  /** Extra seconds of service. */
  by: bigint | number;
  /** Top up a short balance with a permit signature where possible (default true). */
  permit?: boolean;
}

export interface ExtendCharterReturnType {
  charterId: bigint;
  /** The new end. */
  endsAt: bigint;
  /** What the extension locked: price x seconds. */
  locked: bigint;
  /** Wei deposited to cover it (0 when the balance sufficed). */
  deposited: bigint;
  transactions: string[];
}

/**
 * Extend an active charter by `by` seconds: locks `price x by` more (depositing what the available balance lacks)
 * and moves its end.
 *
 * @example
 * import { extendCharter } from "./offchain/sdk";
 *
 * const { endsAt } = await extendCharter(client, { charterId: 3n, by: 3600 });
 */
export async function extendCharter(
  client: Tom3Client,
  parameters: ExtendCharterParameters,
): Promise<ExtendCharterReturnType> {
  client.requireSigner("extendCharter");
  const { charterId } = parameters;
  const by = BigInt(parameters.by);
  if (by <= 0n) throw new Tom3InputError(`an extension must be positive, got ${by} s`);
  const charter = await readCharter(client, charterId);
  const locked = charter.pricePerSecond * by;
  const transactions: string[] = [];
  const deposit = await ensureAvailable(client, locked, parameters.permit ?? true);
  if (deposit) transactions.push(...deposit.transactions);
  const sent = await client.send("market", "extendCharter", [charterId, by]);
  transactions.push(sent.hash);
  const endsAt = eventArg<bigint>(sent.events, "CharterExtended", "endsAt");
  client.progress({ type: "charterExtended", charterId, endsAt });
  return { charterId, endsAt, locked, deposited: deposit?.amount ?? 0n, transactions };
}
