/**
 * The provider daemon's market side: configuration, persisted state, chain watcher, inventory, pricing and the
 * bid engine. The executor (Docker) lives in `executor/`; the charter manager subscribes to `charterWon`.
 */
export * from "./bidengine";
export * from "./config";
export * from "./inventory";
export * from "./metrics";
export * from "./pricing";
export * from "./registration";
export * from "./state";
export * from "./watcher";
