/**
 * The parts of the peer-to-peer layer that do not need the chain: identity binding, the handshake gate, secure
 * channel fallback, stream limits, shutdown, persistence and endpoint parsing. Nodes authorise with
 * `allowAllAuthorizer`; the chain-backed rules are in manifest-node.test.ts.
 */
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeAddress, Wallet } from "ethers";
import {
  addressOfPeer,
  allowAllAuthorizer,
  createManifestNode,
  createTransport,
  libp2pEntries,
  libp2pKeyFromEthereumKey,
  MANIFEST_PROTOCOL,
  ManifestStore,
  type ManifestNode,
  type ManifestNodeOptions,
} from "../../../offchain/p2p";
import { importEsm, loadLibp2p } from "../../../offchain/p2p/esm";
import { readManifestBytes, utf8Text } from "../../../offchain/p2p/payload";
import { encodeJson, sendFrame } from "../../../offchain/p2p/protocol";
import { HELLO, HELLO_BYTES, HELLO_VERSION, OTHER_VERSION } from "./helpers";

describe("p2p: transport, limits and store", function () {
  const started: ManifestNode[] = [];
  const authorizer = allowAllAuthorizer({ versions: new Map([[1n, HELLO_VERSION]]) });

  async function node(options: Partial<ManifestNodeOptions> = {}): Promise<ManifestNode> {
    const n = await createManifestNode({
      privateKey: Wallet.createRandom().privateKey,
      authorizer,
      listen: ["/ip4/127.0.0.1/tcp/0"],
      ...options,
    });
    await n.start();
    started.push(n);
    return n;
  }

  afterEach(async function () {
    await Promise.all(started.splice(0).map((n) => n.stop()));
  });

  /** Open a push and send only its header: a transfer that stays in progress. */
  async function stalledPush(from: ManifestNode, to: ManifestNode) {
    const { lp, multiaddr } = await loadLibp2p();
    const stream = await from.libp2p.dialProtocol(multiaddr.multiaddr(to.multiaddrs[0]) as never, MANIFEST_PROTOCOL);
    const header = { type: "push", deploymentId: "1", version: HELLO_VERSION, size: HELLO_BYTES.length };
    await sendFrame(stream, lp, encodeJson(header), AbortSignal.timeout(2_000));
    return stream;
  }

  it("binds the peer id to the Ethereum address of the node's key", async function () {
    const wallet = Wallet.createRandom();
    const n = await node({ privateKey: wallet.privateKey });
    expect(n.address).to.equal(wallet.address);
    expect(addressOfPeer(n.libp2p.peerId)).to.equal(computeAddress(wallet.signingKey.publicKey));
    expect(n.peerId).to.match(/^16Uiu2/); // secp256k1 peer ids
    // Remembered per key, never mixed up between keys.
    const { peerIdFromPrivateKey } = await importEsm<typeof import("@libp2p/peer-id")>("@libp2p/peer-id");
    const others = Array.from({ length: 20 }, () => Wallet.createRandom());
    for (const other of [...others, ...others]) {
      const peerId = peerIdFromPrivateKey(await libp2pKeyFromEthereumKey(other.privateKey));
      if (addressOfPeer(peerId) !== other.address) expect.fail(`wrong address for ${other.address}`);
    }
    expect(addressOfPeer(n.libp2p.peerId)).to.equal(wallet.address);
  });

  it("refuses, at the handshake, a peer whose key is not an Ethereum key", async function () {
    const target = await node();
    const { keys, multiaddr } = await loadLibp2p();
    const ed25519 = await createTransport({
      privateKey: (await keys.generateKeyPair("Ed25519")) as never,
      listen: [],
    });
    await ed25519.start();
    try {
      const dialled = await ed25519
        .dialProtocol(multiaddr.multiaddr(target.multiaddrs[0]) as never, MANIFEST_PROTOCOL, {
          signal: AbortSignal.timeout(3_000),
        })
        .then(
          () => "opened",
          () => "refused",
        );
      expect(dialled).to.equal("refused");
      // The control: the same host with an Ethereum key gets through.
      const secp = await createTransport({
        privateKey: await libp2pKeyFromEthereumKey(Wallet.createRandom().privateKey),
        listen: [],
      });
      await secp.start();
      const stream = await secp.dialProtocol(multiaddr.multiaddr(target.multiaddrs[0]) as never, MANIFEST_PROTOCOL);
      stream.abort(new Error("done"));
      await secp.stop();
    } finally {
      await ed25519.stop();
    }
  });

  it("falls back to Noise when the peer offers no TLS", async function () {
    const received: string[] = [];
    const target = await node({ onManifest: (m) => void received.push(m.version) });
    const noiseOnly = await node({ encryption: ["noise"], listen: [] });
    expect(await noiseOnly.push(target.multiaddrs[0], 1n, HELLO_BYTES)).to.include({ status: "OK" });
    expect(received).to.deep.equal([HELLO_VERSION]);
    const connection = target.libp2p.getConnections()[0];
    expect(connection.encryption).to.equal("/noise");
  });

  it("prefers TLS 1.3", async function () {
    const target = await node();
    const sender = await node({ listen: [] });
    await sender.push(target.multiaddrs[0], 1n, HELLO_BYTES);
    expect(target.libp2p.getConnections()[0].encryption).to.equal("/tls/1.0.0");
  });

  it("answers BUSY beyond the node's inbound transfer limit", async function () {
    const target = await node({ limits: { maxInboundStreams: 1, transferTimeoutMs: 5_000 } });
    const sender = await node({ listen: [] });
    const stalled = await stalledPush(sender, target);
    await new Promise((r) => setTimeout(r, 100));
    expect(await sender.push(target.multiaddrs[0], 1n, HELLO_BYTES)).to.include({ status: "REFUSED", code: "BUSY" });
    stalled.abort(new Error("done"));
  });

  it("ends transfers in flight on stop()", async function () {
    const target = await node({ limits: { transferTimeoutMs: 30_000 } });
    const sender = await node({ listen: [] });
    await stalledPush(sender, target);
    const before = Date.now();
    await target.stop();
    expect(Date.now() - before).to.be.below(5_000);
    expect(target.status).to.equal("stopped");
  });

  it("refuses a push while stopped", async function () {
    const n = await node();
    await n.stop();
    const error = await n.push(n.multiaddrs[0] ?? "/ip4/127.0.0.1/tcp/1", 1n, HELLO_BYTES).catch((e: Error) => e);
    expect(error).to.be.instanceOf(Error);
  });

  it("checks a manifest before pushing it (INVALID_MANIFEST, TOO_LARGE)", async function () {
    const sender = await node({ listen: [], limits: { maxManifestBytes: 100 } });
    const invalid = await sender
      .push("/ip4/127.0.0.1/tcp/1", 1n, new TextEncoder().encode("version: 2"))
      .catch((e) => e);
    expect(invalid.code).to.equal("INVALID_MANIFEST");
    const large = await sender.push("/ip4/127.0.0.1/tcp/1", 1n, HELLO_BYTES).catch((e) => e);
    expect(large.code).to.equal("TOO_LARGE");
  });

  describe("ManifestStore", function () {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "tom3-store-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("persists crash-safely and reads back only content that hashes to its name", async function () {
      const { parseManifest } = await import("../../../offchain/manifest");
      const store = new ManifestStore(dir);
      const manifest = parseManifest(HELLO);
      store.put({ deploymentId: 3n, version: HELLO_VERSION, bytes: HELLO_BYTES, manifest, from: "", storedAt: 1 });
      // Kept in its canonical form, whatever it arrived as; no temporary file left.
      expect(readdirSync(join(dir, "3"))).to.deep.equal([`${HELLO_VERSION}.json`]);
      expect(readFileSync(join(dir, "3", `${HELLO_VERSION}.json`), "utf8")).to.equal(manifest.canonical);
      // A file whose content is not its version: never served.
      writeFileSync(join(dir, "3", `${OTHER_VERSION}.yaml`), HELLO);
      writeFileSync(join(dir, "3", `${OTHER_VERSION}.json`), manifest.canonical);
      writeFileSync(join(dir, "3", "notes.txt"), "ignored");
      // What an earlier version of the store wrote (the YAML as received) is still read.
      mkdirSync(join(dir, "4"));
      writeFileSync(join(dir, "4", `${HELLO_VERSION}.yaml`), HELLO);
      const again = new ManifestStore(dir);
      expect(again.load()).to.equal(2);
      expect(again.has(3n, HELLO_VERSION)).to.equal(true);
      expect(new TextDecoder().decode(again.get(4n, HELLO_VERSION)!.bytes)).to.equal(manifest.canonical);
      expect(again.has(3n, OTHER_VERSION)).to.equal(false);
      expect(again.versions(3n).map((m) => m.version)).to.deep.equal([HELLO_VERSION]);
      expect(() =>
        store.put({ deploymentId: 3n, version: OTHER_VERSION, bytes: HELLO_BYTES, manifest, from: "", storedAt: 1 }),
      ).to.throw(/verified/);
    });
  });

  it("reads a payload's text like a strict UTF-8 decoder, ASCII or not, and refuses bytes that are not UTF-8", function () {
    const decode = (bytes: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    for (const text of ["", HELLO, '{"env":{"A":"é😀 ü"}}', "\u007f\u0000 ascii edge"]) {
      const bytes = new TextEncoder().encode(text);
      expect(utf8Text(bytes)).to.equal(decode(bytes));
      const offset = new Uint8Array(bytes.length + 3);
      offset.set(bytes, 3);
      expect(utf8Text(offset.subarray(3))).to.equal(text);
    }
    for (const bad of [[0xff], [0x41, 0xc3], [0xed, 0xa0, 0x80] /* an encoded surrogate */]) {
      expect(() => utf8Text(Uint8Array.from(bad))).to.throw();
    }
    const latin1 = Uint8Array.from([0x7b, 0xe9, 0x7d]); // "{é}" in Latin-1: not UTF-8
    expect(() => readManifestBytes(latin1, "canonical")).to.throw(/not UTF-8/);
  });

  it("reads libp2p entries from a registry endpoint", function () {
    const peer = "16Uiu2HAmNhZ5p4gsf7d7mPR2d6XYRvNTVs2X4sPo4W5f3KqfNYrS";
    expect(
      libp2pEntries(
        `https://p.example  /ip4/203.0.113.7/tcp/4001/p2p/${peer}\n/dns4/p.example/tcp/4001 /ip4/1.2.3.4/tcp/1/p2p/${peer}`,
      ),
    ).to.deep.equal([`/ip4/203.0.113.7/tcp/4001/p2p/${peer}`, `/ip4/1.2.3.4/tcp/1/p2p/${peer}`]);
    expect(libp2pEntries("")).to.deep.equal([]);
  });

  it("derives the libp2p key from the Ethereum key", async function () {
    const wallet = Wallet.createRandom();
    const key = await libp2pKeyFromEthereumKey(wallet.privateKey);
    expect(key.type).to.equal("secp256k1");
    expect(computeAddress("0x" + Buffer.from(key.publicKey.raw).toString("hex"))).to.equal(wallet.address);
    await libp2pKeyFromEthereumKey("0x1234").then(
      () => expect.fail("accepted a short key"),
      (e: Error) => expect(e).to.be.instanceOf(TypeError),
    );
  });
});
