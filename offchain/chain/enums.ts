/**
 * Names of the contracts' enum values, indexed by their on-chain number (IMarket.sol and OpenZeppelin's Governor
 * and TimelockController). Keep in step with the Solidity declarations.
 */
export const ORDER_STATES = ["None", "Open", "Matched", "Cancelled"] as const;
export const CHARTER_STATES = ["None", "Pending", "Active", "Closed"] as const;
export const CLOSE_REASONS = [
  "None",
  "ClosedByTenant",
  "ClosedByProvider",
  "Expired",
  "Undelivered",
  "DeploymentClosed",
] as const;
/** `MarketResourcesBelowRequest.resource`: the field's index in the `Resources` struct, with its unit. */
export const RESOURCE_FIELDS = [
  ["cpu", "millicores"],
  ["memory", "MiB"],
  ["storage", "MiB"],
  ["bandwidth", "Mbps"],
] as const;
export const PROPOSAL_STATES = [
  "Pending",
  "Active",
  "Canceled",
  "Defeated",
  "Succeeded",
  "Queued",
  "Expired",
  "Executed",
] as const;
export const OPERATION_STATES = ["Unset", "Waiting", "Ready", "Done"] as const;
/** Governor vote types (GovernorCountingSimple). */
export const VOTE_TYPES = ["against", "for", "abstain"] as const;

/** The name of enum value `value`, or `#<value>` when it is out of range (a newer contract). */
export function enumName(names: readonly string[], value: bigint | number): string {
  return names[Number(value)] ?? `#${value}`;
}
