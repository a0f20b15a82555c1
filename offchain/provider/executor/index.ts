/** The provider's executor: a charter's workload as containers on a Docker engine. See README.md in this folder. */
export {
  DockerExecutor,
  demux,
  type ContainerInfo,
  type ContainerStats,
  type DockerExecutorOptions,
  type EngineHealth,
  type Endpoint,
  type ExecutorStatus,
  type LogEntry,
  type ManagedCharter,
  type PullPolicy,
  type RunOptions,
  type RunResult,
} from "./executor";
export { ExecutorError, type ExecutorErrorCode } from "./errors";
export { API_IMAGE, HELLO_IMAGE, buildSampleImages, type BuildSampleImagesOptions } from "./images";
export {
  LABEL,
  hostPortKey,
  planCharter,
  planNetworks,
  type CharterPlan,
  type CharterWorkload,
  type HostPorts,
  type NetworkPlan,
} from "./plan";
