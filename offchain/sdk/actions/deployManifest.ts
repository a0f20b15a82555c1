import type { Tom3Client } from "../client";
import { Tom3TransactionError } from "../errors";
import { ensureAvailable } from "../escrow";
import type { GroupRequirement, ParsedManifest, RequirementSpec } from "../../manifest";
import { requirementSpecs } from "../../manifest";
import { resolveManifest } from "./manifest-input";
import type { ManifestInput } from "./manifest-input";

export interface DeployManifestParameters {
  /** The manifest: YAML text, or what `parseManifest` returned. */
  manifest: ManifestInput;
  /** Name of the manifest in error messages (a file name). */
  source?: string;
  /** Top up escrow with an EIP-2612 permit where the token supports it (default true); else approve + deposit. */
  permit?: boolean;
}

/** One order, one per placement group. */
export interface DeployedOrder {
  orderId: bigint;
  group: string;
  services: string[];
  spec: RequirementSpec;
  /** Bids are accepted while the chain's time is before this. */
  closesAt: bigint;
}

export interface DeployManifestReturnType {
  deploymentId: bigint;
  /** The deployment version: keccak256 of the manifest's canonical form. */
  version: string;
  orders: DeployedOrder[];
  /** What the orders lock: the sum of maxPricePerSecond x duration. */
  locked: bigint;
  /** Wei deposited to cover the orders (0 when the available balance sufficed). */
  deposited: bigint;
  manifest: ParsedManifest;
  transactions: string[];
  /** The block of the deployment's creation: `waitForMatches({ fromBlock })` reports bids from there. */
  blockNumber: number;
}

/**
 * Put a manifest on the market: parse and validate it, deposit what the available balance lacks for its orders
 * (with a permit signature where possible), create the deployment at the manifest's version and post one order
 * per placement group. Bidding starts at once; follow with `waitForMatches`.
 *
 * A manifest that breaks a rule throws `ManifestError` (every issue with its path and line) before anything is
 * sent; a revert throws `Tom3ContractError`.
 *
 * @example
 * import { readFileSync } from "node:fs";
 * import { JsonRpcProvider, Wallet } from "ethers";
 * import { Tom3Client, deployManifest } from "./offchain/sdk";
 *
 * const client = await Tom3Client.connect({
 *   runner: new Wallet(process.env.TOM3_PRIVATE_KEY!, new JsonRpcProvider("http://127.0.0.1:8545")),
 * });
 * const { deploymentId, orders } = await deployManifest(client, {
 *   manifest: readFileSync("examples/hello.yaml", "utf8"),
 *   source: "hello.yaml",
 * });
 */
export async function deployManifest(
  client: Tom3Client,
  parameters: DeployManifestParameters,
): Promise<DeployManifestReturnType> {
  client.requireSigner("deployManifest");
  const manifest = resolveManifest(parameters.manifest, parameters.source);
  const groups: GroupRequirement[] = requirementSpecs(manifest);
  client.progress({ type: "manifestParsed", version: manifest.version, groups: groups.map((g) => g.group) });

  const transactions: string[] = [];
  const locked = groups.reduce((sum, { spec }) => sum + spec.maxPricePerSecond * spec.duration, 0n);
  const deposit = await ensureAvailable(client, locked, parameters.permit ?? true);
  if (deposit) transactions.push(...deposit.transactions);

  const created = await client.send("market", "createDeployment", [manifest.version]);
  transactions.push(created.hash);
  const deploymentId = eventArg<bigint>(created.events, "DeploymentCreated", "deploymentId");
  client.progress({ type: "deploymentCreated", deploymentId, version: manifest.version });

  const orders: DeployedOrder[] = [];
  for (const { group, services, spec } of groups) {
    const sent = await client.send("market", "createOrder", [deploymentId, spec]);
    transactions.push(sent.hash);
    const orderId = eventArg<bigint>(sent.events, "OrderCreated", "orderId");
    const closesAt = eventArg<bigint>(sent.events, "OrderCreated", "closesAt");
    orders.push({ orderId, group, services, spec, closesAt });
    client.progress({ type: "orderCreated", orderId, group, closesAt });
  }
  return {
    deploymentId,
    version: manifest.version,
    orders,
    locked,
    deposited: deposit?.amount ?? 0n,
    manifest,
    transactions,
    blockNumber: created.blockNumber,
  };
}

/** Argument `arg` of the first `name` event of a receipt. */
export function eventArg<T>(events: { name: string; args: Record<string, unknown> }[], name: string, arg: string): T {
  const event = events.find((e) => e.name === name);
  if (!event) throw new Tom3TransactionError(`the transaction emitted no ${name} event`);
  return event.args[arg] as T;
}
