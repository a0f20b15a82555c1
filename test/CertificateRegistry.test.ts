import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hexlify, sha256, ZeroHash } from "ethers";
import { deployRegistryFixture } from "./fixtures/registry";

/** A real self-signed P-256 root certificate (public part only), as a provider would publish it. */
const ROOT_PEM = readFileSync(join(__dirname, "fixtures", "root-certificate.pem"), "utf8");
const ROOT_DER = hexlify(new X509Certificate(ROOT_PEM).raw);
/** The smallest DER SEQUENCE: enough for the registry, which checks only the outer tag. */
const EMPTY_SEQUENCE = "0x3000";
const MAX_DER_LENGTH = 8192;

/** A DER-tagged blob of `length` bytes. */
const sequenceOfLength = (length: number): string => "0x30" + "ab".repeat(length - 1);

/** alice and bob are registered providers; carol is not. */
async function providersFixture() {
  const base = await deployRegistryFixture();
  await base.registry.connect(base.alice).register("/ip4/10.0.0.1/tcp/4001", []);
  await base.registry.connect(base.bob).register("/ip4/10.0.0.2/tcp/4001", []);
  return base;
}

/** providersFixture with alice's root published. */
async function publishedFixture() {
  const base = await providersFixture();
  await base.certificates.connect(base.alice).publishRootCertificate(ROOT_DER);
  return base;
}

