/**
 * Peer-to-peer delivery benchmark (a script, not a test): `npx hardhat run bench/p2p.ts`.
 *
 * Everything runs in this one process on loopback, so sender and receivers share the CPU (2 cores here); figures
 * are an upper bound on what separate machines would see for CPU, and a lower bound for network time.
 *
 * (a) Fan-out of a 1 MiB workload from one tenant node to 10 provider nodes, median of several runs on warm
 *     connections: the bytes alone over the transport (TLS + yamux), the full protocol with an allow-all
 *     authorizer (framing, hash check and parse on every receiver), and the full protocol authorised against the
 *     in-process Hardhat chain (real deployment, 10 charters). The manifest travels in its canonical form (RFC 8785
 *     JSON): each receiver hashes the bytes (native keccak, ~5 ms/MiB) and checks them against the version before
 *     it parses JSON (~10 ms/MiB with every rule). For comparison, the same fan-out sending the YAML as written
 *     (`encoding: "yaml"`, what receivers still accept): each receiver then parses 1 MiB of YAML, a few hundred ms of
 *     CPU, one after the other on the same cores here. The same runs with examples/hello.yaml show the protocol's
 *     own overhead.
 * (b) 100 MiB over one libp2p stream (TLS 1.3, yamux; Noise for reference) against a plain Node `tls` socket
 *     (TLS 1.3, self-signed P-256 certificate made at run time) and plain TCP.
 *
 * Prints a table and writes bench/results/p2p.json.
 */
import { execSync } from "node:child_process";
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer as createNetServer, connect as netConnect, type Server as NetServer } from "node:net";
import { join } from "node:path";
import { createServer as createTlsServer, connect as tlsConnect } from "node:tls";
import type { Duplex } from "node:stream";
import hre from "hardhat";
import { HDNodeWallet, Wallet } from "ethers";
import type { Libp2p } from "libp2p";
import type { Stream } from "@libp2p/interface";
import { attributeId } from "../offchain/chain/attributes";
import { parseManifest, requirementSpecs } from "../offchain/manifest";
import {
  allowAllAuthorizer,
  ChainAuthorizer,
  createManifestNode,
  createTransport,
  libp2pKeyFromEthereumKey,
  type ManifestAuthorizer,
  type ManifestNode,
  type Encryption,
} from "../offchain/p2p";
import { loadLibp2p } from "../offchain/p2p/esm";
import { readManifestBytes } from "../offchain/p2p/payload";
import { deployTom3 } from "../test/fixtures/deploy";

const MiB = 1024 * 1024;
const PROVIDERS = 10;
const FANOUT_RUNS = 9;
/** Full-protocol runs of the 1 MiB workload: each parses it on all 10 receivers, in this one process. */
const FANOUT_PARSE_RUNS = 5;
const BULK_BYTES = 100 * MiB;
const BULK_RUNS = 5;
const CHUNK = 64 * 1024;
const SINK_PROTOCOL = "/tom3/bench/sink/1.0.0";
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

function hardhatKey(i: number): string {
  return HDNodeWallet.fromPhrase(
    "test test test test test test test test test test test junk",
    undefined,
    `m/44'/60'/0'/0/${i}`,
  ).privateKey;
}

// ------------------------------------------------------------------ raw byte transfers over libp2p

/** Receive everything until the sender closes, then answer with the byte count. */
async function sinkHandler(stream: Stream): Promise<void> {
  let received = 0;
  for await (const chunk of stream) received += chunk.byteLength;
  const reply = new Uint8Array(8);
  new DataView(reply.buffer).setBigUint64(0, BigInt(received));
  stream.send(reply);
  await stream.close();
}

