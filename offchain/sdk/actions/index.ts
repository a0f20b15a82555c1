/** Every SDK action, one per file; each takes the client first: `deposit(client, { amount })`. */
export * from "./cancelOrder";
export * from "./closeDeployment";
export * from "./deliverWorkload";
export * from "./deployManifest";
export * from "./deposit";
export * from "./extendCharter";
export * from "./extendDeployment";
export * from "./getBalance";
export * from "./getBidDecisions";
export * from "./getLogs";
export * from "./getStatus";
export * from "./listProviders";
export * from "./transfer";
export * from "./updateDeployment";
export * from "./waitForAcknowledgements";
export * from "./waitForMatches";
export * from "./withdraw";
export type { ManifestInput } from "./manifest-input";
