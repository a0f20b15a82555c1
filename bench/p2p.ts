/**
 * Peer-to-peer delivery benchmark (a script, not a test): `npm run bench:p2p` (`npx hardhat run bench/p2p.ts`).
 *
 * (a) Fan-out of a 1 MiB workload from one tenant node to 10 provider nodes on warm connections, from the start of
 *     the pushes until all 10 answered OK (each answer means: received, hashed against the version, parsed,
 *     checked canonical and valid). 10 warm-up fan-outs, then 15 timed; median, min and max. The same deployment
 *     is pushed again each run: fully read and checked every time, only the store write of a first delivery
 *     (one more encoding of the MiB, well under a millisecond) is skipped. (Each run under a fresh deployment id
 *     instead kept 25 MiB more per receiver alive, and collecting it, not delivery, then dominated the figures.)
 *     - Main rows: every provider node runs in a process of its own (`bench/p2p-receiver.ts`, forked and started
 *       before timing), with its own key and authorizer, as providers are separate machines: allow-all, and
 *       authorised against the chain (a `hardhat node` child process, test/harness/local-chain.ts, with a real
 *       deployment and one charter per provider; each receiver reads it over JSON-RPC).
 *     - For comparison, the same with the 10 receivers inside this one process (one event loop verifies all ten,
 *       one after the other), the bytes alone over the transport (TLS + yamux), the workload sent as YAML
 *       (`encoding: "yaml"`, a few hundred ms of YAML parsing per receiver) and the small examples/hello.yaml.
 *     The machine has 2 cores for sender, 10 receivers and the chain: every run also records the CPU time each
 *     process spent, so the table shows the floor that CPU alone puts under the fan-out here (total CPU / cores),
 *     which separate machines would not have.
 * (b) 100 MiB over one libp2p stream (TLS 1.3, yamux; Noise for reference) against a plain Node `tls` socket
 *     (TLS 1.3, self-signed P-256 certificate made at run time) and plain TCP.
 *
 * Prints a table and writes bench/results/p2p.json (with the load average when it started).
 */
import { execSync, fork, type ChildProcess } from "node:child_process";
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createNetServer, connect as netConnect, type Server as NetServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, connect as tlsConnect } from "node:tls";
import type { Duplex } from "node:stream";
import {
  Contract,
  JsonRpcProvider,
  MaxUint256,
  NonceManager,
  Wallet,
  type ContractTransactionResponse,
} from "ethers";
import type { Libp2p } from "libp2p";
import { marketAbi, providerRegistryAbi, tom3TokenAbi } from "../offchain/chain/abis";
import { attributeId } from "../offchain/chain/attributes";
import { keccak256Bytes, parseCanonicalManifest, parseManifest, requirementSpecs } from "../offchain/manifest";
import {
  allowAllAuthorizer,
  ChainAuthorizer,
  createManifestNode,
  createTransport,
  libp2pKeyFromEthereumKey,
  type InboundAnswer,
  type ManifestAuthorizer,
  type ManifestNode,
  type Encryption,
} from "../offchain/p2p";
import { loadLibp2p } from "../offchain/p2p/esm";
import { readManifestBytes } from "../offchain/p2p/payload";
import { chainProvider } from "../offchain/provider/daemon";
import { startLocalChain, type LocalChain } from "../test/harness/local-chain";
import type { ReceiverAuthorizer, ReceiverCommand, ReceiverEvent } from "./p2p-receiver";
import { SINK_PROTOCOL, sinkHandler } from "./p2p-sink";

const MiB = 1024 * 1024;
const PROVIDERS = 10;
const FANOUT_RUNS = 15;
/**
 * Fan-outs before timing: the first opens the connections; the others warm the code (JIT) of each receiver, as a
 * provider daemon that has been running a while is warm. In one process ten receivers share their code, so a
 * single warm-up already runs it ten times; in processes of their own each needs its own warm-up (with one, a
 * receiver spent ~22 ms of CPU per MiB instead of ~14).
 */