async function sendBytes(from: Libp2p, to: Libp2p, bytes: Uint8Array): Promise<void> {
  const { multiaddr } = await loadLibp2p();
  const stream = await from.dialProtocol(multiaddr.multiaddr(String(to.getMultiaddrs()[0])) as never, SINK_PROTOCOL);
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

// ------------------------------------------------------------------ the runs

async function fanOut(
  tenant: ManifestNode,
  providers: ManifestNode[],
  deploymentId: bigint,
  bytes: Uint8Array,
  runs = FANOUT_RUNS,
  encoding: "canonical" | "yaml" = "canonical",
) {
  const times: number[] = [];
  for (let run = 0; run <= runs; run++) {
    // A receiver that already holds the version still reads, parses and checks it: every run does the full work.
    const start = process.hrtime.bigint();
    const answers = await Promise.all(
      providers.map((p) => tenant.push(p.multiaddrs[0], deploymentId, bytes, { encoding })),
    );
    const elapsed = ms(start);
    const failed = answers.find((a) => a.status !== "OK");
    if (failed) throw new Error(`push refused: ${failed.code} ${failed.message}`);
    if (run > 0) times.push(elapsed); // run 0 opens the connections
  }
  return {
    medianMs: round(median(times)),
    minMs: round(Math.min(...times)),
    maxMs: round(Math.max(...times)),
    runs: times.length,
  };
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

async function main(): Promise<void> {
  const manifest = paddedManifest(MiB);
  const bytes = new TextEncoder().encode(manifest);
  const parseStart = process.hrtime.bigint();
  const { version } = parseManifest(manifest);
  const parseMs = round(ms(parseStart));
  const canonicalBytes = new TextEncoder().encode(parseManifest(manifest).canonical);
  const canonicalStart = process.hrtime.bigint();
  readManifestBytes(canonicalBytes, "canonical", { expected: version });
  const canonicalParseMs = round(ms(canonicalStart));
  console.log(
    `workload: ${bytes.length} bytes (canonical ${canonicalBytes.length}), version ${version}, ` +
      `one YAML parse ${parseMs} ms, one canonical hash check + parse ${canonicalParseMs} ms`,
  );

  // (a1) the bytes alone, 1 MiB to 10 hosts over TLS.
  const hosts = await libp2pHosts(PROVIDERS + 1, ["tls"]);
  const [sender, ...sinks] = hosts;
  const transportTimes: number[] = [];
  for (let run = 0; run <= FANOUT_RUNS; run++) {
    const start = process.hrtime.bigint();
    await Promise.all(sinks.map((sink) => sendBytes(sender, sink, bytes)));
    if (run > 0) transportTimes.push(ms(start));
  }
  await Promise.all(hosts.map((h) => h.stop()));
  const fanOutTransport = {
    medianMs: round(median(transportTimes)),
    minMs: round(Math.min(...transportTimes)),
    runs: transportTimes.length,
  };
  console.log(`fan-out, transport only: median ${fanOutTransport.medianMs} ms`);

  // (a2) the protocol, allow-all authorizer.
  const hello = readFileSync(join(__dirname, "..", "examples", "hello.yaml"));
  const helloVersion = parseManifest(hello.toString("utf8")).version;
  const allowAll = allowAllAuthorizer({
    versions: new Map([
      [1n, version],
      [2n, helloVersion],
    ]),
  });
  let nodes = await manifestNodes(
    Array.from({ length: PROVIDERS + 1 }, () => Wallet.createRandom().privateKey),
    () => allowAll,
  );
  const fanOutAllowAll = await fanOut(nodes[0], nodes.slice(1), 1n, bytes);
  const fanOutAllowAllYaml = await fanOut(nodes[0], nodes.slice(1), 1n, bytes, FANOUT_PARSE_RUNS, "yaml");
  const fanOutAllowAllHello = await fanOut(nodes[0], nodes.slice(1), 2n, hello);
  await Promise.all(nodes.map((n) => n.stop()));
  console.log(
    `fan-out, protocol, allow-all: median ${fanOutAllowAll.medianMs} ms (as YAML ${fanOutAllowAllYaml.medianMs} ms; ` +
      `hello.yaml ${fanOutAllowAllHello.medianMs} ms)`,
  );

  // (a3) the protocol against the chain: a deployment of this workload and one charter per provider.
  const signers = await hre.ethers.getSigners();
  const [deployer, tenantSigner] = signers;
  const providerSigners = signers.slice(2, 2 + PROVIDERS);
  const suite = await deployTom3();
  const marketAddress = await suite.market.getAddress();
  await suite.token.connect(deployer).transfer(tenantSigner, 10n ** 24n);
  await suite.token.connect(tenantSigner).approve(marketAddress, hre.ethers.MaxUint256);
  await suite.market.connect(tenantSigner).deposit(10n ** 24n);
  const deploymentIds: bigint[] = [];
  for (const v of [version, helloVersion]) {
    await suite.market.connect(tenantSigner).createDeployment(v);
    deploymentIds.push(await suite.market.deploymentCount());
  }
  const { spec } = requirementSpecs(parseManifest(manifest))[0];
  for (const provider of providerSigners) {
    await suite.registry.connect(provider).register("https://provider.invalid", [attributeId("region=eu-west")]);
    for (const deploymentId of deploymentIds) {
      await suite.market.connect(tenantSigner).createOrder(deploymentId, spec);
      const orderId = await suite.market.orderCount();
      await suite.market.connect(provider).placeBid(orderId, spec.maxPricePerSecond, spec.resources);
      await suite.market.connect(tenantSigner).matchOrder(orderId);
    }
  }
  const network = await hre.ethers.provider.getNetwork();
  const record = {
    chainId: Number(network.chainId),
    deployedAtBlock: 0,
    contracts: {
      token: await suite.token.getAddress(),
      registry: await suite.registry.getAddress(),
      certificates: await suite.certificates.getAddress(),
      market: marketAddress,
      usage: await suite.usage.getAddress(),
    },
  };
  nodes = await manifestNodes(
    [1, ...providerSigners.map((_, i) => i + 2)].map(hardhatKey),
    () => new ChainAuthorizer({ provider: hre.ethers.provider, deployment: record }),
  );
  const fanOutChain = await fanOut(nodes[0], nodes.slice(1), deploymentIds[0], bytes);
  const fanOutChainHello = await fanOut(nodes[0], nodes.slice(1), deploymentIds[1], hello);
  await Promise.all(nodes.map((n) => n.stop()));
  console.log(
    `fan-out, protocol, chain-authorised: median ${fanOutChain.medianMs} ms (hello.yaml ${fanOutChainHello.medianMs} ms)`,
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
  const rows: Array<[string, string, string]> = [
    ["fan-out 1 MiB → 10, transport only (TLS+yamux)", `${fanOutTransport.medianMs} ms`, "median"],
    [
      "fan-out 1 MiB → 10, protocol, allow-all authorizer",
      `${fanOutAllowAll.medianMs} ms`,
      `median (canonical JSON, hash then parse; target < ${targets.fanOutUnderMs} ms)`,
    ],
    ["fan-out 1 MiB → 10, protocol, chain-authorised", `${fanOutChain.medianMs} ms`, "median (Hardhat in-process)"],
    [
      "fan-out 1 MiB → 10, allow-all, sent as YAML",
      `${fanOutAllowAllYaml.medianMs} ms`,
      "median (YAML parse on every receiver)",
    ],
    [`fan-out hello.yaml (${hello.length} B) → 10, allow-all`, `${fanOutAllowAllHello.medianMs} ms`, "median"],
    [`fan-out hello.yaml (${hello.length} B) → 10, chain-authorised`, `${fanOutChainHello.medianMs} ms`, "median"],
    ["100 MiB, libp2p TLS 1.3 + yamux", `${libp2pTls.medianMs} ms`, `${libp2pTls.MiBps} MiB/s`],
    ["100 MiB, libp2p Noise + yamux", `${libp2pNoise.medianMs} ms`, `${libp2pNoise.MiBps} MiB/s`],
    ["100 MiB, Node tls socket (TLS 1.3)", `${nodeTls.medianMs} ms`, `${nodeTls.MiBps} MiB/s`],
    ["100 MiB, Node net socket (plain TCP)", `${nodeTcp.medianMs} ms`, `${nodeTcp.MiBps} MiB/s`],
    ["throughput ratio libp2p TLS / Node TLS", `${ratio}`, `target >= ${targets.libp2pToTlsRatioAtLeast}`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log("");
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
    cpus: (await import("node:os")).cpus().length,
    workload: { bytes: bytes.length, canonicalBytes: canonicalBytes.length, version, parseMs, canonicalParseMs },
    fanOut: {
      providers: PROVIDERS,
      transportOnly: fanOutTransport,
      allowAll: fanOutAllowAll,
      allowAllYaml: fanOutAllowAllYaml,
      chainAuthorised: fanOutChain,
      hello: { bytes: hello.length, allowAll: fanOutAllowAllHello, chainAuthorised: fanOutChainHello },
    },
    bulk: { bytes: BULK_BYTES, libp2pTls, libp2pNoise, nodeTls, nodeTcp },
    ratio,
    targets,
    met: {
      fanOutTransport: fanOutTransport.medianMs < targets.fanOutUnderMs,
      fanOutProtocol: fanOutAllowAll.medianMs < targets.fanOutUnderMs,
      fanOutChainAuthorised: fanOutChain.medianMs < targets.fanOutUnderMs,
      fanOutHelloChainAuthorised: fanOutChainHello.medianMs < targets.fanOutUnderMs,
      ratio: ratio >= targets.libp2pToTlsRatioAtLeast,
    },
  };
  const dir = join(__dirname, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "p2p.json"), JSON.stringify(results, null, 2) + "\n");
  console.log(`\nwritten: bench/results/p2p.json`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