describe("CertificateRegistry", function () {
  it("consults the ProviderRegistry it was deployed with", async function () {
    const { certificates, registry } = await loadFixture(deployRegistryFixture);
    expect(await certificates.providerRegistry()).to.equal(await registry.getAddress());
  });

  describe("publishRootCertificate", function () {
    it("stores the sha256 fingerprint and the time, and emits the DER", async function () {
      const { certificates, alice } = await loadFixture(providersFixture);
      const fingerprint = sha256(ROOT_DER);
      const at = BigInt(await time.latest()) + 7n;
      await time.setNextBlockTimestamp(at);
      await expect(certificates.connect(alice).publishRootCertificate(ROOT_DER))
        .to.emit(certificates, "RootCertificatePublished")
        .withArgs(alice.address, fingerprint, ROOT_DER);
      expect(await certificates.rootCertificate(alice.address)).to.deep.equal([fingerprint, at]);
      expect(await certificates.isRootCertificate(alice.address, fingerprint)).to.equal(true);
    });

    it("lets any peer recover the certificate from the log and check it against the fingerprint", async function () {
      const { certificates, alice } = await loadFixture(publishedFixture);
      const [log] = await certificates.queryFilter(certificates.filters.RootCertificatePublished(alice.address));
      const recovered = new X509Certificate(Buffer.from(log.args.der.slice(2), "hex"));
      expect(recovered.subject).to.equal("CN=tom3-test-provider-root");
      const [fingerprint] = await certificates.rootCertificate(alice.address);
      expect("0x" + recovered.fingerprint256.replaceAll(":", "").toLowerCase()).to.equal(fingerprint);
    });

    it("rotates: publishing again replaces the current root", async function () {
      const { certificates, alice } = await loadFixture(publishedFixture);
      const old = sha256(ROOT_DER);
      await time.increase(100);
      await expect(certificates.connect(alice).publishRootCertificate(EMPTY_SEQUENCE))
        .to.emit(certificates, "RootCertificatePublished")
        .withArgs(alice.address, sha256(EMPTY_SEQUENCE), EMPTY_SEQUENCE);
      expect(await certificates.isRootCertificate(alice.address, old)).to.equal(false);
      expect(await certificates.isRootCertificate(alice.address, sha256(EMPTY_SEQUENCE))).to.equal(true);
      expect(await certificates.rootCertificate(alice.address)).to.deep.equal([
        sha256(EMPTY_SEQUENCE),
        BigInt(await time.latest()),
      ]);
    });

    it("keeps each provider's root apart", async function () {
      const { certificates, bob } = await loadFixture(publishedFixture);
      expect(await certificates.isRootCertificate(bob.address, sha256(ROOT_DER))).to.equal(false);
      expect(await certificates.rootCertificate(bob.address)).to.deep.equal([ZeroHash, 0n]);
    });

    it("accepts a DER of exactly 8192 bytes", async function () {
      const { certificates, alice } = await loadFixture(providersFixture);
      const der = sequenceOfLength(MAX_DER_LENGTH);
      await expect(certificates.connect(alice).publishRootCertificate(der))
        .to.emit(certificates, "RootCertificatePublished")
        .withArgs(alice.address, sha256(der), der);
    });

    describe("when the caller is not a registered provider", function () {
      it("reverts with CertificateRegistryNotProvider", async function () {
        const { certificates, carol } = await loadFixture(providersFixture);
        await expect(certificates.connect(carol).publishRootCertificate(ROOT_DER))
          .to.be.revertedWithCustomError(certificates, "CertificateRegistryNotProvider")
          .withArgs(carol.address);
      });
    });

    describe("when the DER is empty", function () {
      it("reverts with CertificateRegistryMalformedCertificate", async function () {
        const { certificates, alice } = await loadFixture(providersFixture);
        await expect(certificates.connect(alice).publishRootCertificate("0x")).to.be.revertedWithCustomError(
          certificates,
          "CertificateRegistryMalformedCertificate",
        );
      });
    });

    describe("when the data is not a DER SEQUENCE", function () {
      it("reverts with CertificateRegistryMalformedCertificate (e.g. PEM text or a SET)", async function () {
        const { certificates, alice } = await loadFixture(providersFixture);
        for (const data of [hexlify(Buffer.from(ROOT_PEM)), "0x3100"]) {
          await expect(certificates.connect(alice).publishRootCertificate(data)).to.be.revertedWithCustomError(
            certificates,
            "CertificateRegistryMalformedCertificate",
          );
        }
      });
    });

    describe("when the DER is longer than 8192 bytes", function () {
      it("reverts with CertificateRegistryCertificateTooLarge", async function () {
        const { certificates, alice } = await loadFixture(providersFixture);
        await expect(certificates.connect(alice).publishRootCertificate(sequenceOfLength(MAX_DER_LENGTH + 1)))
          .to.be.revertedWithCustomError(certificates, "CertificateRegistryCertificateTooLarge")
          .withArgs(MAX_DER_LENGTH + 1, MAX_DER_LENGTH);
      });
    });
  });

  describe("revokeRootCertificate", function () {
    it("clears the current root and emits RootCertificateRevoked", async function () {
      const { certificates, alice } = await loadFixture(publishedFixture);
      await expect(certificates.connect(alice).revokeRootCertificate())
        .to.emit(certificates, "RootCertificateRevoked")
        .withArgs(alice.address, sha256(ROOT_DER));
      expect(await certificates.rootCertificate(alice.address)).to.deep.equal([ZeroHash, 0n]);
      expect(await certificates.isRootCertificate(alice.address, sha256(ROOT_DER))).to.equal(false);
    });

    it("allows publishing a new root afterwards", async function () {
      const { certificates, alice } = await loadFixture(publishedFixture);
      await certificates.connect(alice).revokeRootCertificate();
      await certificates.connect(alice).publishRootCertificate(ROOT_DER);
      expect(await certificates.isRootCertificate(alice.address, sha256(ROOT_DER))).to.equal(true);
    });

    describe("when the caller has no root certificate", function () {
      it("reverts with CertificateRegistryNoCertificate", async function () {
        const { certificates, bob } = await loadFixture(publishedFixture);
        await expect(certificates.connect(bob).revokeRootCertificate())
          .to.be.revertedWithCustomError(certificates, "CertificateRegistryNoCertificate")
          .withArgs(bob.address);
      });

      it("reverts on a second revocation", async function () {
        const { certificates, alice } = await loadFixture(publishedFixture);
        await certificates.connect(alice).revokeRootCertificate();
        await expect(certificates.connect(alice).revokeRootCertificate())
          .to.be.revertedWithCustomError(certificates, "CertificateRegistryNoCertificate")
          .withArgs(alice.address);
      });
    });
  });

  describe("isRootCertificate", function () {
    it("never accepts the zero fingerprint, which is what an empty entry reads", async function () {
      const { certificates, alice, carol } = await loadFixture(publishedFixture);
      expect(await certificates.isRootCertificate(carol.address, ZeroHash)).to.equal(false);
      expect(await certificates.isRootCertificate(alice.address, ZeroHash)).to.equal(false);
    });
  });
});