const FANOUT_WARMUP = 10;
/** Full-protocol runs of the 1 MiB workload: each parses it on all 10 receivers, in this one process. */
const FANOUT_PARSE_RUNS = 5;
/** 100 MiB; `TOM3_BENCH_BULK_MIB` makes it smaller for a quick look at the fan-out rows. */
const BULK_BYTES = Number(process.env.TOM3_BENCH_BULK_MIB ?? 100) * MiB;
const BULK_RUNS = 5;
const CHUNK = 64 * 1024;
const LOOPBACK = ["/ip4/127.0.0.1/tcp/0"];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Hello with padding in its environment: a valid manifest of `size` bytes or a little more. */
function paddedManifest(size: number): string {
  const hello = readFileSync(join(__dirname, "..", "examples", "hello.yaml"), "utf8");
  const lines: string[] = [];
  let grown = hello.length;
  for (let i = 0; grown < size; i++) {
    const value = "x".repeat(Math.min(60_000, size - grown + 32));
    const line = `      PAD_${String(i).padStart(4, "0")}: "${value}"`;
    lines.push(line);
    grown += line.length + 1;
  }
  return hello.replace("      GREETING: hello\n", `      GREETING: hello\n${lines.join("\n")}\n`);
}

// ------------------------------------------------------------------ raw byte transfers over libp2p

async function sendBytes(from: Libp2p, to: Libp2p | string, bytes: Uint8Array): Promise<void> {
  const { multiaddr } = await loadLibp2p();
  const target = typeof to === "string" ? to : String(to.getMultiaddrs()[0]);
  const stream = await from.dialProtocol(multiaddr.multiaddr(target) as never, SINK_PROTOCOL);
  for (let offset = 0; offset < bytes.length; offset += CHUNK) {
    if (!stream.send(bytes.subarray(offset, offset + CHUNK))) await stream.onDrain();
  }
  await stream.close();
  let reply = 0;
  for await (const chunk of stream) reply += chunk.byteLength;
  if (reply !== 8) throw new Error("no byte count back");
}

async function libp2pHosts(count: number, encryption: Encryption[]): Promise<Libp2p[]> {
  const hosts: Libp2p[] = [];
  for (let i = 0; i < count; i++) {
    const host = await createTransport({
      privateKey: await libp2pKeyFromEthereumKey(Wallet.createRandom().privateKey),
      listen: LOOPBACK,
      encryption,
    });
    await host.start();
    await host.handle(SINK_PROTOCOL, (stream) => sinkHandler(stream));
    hosts.push(host);
  }
  return hosts;
}

// ------------------------------------------------------------------ plain Node sockets

/** DER encoding, just enough for one self-signed certificate. */
const der = {
  tlv(tag: number, body: Buffer): Buffer {
    const n = body.length;
    const len = n < 128 ? Buffer.from([n]) : n < 256 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 255]);
    return Buffer.concat([Buffer.from([tag]), len, body]);
  },
  seq: (...items: Buffer[]) => der.tlv(0x30, Buffer.concat(items)),
  set: (...items: Buffer[]) => der.tlv(0x31, Buffer.concat(items)),
  int: (bytes: Buffer) => der.tlv(0x02, bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes),
  oid(dotted: string): Buffer {
    const [a, b, ...rest] = dotted.split(".").map(Number);
    const out = [a * 40 + b];
    for (const n of rest) {
      const groups = [n & 127];
      for (let v = n >> 7; v > 0; v >>= 7) groups.unshift((v & 127) | 128);
      out.push(...groups);
    }
    return der.tlv(0x06, Buffer.from(out));
  },
  utf8: (text: string) => der.tlv(0x0c, Buffer.from(text, "utf8")),
  utcTime: (date: Date) => der.tlv(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z")),
  bitString: (bytes: Buffer) => der.tlv(0x03, Buffer.concat([Buffer.from([0]), bytes])),
  explicit: (n: number, body: Buffer) => der.tlv(0xa0 + n, body),
};

