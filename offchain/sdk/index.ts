/**
 * The TOM3 tenant SDK: a typed client over the suite's contracts and the workload transport.
 *
 * - `client.ts`: `Tom3Client` (a Signer or a Provider, plus a deployment record), chain access shared by actions.
 * - `actions/`: one action per file: deploy a manifest, wait for matches, deliver the workload, wait for
 *   acknowledgements, status (with the services' URLs), update, extend, close, cancel an order, balances, deposit,
 *   withdraw, the provider directory, the providers' decisions on an order, a deployment's logs.
 * - `provider-api.ts`: reading a provider's HTTP API (service URLs, decisions, logs).
 * - `delivery.ts`: the `ManifestDelivery` interface and endpoint parsing; `p2p-delivery.ts` and `http-delivery.ts`:
 *   its transports (libp2p push, signed HTTP upload); `escrow.ts`: permit or approve deposits.
 * - `errors.ts`: the SDK's error classes (reverts are `Tom3ContractError`); `progress.ts`: typed progress events.
 */
export * from "./actions";
export { DEFAULT_TIMEOUTS, Tom3Client } from "./client";
export type {
  ConnectTom3ClientOptions,
  SentTransaction,
  Tom3ClientOptions,
  Tom3ContractName,
  Tom3Event,
  Tom3Timeouts,
} from "./client";
export * from "./delivery";
export { P2pManifestDelivery } from "./p2p-delivery";
export { HttpManifestDelivery, type HttpManifestDeliveryOptions } from "./http-delivery";
export * from "./errors";
export {
  fetchCharterReport,
  fetchServiceEndpoints,
  providerApiGet,
  providerApiUrl,
  Tom3ProviderApiError,
  type CharterReport,
  type ServiceEndpoint,
} from "./provider-api";
export type { OnProgress, Tom3ProgressEvent, Tom3ProgressType } from "./progress";
export type {
  CharterRecord,
  CharterStateName,
  CloseReasonName,
  DeploymentRecord,
  OrderRecord,
  OrderStateName,
  ResourcesRecord,
} from "./records";
