/**
 * Manifest delivery over real libp2p sockets on loopback, authorised against the in-process Hardhat chain.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  createSessionKey,
  MANIFEST_PROTOCOL,
  ManifestProtocolError,
  signSessionKey,
  type ManifestNode,
  type VerifiedManifest,
} from "../../../offchain/p2p";
import { loadLibp2p } from "../../../offchain/p2p/esm";
import { encodeJson, FrameReader, parseResponse, sendFrame } from "../../../offchain/p2p/protocol";
import { parseManifest } from "../../../offchain/manifest";
import {
  HELLO,
  HELLO_BYTES,
  HELLO_CANONICAL,
  HELLO_VERSION,
  marketWithCharters,
  Nodes,
  OTHER,
  OTHER_BYTES,
  OTHER_VERSION,
  type P2pFixture,
} from "./helpers";

describe("p2p: manifest delivery", function () {
  let fx: P2pFixture;
  const nodes = new Nodes(() => fx);

  beforeEach(async function () {
    fx = await loadFixture(marketWithCharters);
  });

  afterEach(async function () {
    await nodes.stopAll();
  });

  /** A provider node that records what it is handed. */
  async function provider(role: "providerA" | "providerB" | "providerC", limits = {}) {
    const received: VerifiedManifest[] = [];
    const node = await nodes.start(role, { onManifest: (m) => void received.push(m), limits });
    return { node, received };
  }

  /** Push raw frames (a header, then chunks with pauses) and return the receiver's answer. */
  async function rawPush(from: ManifestNode, to: ManifestNode, header: unknown, chunks: Uint8Array[], pauseMs = 0) {
    const { lp, multiaddr } = await loadLibp2p();
    const stream = await from.libp2p.dialProtocol(multiaddr.multiaddr(to.multiaddrs[0]) as never, MANIFEST_PROTOCOL);
    const signal = AbortSignal.timeout(5_000);
    const reader = new FrameReader(stream, lp, 1 << 20);
    const answer = reader.next(signal).then((frame) => parseResponse(frame!));
    answer.catch(() => undefined);
    try {
      await sendFrame(stream, lp, encodeJson(header), signal);
      for (const chunk of chunks) {
        if (pauseMs > 0) await Promise.race([new Promise((r) => setTimeout(r, pauseMs)), answer]);
        await sendFrame(stream, lp, chunk, signal);
      }
    } catch {
      // The receiver may reset the stream once it has answered.
    }
    const result = await answer;
    stream.abort(new Error("done"));
    return result;
  }

  describe("push", function () {
    it("delivers an authorised push from the tenant; the provider gets the parsed manifest", async function () {
      const { node: a, received } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const answer = await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      expect(answer).to.include({ status: "OK", code: "OK" });
      expect(received).to.have.length(1);
      expect(received[0].deploymentId).to.equal(fx.deploymentId);
      expect(received[0].version).to.equal(HELLO_VERSION);
      expect(received[0].from).to.equal(fx.signers.tenant.address);
      expect(received[0].manifest.manifest.services.web.image).to.equal("tom3/hello:local");
      // Sent and kept in its canonical form, whose hash the receiver checked before parsing.
      expect(Buffer.from(received[0].bytes).toString("utf8")).to.equal(HELLO_CANONICAL);
      expect(a.store.has(fx.deploymentId, HELLO_VERSION)).to.equal(true);
      // Binds identity to address: the peer id is the tenant's Ethereum key.
      expect(tenant.address).to.equal(fx.signers.tenant.address);
    });

    it("refuses a stranger (STRANGER) and keeps nothing", async function () {
      const { node: a, received } = await provider("providerA");
      const stranger = await nodes.start("stranger", { listen: [] });
      const answer = await stranger.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      expect(answer).to.include({ status: "REFUSED", code: "STRANGER" });
      expect(received).to.have.length(0);
      expect(a.store.has(fx.deploymentId, HELLO_VERSION)).to.equal(false);
    });

    it("refuses a manifest whose version is not the deployment's (VERSION_MISMATCH)", async function () {
      const { node: a, received } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const answer = await tenant.push(a.multiaddrs[0], fx.deploymentId, OTHER_BYTES);
      expect(answer).to.include({ status: "REFUSED", code: "VERSION_MISMATCH" });
      expect(received).to.have.length(0);
    });

    it("checks the bytes themselves, not the announced version (VERSION_MISMATCH)", async function () {
      const { node: a, received } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: OTHER_BYTES.length,
      };
      const answer = await rawPush(tenant, a, header, [OTHER_BYTES]);
      expect(answer).to.include({ status: "REFUSED", code: "VERSION_MISMATCH" });
      expect(received).to.have.length(0);
    });

    it("checks canonical bytes by their hash, before parsing (VERSION_MISMATCH)", async function () {
      const { node: a, received } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const other = new TextEncoder().encode(parseManifest(OTHER).canonical);
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: other.length,
        encoding: "canonical",
      };
      const answer = await rawPush(tenant, a, header, [other]);
      expect(answer).to.include({ status: "REFUSED", code: "VERSION_MISMATCH" });
      expect(answer.message).to.include(OTHER_VERSION);
      // Not JSON at all, but announced canonical: refused on its hash, never parsed.
      const garbage = new TextEncoder().encode("not json, not yaml: [");
      const refused = await rawPush(tenant, a, { ...header, size: garbage.length }, [garbage]);
      expect(refused).to.include({ status: "REFUSED", code: "VERSION_MISMATCH" });
      expect(received).to.have.length(0);
    });

    it("hashes canonical bytes frame by frame as they land: one byte changed in the last frame is refused", async function () {
      const { node: a, received } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const canonical = new TextEncoder().encode(HELLO_CANONICAL);
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: canonical.length,
        encoding: "canonical",
      };
      const frames = (bytes: Uint8Array) =>
        Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
      const tampered = canonical.slice();
      tampered[tampered.length - 2] ^= 1; // inside the last frame, before the closing brace
      const refused = await rawPush(tenant, a, header, frames(tampered));
      expect(refused).to.include({ status: "REFUSED", code: "VERSION_MISMATCH" });
      expect(received).to.have.length(0);
      // The same bytes in many small frames hash as one piece.
      const answer = await rawPush(tenant, a, header, frames(canonical));
      expect(answer).to.include({ status: "OK", code: "OK" });
      expect(received).to.have.length(1);
      expect(Buffer.from(received[0].bytes).toString("utf8")).to.equal(HELLO_CANONICAL);
    });

    it("still takes YAML from a sender that names no encoding, or yaml (INVALID_MANIFEST stays located)", async function () {
      const { node: a, received } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const answer = await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES, { encoding: "yaml" });
      expect(answer).to.include({ status: "OK" });
      expect(Buffer.from(received[0].bytes).toString("utf8")).to.equal(HELLO_CANONICAL);
      expect(await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ status: "OK" });
      expect(received).to.have.length(1); // once per version
    });

    it("refuses an unknown encoding (BAD_REQUEST)", async function () {
      const { node: a } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: HELLO_BYTES.length,
        encoding: "xml",
      };
      expect(await rawPush(tenant, a, header, [HELLO_BYTES])).to.include({ code: "BAD_REQUEST" });
    });

    it("refuses bytes that are not a manifest (INVALID_MANIFEST with located issues)", async function () {
      const { node: a } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const broken = new TextEncoder().encode(HELLO.replace("cpu: 250m", "cpu: lots"));
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: broken.length,
      };
      const answer = await rawPush(tenant, a, header, [broken]);
      expect(answer).to.include({ status: "REFUSED", code: "INVALID_MANIFEST" });
      expect(answer.issues?.[0]).to.include({ path: "services.api.resources.cpu" });
      expect(answer.issues?.[0].line).to.be.a("number");
    });

    it("refuses an unknown deployment (UNKNOWN_DEPLOYMENT)", async function () {
      const { node: a } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const answer = await tenant.push(a.multiaddrs[0], 999n, HELLO_BYTES);
      expect(answer).to.include({ status: "REFUSED", code: "UNKNOWN_DEPLOYMENT" });
    });

    it("refuses a push to a provider holding no charter in the deployment (NOT_A_CHARTER_HOLDER)", async function () {
      const { node: c, received } = await provider("providerC");
      const tenant = await nodes.start("tenant", { listen: [] });
      const answer = await tenant.push(c.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      expect(answer).to.include({ status: "REFUSED", code: "NOT_A_CHARTER_HOLDER" });
      expect(received).to.have.length(0);
    });

    it("refuses a push once the provider's charter is closed (NOT_A_CHARTER_HOLDER)", async function () {
      const { node: a } = await provider("providerA");
      await fx.market.connect(fx.signers.tenant).closeCharter(fx.charterIds[0]);
      const tenant = await nodes.start("tenant", { listen: [] });
      const answer = await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      expect(answer).to.include({ status: "REFUSED", code: "NOT_A_CHARTER_HOLDER" });
    });

    it("refuses an oversized payload (TOO_LARGE), announced or sent", async function () {
      const { node: a, received } = await provider("providerA", { maxManifestBytes: 256 });
      const tenant = await nodes.start("tenant", { listen: [] });
      const announced = await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      expect(announced).to.include({ status: "REFUSED", code: "TOO_LARGE" });
      // A sender that announces 100 bytes and sends more.
      const header = { type: "push", deploymentId: fx.deploymentId.toString(), version: HELLO_VERSION, size: 100 };
      const sent = await rawPush(tenant, a, header, [HELLO_BYTES.subarray(0, 200)]);
      expect(sent).to.include({ status: "REFUSED", code: "TOO_LARGE" });
      expect(received).to.have.length(0);
    });

    it("refuses an oversized header (TOO_LARGE)", async function () {
      const { node: a } = await provider("providerA", { maxHeaderBytes: 128 });
      const tenant = await nodes.start("tenant", { listen: [] });
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: 10,
        pad: "x".repeat(200),
      };
      const answer = await rawPush(tenant, a, header, []);
      expect(answer).to.include({ status: "REFUSED", code: "TOO_LARGE" });
    });

    it("refuses a malformed header (BAD_REQUEST)", async function () {
      const { node: a } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const answer = await rawPush(tenant, a, { type: "push", deploymentId: "0x01", version: "v1", size: 1 }, []);
      expect(answer).to.include({ status: "REFUSED", code: "BAD_REQUEST" });
    });

    it("gives up on a slow sender (TIMEOUT) and keeps nothing", async function () {
      const { node: a, received } = await provider("providerA", { transferTimeoutMs: 300 });
      const tenant = await nodes.start("tenant", { listen: [] });
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: HELLO_BYTES.length,
      };
      const chunks = [HELLO_BYTES.subarray(0, 100), HELLO_BYTES.subarray(100)];
      const answer = await rawPush(tenant, a, header, chunks, 1_000);
      expect(answer).to.include({ status: "REFUSED", code: "TIMEOUT" });
      expect(received).to.have.length(0);
    });

    it("accepts a push from an operator of the deployment's owner", async function () {
      const { node: a, received } = await provider("providerA");
      const operator = await nodes.start("operator", { listen: [] });
      expect(await operator.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ code: "STRANGER" });
      const expiry = (await time.latest()) + 3_600;
      await fx.market.connect(fx.signers.tenant).approveOperator(fx.signers.operator, 1n, expiry);
      expect(await operator.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ status: "OK" });
      expect(received[0].from).to.equal(fx.signers.operator.address);
    });

    it("refuses the bytes of the old version after a version update on chain", async function () {
      const { node: a, received } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      await fx.market.connect(fx.signers.tenant).updateDeployment(fx.deploymentId, OTHER_VERSION);
      expect(await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ code: "VERSION_MISMATCH" });
      expect(await tenant.push(a.multiaddrs[0], fx.deploymentId, OTHER_BYTES)).to.include({ code: "OK" });
      expect(received.map((m) => m.version)).to.deep.equal([OTHER_VERSION]);
    });

    it("refuses a push for a closed deployment (DEPLOYMENT_CLOSED)", async function () {
      const { node: a } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      await fx.market.connect(fx.signers.tenant).closeDeployment(fx.deploymentId);
      expect(await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({
        code: "DEPLOYMENT_CLOSED",
      });
    });
  });

  describe("session-key delegation", function () {
    async function delegation(
      overrides: { expiry?: number; chainId?: number; market?: string; sessionKey?: string } = {},
    ) {
      const session = createSessionKey();
      const signed = await signSessionKey(fx.signers.tenant, {
        sessionKey: overrides.sessionKey ?? session.address,
        expiry: overrides.expiry ?? (await time.latest()) + 3_600,
        chainId: overrides.chainId ?? fx.record.chainId,
        market: overrides.market ?? fx.record.contracts.market,
      });
      return { session, signed };
    }

    it("lets a session key push for the account that signed the delegation", async function () {
      const { node: a, received } = await provider("providerA");
      const { session, signed } = await delegation();
      const node = await nodes.start({ privateKey: session.privateKey }, { listen: [], delegation: signed });
      expect(node.participant).to.equal(fx.signers.tenant.address);
      expect(await node.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ status: "OK" });
      expect(received[0].from).to.equal(fx.signers.tenant.address);
    });

    it("refuses a session key without a delegation (STRANGER)", async function () {
      const { node: a } = await provider("providerA");
      const node = await nodes.start({ privateKey: createSessionKey().privateKey }, { listen: [] });
      expect(await node.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ code: "STRANGER" });
    });

    it("refuses a forged delegation (BAD_DELEGATION)", async function () {
      const { node: a, received } = await provider("providerA");
      const { session, signed } = await delegation();
      // Signed by the stranger, claimed to be the tenant's.
      const forged = { ...(await signSessionKey(fx.signers.stranger, signed)), account: fx.signers.tenant.address };
      const node = await nodes.start({ privateKey: session.privateKey }, { listen: [], delegation: forged });
      const answer = await node.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      expect(answer).to.include({ status: "REFUSED", code: "BAD_DELEGATION" });
      expect(answer.message).to.match(/signed by/);
      expect(received).to.have.length(0);
    });

    it("refuses a delegation presented by another key (BAD_DELEGATION)", async function () {
      const { node: a } = await provider("providerA");
      const { signed } = await delegation();
      const thief = createSessionKey();
      const tenant = await nodes.start({ privateKey: thief.privateKey }, { listen: [] });
      const header = {
        type: "push",
        deploymentId: fx.deploymentId.toString(),
        version: HELLO_VERSION,
        size: HELLO_BYTES.length,
        delegation: signed,
      };
      const answer = await rawPush(tenant, a, header, [HELLO_BYTES]);
      expect(answer).to.include({ code: "BAD_DELEGATION" });
      expect(answer.message).to.match(/delegates to/);
    });

    it("refuses an expired delegation, or one for another chain or Market (BAD_DELEGATION)", async function () {
      const { node: a } = await provider("providerA");
      const cases = [
        { expiry: (await time.latest()) - 1, pattern: /expired/ },
        { chainId: 1, pattern: /chain/ },
        { market: fx.record.contracts.registry, pattern: /Market/ },
      ];
      for (const { pattern, ...overrides } of cases) {
        const { session, signed } = await delegation(overrides);
        const node = await nodes.start({ privateKey: session.privateKey }, { listen: [], delegation: signed });
        const answer = await node.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
        expect(answer, JSON.stringify(overrides)).to.include({ code: "BAD_DELEGATION" });
        expect(answer.message).to.match(pattern);
      }
    });
  });

  describe("fetch and provider-to-provider sharing", function () {
    it("shares the workload: the tenant pushes to A only, B fetches it from A", async function () {
      const { node: a } = await provider("providerA");
      const { node: b, received } = await provider("providerB");
      const registry = fx.registry;
      await registry.connect(fx.signers.providerA).update(`https://a.invalid ${a.multiaddrs[0]}`, []);
      await registry.connect(fx.signers.providerB).update(b.multiaddrs[0], []);
      const tenant = await nodes.start("tenant", { listen: [] });
      expect(await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ status: "OK" });

      const got = await b.fetchFromPeers(fx.deploymentId);
      expect(got.version).to.equal(HELLO_VERSION);
      expect(got.source).to.deep.equal({ provider: fx.signers.providerA.address, multiaddr: a.multiaddrs[0] });
      expect(received).to.have.length(1);
      expect(received[0]).to.include({ version: HELLO_VERSION, from: fx.signers.providerA.address });
      expect(b.store.has(fx.deploymentId, HELLO_VERSION)).to.equal(true);
      // Held now: a second call needs no peer.
      expect((await b.fetchFromPeers(fx.deploymentId)).source).to.equal(undefined);
    });

    it("does not take a peer's old version after an update on chain", async function () {
      const { node: a } = await provider("providerA");
      const { node: b, received } = await provider("providerB");
      await fx.registry.connect(fx.signers.providerA).update(a.multiaddrs[0], []);
      const tenant = await nodes.start("tenant", { listen: [] });
      expect(await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES)).to.include({ status: "OK" });
      await fx.market.connect(fx.signers.tenant).updateDeployment(fx.deploymentId, OTHER_VERSION);
      const error = await b.fetchFromPeers(fx.deploymentId).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ManifestProtocolError);
      expect((error as ManifestProtocolError).code).to.equal("NOT_FOUND");
      expect((error as ManifestProtocolError).message).to.match(/NOT_FOUND/);
      expect(received).to.have.length(0);
    });

    it("serves fetches only to participants, and only verified content", async function () {
      const { node: a } = await provider("providerA");
      const tenant = await nodes.start("tenant", { listen: [] });
      const stranger = await nodes.start("stranger", { listen: [] });
      const notYet = await tenant.fetch(a.multiaddrs[0], fx.deploymentId, HELLO_VERSION).catch((e: unknown) => e);
      expect((notYet as ManifestProtocolError).code).to.equal("NOT_FOUND");
      await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      const bytes = await tenant.fetch(a.multiaddrs[0], fx.deploymentId, HELLO_VERSION);
      expect(Buffer.from(bytes).toString("utf8")).to.equal(HELLO_CANONICAL);
      const refused = await stranger.fetch(a.multiaddrs[0], fx.deploymentId, HELLO_VERSION).catch((e: unknown) => e);
      expect((refused as ManifestProtocolError).code).to.equal("STRANGER");
    });

    it("reports an unreachable peer (UNREACHABLE)", async function () {
      const { node: a } = await provider("providerA");
      const target = a.multiaddrs[0];
      await nodes.stopAll();
      const tenant = await nodes.start("tenant", { listen: [], limits: { transferTimeoutMs: 2_000 } });
      const error = await tenant.push(target, fx.deploymentId, HELLO_BYTES).catch((e: unknown) => e);
      expect((error as ManifestProtocolError).code).to.equal("UNREACHABLE");
    });
  });

  it("persists verified manifests and serves them after a restart", async function () {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "tom3-p2p-"));
    try {
      const a = await nodes.start("providerA", { storeDir: dir });
      const tenant = await nodes.start("tenant", { listen: [] });
      await tenant.push(a.multiaddrs[0], fx.deploymentId, HELLO_BYTES);
      await nodes.stopAll();
      const again = await nodes.start("providerA", { storeDir: dir });
      expect(again.store.has(fx.deploymentId, HELLO_VERSION)).to.equal(true);
      const tenant2 = await nodes.start("tenant", { listen: [] });
      expect(Buffer.from(await tenant2.fetch(again.multiaddrs[0], fx.deploymentId, HELLO_VERSION)).toString()).to.equal(
        HELLO_CANONICAL,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops cleanly and leaves no listener open", async function () {
    const a = await nodes.start("providerA");
    expect(a.status).to.equal("running");
    expect(a.multiaddrs[0]).to.match(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${a.peerId}$`));
    const port = Number(/\/tcp\/(\d+)\//.exec(a.multiaddrs[0])![1]);
    await nodes.stopAll();
    expect(a.status).to.equal("stopped");
    expect(a.multiaddrs).to.deep.equal([]);
    const { connect } = await import("node:net");
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => (socket.destroy(), resolve("connected")));
      socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    expect(refused).to.equal("ECONNREFUSED");
  });
});