/** A self-signed P-256 certificate for CN=localhost, valid for a day: PEM key and certificate. */
function selfSignedCertificate(): { key: string; cert: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecdsaSha256 = der.seq(der.oid("1.2.840.10045.4.3.2"));
  const name = der.seq(der.set(der.seq(der.oid("2.5.4.3"), der.utf8("localhost"))));
  const now = Date.now();
  const tbs = der.seq(
    der.explicit(0, der.int(Buffer.from([2]))),
    der.int(randomBytes(8)),
    ecdsaSha256,
    name,
    der.seq(der.utcTime(new Date(now - 60_000)), der.utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, privateKey as KeyObject);
  const certificate = der.seq(tbs, ecdsaSha256, der.bitString(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${certificate.toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`;
  createPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" })); // the key round-trips
  return { key: privateKey.export({ type: "pkcs8", format: "pem" }) as string, cert: pem.replace("\n\n", "\n") };
}

/** Send `bytes` over a fresh connection and wait until the server has counted them all. */
async function socketTransfer(connect: () => Duplex, bytes: Uint8Array): Promise<void> {
  const socket = connect();
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once(socket.constructor.name === "TLSSocket" ? "secureConnect" : "connect", () => resolve());
  });
  const done = new Promise<void>((resolve, reject) => {
    socket.once("data", () => resolve());
    socket.once("error", reject);
  });
  for (let offset = 0; offset < bytes.length; offset += CHUNK) {
    if (!socket.write(bytes.subarray(offset, offset + CHUNK))) await new Promise((r) => socket.once("drain", r));
  }
  await done;
  socket.destroy();
}

/** A server that counts `total` bytes per connection and answers with one byte. */
function countingServer<S extends NetServer>(server: S, total: number, event: "connection" | "secureConnection"): S {
  server.on(event, (socket: Duplex) => {
    let received = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= total) socket.end(Buffer.from([1]));
    });
    socket.on("error", () => undefined);
  });
  return server;
}

async function listen(server: NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

// ------------------------------------------------------------------ receivers in processes of their own

/** A provider node in a child process (bench/p2p-receiver.ts), driven over IPC. */
class ReceiverProcess {
  private readonly waiting: Array<(event: ReceiverEvent) => void> = [];
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    child.on("message", (event: ReceiverEvent) => this.waiting.shift()?.(event));
    child.once("exit", (code) => {
      this.exited = true;
      const failed: ReceiverEvent = { type: "failed", message: `the receiver process exited (${code})` };
      for (const resolve of this.waiting.splice(0)) resolve(failed);
    });
  }

  static spawn(): ReceiverProcess {
    return new ReceiverProcess(
      fork(join(__dirname, "p2p-receiver.ts"), [], {
        execArgv: ["-r", "ts-node/register/transpile-only"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      }),
    );
  }

  private request(command: ReceiverCommand): Promise<ReceiverEvent> {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error("the receiver process is gone"));
      this.waiting.push(resolve);
      this.child.send(command);
    });
  }

  /** Start a node with this key and authorizer (replacing any earlier one); resolves with its multiaddr. */
  async start(privateKey: string, authorizer: ReceiverAuthorizer): Promise<string> {
    const event = await this.request({ type: "start", privateKey, authorizer });
    if (event.type !== "ready") throw new Error(`receiver did not start: ${(event as { message?: string }).message}`);
    return event.multiaddr;
  }

  async mark(): Promise<void> {
    await this.request({ type: "mark" });
  }

  async report(): Promise<{ cpuMs: number; answers: InboundAnswer[] }> {
    const event = await this.request({ type: "report" });
    if (event.type !== "report") throw new Error("receiver gave no report");
    return event;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.send({ type: "stop" } satisfies ReceiverCommand);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

// ------------------------------------------------------------------ the runs

interface FanOutFigures {
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
  /**
   * Receivers in their own processes: CPU time per fan-out (mean over the timed runs), ms. `floorMs` is what CPU
   * alone puts under the fan-out on this machine: the CPU of this run's processes (sender, receivers, chain node)
   * spread perfectly over every core. `machineBusyMs` is all the machine did meanwhile, other work included.
   */
  cpu?: {
    senderMs: number;
    receiversMs: number;
    perReceiverMs: number;
    chainMs: number;
    floorMs: number;
    machineBusyMs: number;
  };
  /** Receivers in their own processes: each receiver's time from stream open to its answer, median, ms. */
  receiverAnswerMs?: number;
}

/** CPU time of a process so far (user + system), ms, from /proc (clock ticks of 10 ms); 0 where unreadable. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** Busy CPU time of the whole machine so far (every core, everything but idle and I/O wait), ms. */
function machineBusyMs(): number {
  try {
    const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]
      .split(/\s+/)
      .slice(1)
      .map(Number);
    void idle;
    void iowait;
    return (user + nice + system + irq + softirq + steal) * 10;
  } catch {
    return 0;
  }
}

/** The pid of the `hardhat node` this process started (a child whose command line runs `node --hostname`). */
function chainNodePid(): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.split(") ")[1].split(" ")[1]);
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (ppid === process.pid && command.includes("node") && command.includes("--hostname")) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/**
 * Push `bytes` to every target at once: `FANOUT_WARMUP` fan-outs (connections, JIT), then `runs` timed ones
 * (run numbers 1 - warmup … runs); with `receivers`, also the CPU time each process spent on the timed runs.
 */
async function fanOut(
  tenant: ManifestNode,
  targets: string[],
  deploymentId: bigint,
  bytes: Uint8Array,
  options: FanOutOptions & { encoding?: "canonical" | "yaml" } = {},
): Promise<FanOutFigures> {
  const encoding = options.encoding ?? "canonical";
  return timedFanOut(targets, async (target) => {
    const answer = await tenant.push(target, deploymentId, bytes, { encoding });
    if (answer.status !== "OK") throw new Error(`push refused: ${answer.code} ${answer.message}`);
  }, options);
}

interface FanOutOptions {
  runs?: number;
  warmup?: number;
  receivers?: ReceiverProcess[];
  chainPid?: number;
}

/** `send` to every target at once, timed as `fanOut` says. */
async function timedFanOut(
  targets: string[],
  send: (target: string) => Promise<void>,
  options: FanOutOptions = {},
): Promise<FanOutFigures> {
  const { runs = FANOUT_RUNS, warmup = FANOUT_WARMUP, receivers, chainPid } = options;
  const times: number[] = [];
  let before = { sender: process.cpuUsage(), chain: 0, machine: 0 };
  for (let run = 1 - warmup; run <= runs; run++) {
    if (run === 1) {
      await Promise.all((receivers ?? []).map((r) => r.mark()));
      before = { sender: process.cpuUsage(), chain: processCpuMs(chainPid), machine: machineBusyMs() };
    }
    // A receiver that already holds the version still reads, hashes, parses and checks it (it only skips storing).
    const start = process.hrtime.bigint();
    await Promise.all(targets.map(send));
    if (run > 0) times.push(ms(start));
  }
  const figures: FanOutFigures = {
    medianMs: round(median(times)),
    minMs: round(Math.min(...times)),
    maxMs: round(Math.max(...times)),
    runs: times.length,
  };
  if (receivers) {
    const { user, system } = process.cpuUsage(before.sender);
    const busyMs = (machineBusyMs() - before.machine) / runs;
    const chainMs = (processCpuMs(chainPid) - before.chain) / runs;
    const reports = await Promise.all(receivers.map((r) => r.report()));
    const senderMs = (user + system) / 1000 / runs;
    const receiversMs = reports.reduce((sum, r) => sum + r.cpuMs, 0) / runs;
    figures.cpu = {
      senderMs: round(senderMs),
      receiversMs: round(receiversMs),
      perReceiverMs: round(receiversMs / receivers.length),
      chainMs: round(chainMs),
      floorMs: round((senderMs + receiversMs + chainMs) / cpus().length),
      machineBusyMs: round(busyMs),
    };
    figures.receiverAnswerMs = round(median(reports.flatMap((r) => r.answers.map((a) => a.ms))));
  }
  return figures;
}

async function manifestNodes(keys: string[], authorizer: (i: number) => ManifestAuthorizer): Promise<ManifestNode[]> {
  const nodes: ManifestNode[] = [];
  for (const [i, privateKey] of keys.entries()) {
    const node = await createManifestNode({ privateKey, authorizer: authorizer(i), listen: LOOPBACK });
    await node.start();
    nodes.push(node);
  }
  return nodes;
}

/**
 * The chain side: on the local chain, the tenant (account 1) creates one deployment per version, and providers
 * (accounts 2..) each win one order of every deployment (charter Pending), as the market would leave them.
 */
async function chainWithCharters(
  chain: LocalChain,
  versions: string[],
  spec: ReturnType<typeof requirementSpecs>[number]["spec"],
): Promise<bigint[]> {
  const rpc = new JsonRpcProvider(chain.rpcUrl, chain.chainId, { staticNetwork: true });
  await rpc.send("hardhat_setLoggingEnabled", [false]);
  const wallet = (i: number) => new NonceManager(new Wallet(chain.accounts[i].privateKey, rpc));
  const [deployer, tenant] = [wallet(0), wallet(1)];
  const { token: tokenAddress, market: marketAddress, registry: registryAddress } = chain.deployment.contracts;
  const market = new Contract(marketAddress, marketAbi, tenant);
  const wait = async (tx: Promise<ContractTransactionResponse>) => (await tx).wait();
  await wait(new Contract(tokenAddress, tom3TokenAbi, deployer).transfer(await tenant.getAddress(), 10n ** 24n));
  await wait(new Contract(tokenAddress, tom3TokenAbi, tenant).approve(marketAddress, MaxUint256));
  await wait(market.deposit(10n ** 24n));
  const deploymentIds: bigint[] = [];
  for (const version of versions) {
    await wait(market.createDeployment(version));
    deploymentIds.push((await market.deploymentCount()) as bigint);
  }
  for (let i = 0; i < PROVIDERS; i++) {
    const provider = wallet(2 + i);
    await wait(
      new Contract(registryAddress, providerRegistryAbi, provider).register("https://provider.invalid", [
        attributeId("region=eu-west"),
      ]),
    );
    for (const deploymentId of deploymentIds) {
      await wait(market.createOrder(deploymentId, spec));
      const orderId = (await market.orderCount()) as bigint;
      await wait(
        (market.connect(provider) as Contract).placeBid(orderId, spec.maxPricePerSecond, spec.resources),
      );
      await wait(market.matchOrder(orderId));
    }
  }
  rpc.destroy();
  return deploymentIds;
}

/** Each step of one receiver's check of the canonical workload, timed alone (median of 20, warm), ms. */
function verificationSteps(canonicalBytes: Uint8Array, version: string) {
  const time = (step: () => unknown) => {
    const xs: number[] = [];
    for (let i = 0; i < 21; i++) {
      const start = process.hrtime.bigint();
      step();
      if (i > 0) xs.push(ms(start));
    }
    return round(median(xs), 2);
  };
  const text = new TextDecoder("utf-8", { fatal: true }).decode(canonicalBytes);
  return {
    keccakMs: time(() => keccak256Bytes(canonicalBytes)),
    utf8DecodeMs: time(() => new TextDecoder("utf-8", { fatal: true }).decode(canonicalBytes)),
    parseCanonicalMs: time(() => parseCanonicalManifest(text, { version })),
    wholeCheckMs: time(() => readManifestBytes(canonicalBytes, "canonical", { expected: version })),
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg().map((x) => round(x, 2));
  console.log(`load average at start: ${loadAtStart.join(" ")} (${cpus().length} cores)`);
  const manifest = paddedManifest(MiB);
  const bytes = new TextEncoder().encode(manifest);
  const parseStart = process.hrtime.bigint();
  const parsed = parseManifest(manifest);
  const parseMs = round(ms(parseStart));
  const { version } = parsed;
  const canonicalBytes = new TextEncoder().encode(parsed.canonical);
  const steps = verificationSteps(canonicalBytes, version);
  console.log(
    `workload: ${bytes.length} bytes (canonical ${canonicalBytes.length}), version ${version}, ` +
      `one YAML parse ${parseMs} ms; one receiver's check: keccak ${steps.keccakMs} ms, UTF-8 ${steps.utf8DecodeMs} ms, ` +
      `parse + rules + canonical check ${steps.parseCanonicalMs} ms, whole ${steps.wholeCheckMs} ms`,
  );

  // Receivers in processes of their own, forked now so they load while the chain starts.
  const receivers = Array.from({ length: PROVIDERS }, () => ReceiverProcess.spawn());
  const chainStarting = startLocalChain({ timeoutMs: 180_000 });
  chainStarting.catch(() => undefined);
  try {
    // The chain, set up before anything is timed (deploying keeps a core busy): a deployment of this workload and
    // one of hello, one charter per provider in each.
    const hello = readFileSync(join(__dirname, "..", "examples", "hello.yaml"));
    const helloVersion = parseManifest(hello.toString("utf8")).version;
    const chain = await chainStarting;
    const deploymentIds = await chainWithCharters(chain, [version, helloVersion], requirementSpecs(parsed)[0].spec);

    // (a1) the bytes alone, 1 MiB to 10 hosts over TLS, all in this process.
    const hosts = await libp2pHosts(PROVIDERS + 1, ["tls"]);
    const [sender, ...sinks] = hosts;
    const transportTimes: number[] = [];
    for (let run = 1 - FANOUT_WARMUP; run <= FANOUT_RUNS; run++) {
      const start = process.hrtime.bigint();
      await Promise.all(sinks.map((sink) => sendBytes(sender, sink, bytes)));
      if (run > 0) transportTimes.push(ms(start));
    }
    await Promise.all(hosts.map((h) => h.stop()));
    const fanOutTransport = {
      medianMs: round(median(transportTimes)),
      minMs: round(Math.min(...transportTimes)),
      maxMs: round(Math.max(...transportTimes)),
      runs: transportTimes.length,
    };
    console.log(`fan-out, transport only (in-process): median ${fanOutTransport.medianMs} ms`);

    const versions = new Map([
      [1n, version],
      [2n, helloVersion],
    ]);

    // (a2) allow-all, receivers in their own processes.
    const allowAllSpec: ReceiverAuthorizer = {
      kind: "allowAll",
      versions: [...versions].map(([id, v]) => [id.toString(), v]),
    };
    let addresses = await Promise.all(receivers.map((r) => r.start(Wallet.createRandom().privateKey, allowAllSpec)));
    let [tenant] = await manifestNodes([Wallet.createRandom().privateKey], () => allowAllAuthorizer({ versions }));
    const processesAllowAll = await fanOut(tenant, addresses, 1n, bytes, { receivers });
    const processesAllowAllHello = await fanOut(tenant, addresses, 2n, hello, { receivers });
    // The bytes alone to the same processes (their sink protocol, on the same connections): what the transport
    // costs before any protocol or check.
    const processesTransport = await timedFanOut(addresses, (target) => sendBytes(tenant.libp2p, target, bytes), {
      receivers,
    });
    await tenant.stop();
    console.log(
      `fan-out, receivers in own processes, allow-all: median ${processesAllowAll.medianMs} ms ` +
        `(CPU floor ${processesAllowAll.cpu?.floorMs} ms; hello.yaml ${processesAllowAllHello.medianMs} ms; ` +
        `transport only ${processesTransport.medianMs} ms, CPU floor ${processesTransport.cpu?.floorMs} ms)`,
    );

    // (a3) allow-all, receivers in this process.
    let nodes = await manifestNodes(
      Array.from({ length: PROVIDERS + 1 }, () => Wallet.createRandom().privateKey),
      () => allowAllAuthorizer({ versions }),
    );
    const nodeTargets = (ns: ManifestNode[]) => ns.slice(1).map((n) => n.multiaddrs[0]);
    const inProcessAllowAll = await fanOut(nodes[0], nodeTargets(nodes), 1n, bytes);
    const inProcessAllowAllYaml = await fanOut(nodes[0], nodeTargets(nodes), 1n, bytes, {
      runs: FANOUT_PARSE_RUNS,
      warmup: 1,
      encoding: "yaml",
    });
    const inProcessAllowAllHello = await fanOut(nodes[0], nodeTargets(nodes), 2n, hello);
    await Promise.all(nodes.map((n) => n.stop()));
    console.log(
      `fan-out, receivers in this process, allow-all: median ${inProcessAllowAll.medianMs} ms ` +
        `(as YAML ${inProcessAllowAllYaml.medianMs} ms; hello.yaml ${inProcessAllowAllHello.medianMs} ms)`,
    );

    // (a4) against the chain.
    const chainSpec: ReceiverAuthorizer = { kind: "chain", rpcUrl: chain.rpcUrl, deployment: chain.deployment };
    const rpc = chainProvider(chain.rpcUrl); // as the provider daemon reads the chain
    const chainAuthorizer = () => new ChainAuthorizer({ provider: rpc, deployment: chain.deployment });
    const providerKeys = Array.from({ length: PROVIDERS }, (_, i) => chain.accounts[2 + i].privateKey);
    const tenantKey = chain.accounts[1].privateKey;

    addresses = await Promise.all(receivers.map((r, i) => r.start(providerKeys[i], chainSpec)));
    [tenant] = await manifestNodes([tenantKey], chainAuthorizer);
    const chainPid = chainNodePid();
    const processesChain = await fanOut(tenant, addresses, deploymentIds[0], bytes, { receivers, chainPid });
    const processesChainHello = await fanOut(tenant, addresses, deploymentIds[1], hello, { receivers, chainPid });
    await tenant.stop();
    await Promise.all(receivers.map((r) => r.stop()));
    console.log(
      `fan-out, receivers in own processes, chain-authorised: median ${processesChain.medianMs} ms ` +
        `(CPU floor ${processesChain.cpu?.floorMs} ms; hello.yaml ${processesChainHello.medianMs} ms)`,
    );

    nodes = await manifestNodes([tenantKey, ...providerKeys], chainAuthorizer);
    const inProcessChain = await fanOut(nodes[0], nodeTargets(nodes), deploymentIds[0], bytes);
    const inProcessChainHello = await fanOut(nodes[0], nodeTargets(nodes), deploymentIds[1], hello);
    await Promise.all(nodes.map((n) => n.stop()));
    rpc.destroy();
    await chain.stop();
    console.log(
      `fan-out, receivers in this process, chain-authorised: median ${inProcessChain.medianMs} ms ` +
        `(hello.yaml ${inProcessChainHello.medianMs} ms)`,
    );

    // (b) 100 MiB over one stream. The variants take turns, run after run, so a burst of load from elsewhere on a
    // shared machine hits them alike rather than one of them.
    const bulk = randomBytes(BULK_BYTES);
    const [tlsA, tlsB] = await libp2pHosts(2, ["tls"]);
    const [noiseA, noiseB] = await libp2pHosts(2, ["noise"]);
    const { key, cert } = selfSignedCertificate();
    const tlsServer = countingServer(
      createTlsServer({ key, cert, minVersion: "TLSv1.3" }),
      BULK_BYTES,
      "secureConnection",
    );
    const tlsPort = await listen(tlsServer);
    const tcpServer = countingServer(createNetServer(), BULK_BYTES, "connection");
    const tcpPort = await listen(tcpServer);
    const variants: Record<string, () => Promise<void>> = {
      libp2pTls: () => sendBytes(tlsA, tlsB, bulk),
      libp2pNoise: () => sendBytes(noiseA, noiseB, bulk),
      nodeTls: () =>
        socketTransfer(
          () =>
            tlsConnect({ host: "127.0.0.1", port: tlsPort, ca: cert, servername: "localhost", minVersion: "TLSv1.3" }),
          bulk,
        ),
      nodeTcp: () => socketTransfer(() => netConnect({ host: "127.0.0.1", port: tcpPort }), bulk),
    };
    const bulkTimes: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    for (let run = 0; run <= BULK_RUNS; run++) {
      for (const [name, transfer] of Object.entries(variants)) {
        const start = process.hrtime.bigint();
        await transfer();
        if (run > 0) bulkTimes[name].push(ms(start)); // run 0 warms up
      }
    }
    await Promise.all([tlsA, tlsB, noiseA, noiseB].map((h) => h.stop()));
    tlsServer.close();
    tcpServer.close();
    const figure = (name: string) => {
      const medianMs = median(bulkTimes[name]);
      return { medianMs: round(medianMs), MiBps: round(BULK_BYTES / MiB / (medianMs / 1000), 0), runs: BULK_RUNS };
    };
    const [libp2pTls, libp2pNoise, nodeTls, nodeTcp] = ["libp2pTls", "libp2pNoise", "nodeTls", "nodeTcp"].map(figure);

    const ratio = round(nodeTls.medianMs / libp2pTls.medianMs, 2);
    const targets = { fanOutUnderMs: 100, libp2pToTlsRatioAtLeast: 0.5 };
    const spread = (f: { medianMs: number; minMs: number; maxMs: number }) => `${f.medianMs} ms`;
    const range = (f: { minMs: number; maxMs: number }) => `${f.minMs}–${f.maxMs}`;
    const cpuNote = (f: FanOutFigures) =>
      `${range(f)}; CPU ms/fan-out: sender ${f.cpu?.senderMs}, receivers ${f.cpu?.receiversMs} ` +
      `(${f.cpu?.perReceiverMs} each)${f.cpu?.chainMs ? `, chain ${f.cpu.chainMs}` : ""} → floor ${f.cpu?.floorMs} ms ` +
      `on ${cpus().length} cores; machine busy ${f.cpu?.machineBusyMs}`;
    const rows: Array<[string, string, string]> = [
      [
        "fan-out 1 MiB → 10, own processes, allow-all",
        spread(processesAllowAll),
        `${cpuNote(processesAllowAll)}; target < ${targets.fanOutUnderMs} ms`,
      ],
      ["fan-out 1 MiB → 10, own processes, chain-authorised", spread(processesChain), cpuNote(processesChain)],
      [
        "fan-out 1 MiB → 10, own processes, transport only (TLS+yamux)",
        spread(processesTransport),
        cpuNote(processesTransport),
      ],
      ["fan-out 1 MiB → 10, transport only (TLS+yamux), one process", spread(fanOutTransport), range(fanOutTransport)],
      ["fan-out 1 MiB → 10, one process, allow-all", spread(inProcessAllowAll), range(inProcessAllowAll)],
      ["fan-out 1 MiB → 10, one process, chain-authorised", spread(inProcessChain), range(inProcessChain)],
      [
        "fan-out 1 MiB → 10, one process, allow-all, sent as YAML",
        spread(inProcessAllowAllYaml),
        `${range(inProcessAllowAllYaml)} (YAML parse on every receiver)`,
      ],
      [`fan-out hello.yaml (${hello.length} B) → 10, own processes, allow-all`, spread(processesAllowAllHello), range(processesAllowAllHello)],
      [`fan-out hello.yaml (${hello.length} B) → 10, own processes, chain-authorised`, spread(processesChainHello), range(processesChainHello)],
      [`fan-out hello.yaml (${hello.length} B) → 10, one process, allow-all`, spread(inProcessAllowAllHello), range(inProcessAllowAllHello)],
      [`fan-out hello.yaml (${hello.length} B) → 10, one process, chain-authorised`, spread(inProcessChainHello), range(inProcessChainHello)],
      [`${BULK_BYTES / MiB} MiB, libp2p TLS 1.3 + yamux`, `${libp2pTls.medianMs} ms`, `${libp2pTls.MiBps} MiB/s`],
      [`${BULK_BYTES / MiB} MiB, libp2p Noise + yamux`, `${libp2pNoise.medianMs} ms`, `${libp2pNoise.MiBps} MiB/s`],
      [`${BULK_BYTES / MiB} MiB, Node tls socket (TLS 1.3)`, `${nodeTls.medianMs} ms`, `${nodeTls.MiBps} MiB/s`],
      [`${BULK_BYTES / MiB} MiB, Node net socket (plain TCP)`, `${nodeTcp.medianMs} ms`, `${nodeTcp.MiBps} MiB/s`],
      ["throughput ratio libp2p TLS / Node TLS", `${ratio}`, `target >= ${targets.libp2pToTlsRatioAtLeast}`],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log("");
    console.log(`${"".padEnd(width)}  ${"median".padStart(10)}  min–max, notes`);
    for (const [name, value, note] of rows) console.log(`${name.padEnd(width)}  ${value.padStart(10)}  ${note}`);

    let commit = "unknown";
    try {
      commit = execSync("git rev-parse HEAD", { encoding: "utf8" }).trim();
    } catch {
      // not a git checkout
    }
    const results = {
      date: new Date().toISOString(),
      commit,
      node: process.version,
      cpus: cpus().length,
      loadAverage: { atStart: loadAtStart, atEnd: loadavg().map((x) => round(x, 2)) },
      workload: {
        bytes: bytes.length,
        canonicalBytes: canonicalBytes.length,
        version,
        parseMs,
        receiverCheck: steps,
      },
      fanOut: {
        providers: PROVIDERS,
        ownProcesses: {
          transportOnly: processesTransport,
          allowAll: processesAllowAll,
          chainAuthorised: processesChain,
          hello: { bytes: hello.length, allowAll: processesAllowAllHello, chainAuthorised: processesChainHello },
        },
        oneProcess: {
          transportOnly: fanOutTransport,
          allowAll: inProcessAllowAll,
          allowAllYaml: inProcessAllowAllYaml,
          chainAuthorised: inProcessChain,
          hello: { bytes: hello.length, allowAll: inProcessAllowAllHello, chainAuthorised: inProcessChainHello },
        },
        chain: "hardhat node child process (test/harness/local-chain.ts), automine, read over JSON-RPC",
      },
      bulk: { bytes: BULK_BYTES, libp2pTls, libp2pNoise, nodeTls, nodeTcp },
      ratio,
      targets,
      met: {
        fanOutOwnProcessesAllowAll: processesAllowAll.medianMs < targets.fanOutUnderMs,
        fanOutOwnProcessesChainAuthorised: processesChain.medianMs < targets.fanOutUnderMs,
        fanOutOwnProcessesTransport: processesTransport.medianMs < targets.fanOutUnderMs,
        fanOutOneProcessChainAuthorised: inProcessChain.medianMs < targets.fanOutUnderMs,
        fanOutTransport: fanOutTransport.medianMs < targets.fanOutUnderMs,
        ratio: ratio >= targets.libp2pToTlsRatioAtLeast,
      },
    };
    const dir = join(__dirname, "results");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "p2p.json"), JSON.stringify(results, null, 2) + "\n");
    console.log(`\nwritten: bench/results/p2p.json`);
  } finally {
    await Promise.all(receivers.map((r) => r.stop()));
    await chainStarting.then((c) => c.stop()).catch(() => undefined); // stop() is idempotent
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
