/**
 * One provider's manifest node in a process of its own, for `bench/p2p.ts` (not run by hand): real providers are
 * separate machines, so each receiver gets its own event loop, heap and key instead of sharing the sender's. The
 * node also runs the bench's byte sink (bench/p2p-sink.ts), to time the transport alone to the same process.
 *
 * Driven over the IPC channel of `child_process.fork`:
 *   parent → { type: "start", privateKey, authorizer }   child → { type: "ready", multiaddr } | { type: "failed" }
 *   parent → { type: "mark" }                            child → { type: "marked" } (CPU and answers counted from now)
 *   parent → { type: "report" }                          child → { type: "report", cpuMs, systemMs, answers } (since the mark)
 *   parent → { type: "stop" }                            the node stops and the process exits
 * `authorizer` is `{ kind: "allowAll", versions: [[deploymentId, version], …] }` (ids as decimal strings) or
 * `{ kind: "chain", rpcUrl, deployment }`: a `ChainAuthorizer` reading the chain over JSON-RPC as the provider
 * daemon does (its `chainProvider`).
 */
import type { Tom3Deployment } from "../offchain/chain/deployment";
import {
  allowAllAuthorizer,
  ChainAuthorizer,
  createManifestNode,
  type InboundAnswer,
  type ManifestAuthorizer,
  type ManifestNode,
} from "../offchain/p2p";
import { chainProvider } from "../offchain/provider/daemon";
import { SINK_PROTOCOL, sinkHandler } from "./p2p-sink";

export type ReceiverAuthorizer =
  | { kind: "allowAll"; versions: Array<[string, string]> }
  | { kind: "chain"; rpcUrl: string; deployment: Tom3Deployment };

export type ReceiverCommand =
  | { type: "start"; privateKey: string; authorizer: ReceiverAuthorizer }
  | { type: "mark" }
  | { type: "report" }
  | { type: "stop" };

export type ReceiverEvent =
  | { type: "ready"; multiaddr: string }
  | { type: "failed"; message: string }
  | { type: "marked" }
  | { type: "report"; cpuMs: number; systemMs: number; answers: InboundAnswer[] };

const send = (event: ReceiverEvent) => process.send?.(event);

function authorizerOf(spec: ReceiverAuthorizer): ManifestAuthorizer {
  if (spec.kind === "allowAll") {
    return allowAllAuthorizer({ versions: new Map(spec.versions.map(([id, version]) => [BigInt(id), version])) });
  }
  // The provider daemon's own JSON-RPC settings: no batching delay, no request cache (every read is a read).
  return new ChainAuthorizer({ provider: chainProvider(spec.rpcUrl), deployment: spec.deployment });
}

let node: ManifestNode | undefined;
let answers: InboundAnswer[] = [];
let cpuAtMark = process.cpuUsage();

process.on("message", (command: ReceiverCommand) => {
  void (async () => {
    switch (command.type) {
      case "start":
        try {
          await node?.stop(); // a node per start: the next variant brings its own key and authorizer
          node = await createManifestNode({
            privateKey: command.privateKey,
            authorizer: authorizerOf(command.authorizer),
            listen: ["/ip4/127.0.0.1/tcp/0"],
            onInbound: (answer) => answers.push(answer),
          });
          await node.start();
          await node.libp2p.handle(SINK_PROTOCOL, (stream) => sinkHandler(stream));
          send({ type: "ready", multiaddr: node.multiaddrs[0] });
        } catch (error) {
          send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
        }
        break;
      case "mark":
        answers = [];
        cpuAtMark = process.cpuUsage();
        send({ type: "marked" });
        break;
      case "report": {
        const { user, system } = process.cpuUsage(cpuAtMark);
        send({ type: "report", cpuMs: (user + system) / 1000, systemMs: system / 1000, answers });
        break;
      }
      case "stop":
        await node?.stop().catch(() => undefined);
        process.exit(0);
    }
  })();
});

// An orphan never lingers: the parent's end of the channel closing ends this process.
process.on("disconnect", () => {
  void (node?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
