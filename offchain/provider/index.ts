/**
 * The provider daemon's market side: configuration, persisted state, chain watcher, inventory, pricing and the
 * bid engine; the charter manager (`charters.ts`), the API (`api.ts`) and the daemon that wires them (`daemon.ts`).
 * The executor (Docker) lives in `executor/`.
 */
export * from "./bidengine";
export * from "./config";
export * from "./host";
export * from "./init";
export * from "./inventory";
export * from "./metrics";
export * from "./pricing";
export * from "./registration";
export * from "./state";
export * from "./watcher";
export * from "./api";
export * from "./charters";
export * from "./daemon";
export * from "./signer";
