/**
 * Providers: registration, staking and the root certificate.
 * `tom3:provider:register|update|stake|unstake|withdraw-unstaked`, `tom3:cert:publish`.
 */
import { readFileSync } from "node:fs";
import { types } from "hardhat/config";
import { sha256 } from "ethers";
import { parseAttributes } from "../offchain/chain/attributes";
import { approveIfNeeded } from "./accounts";
import { amountFlag, fail, time, tokens, tom3Task, txFacts } from "./lib";

const ATTRIBUTES_HELP = 'Attributes as key=value, comma-separated: "region=eu-west,tier=gpu"';

tom3Task<{ endpoint: string; attributes: string }>(
  "tom3:provider:register",
  "Register the account as a provider",
  (t) =>
    t
      .addParam("endpoint", "How peers reach you: libp2p multiaddrs and/or an https URL, space-separated")
      .addOptionalParam("attributes", ATTRIBUTES_HELP, "", types.string),
  async (args, ctx) => {
    const attributes = parseAttributes(args.attributes, "--attributes");
    const sent = await ctx.send("registry", "register", () =>
      ctx.contracts.registry.register(args.endpoint, attributes),
    );
    const registered = sent.event("registry", "ProviderRegistered");
    return {
      provider: registered.provider,
      endpoint: registered.endpoint,
      attributes: args.attributes
        .split(",")
        .map((a) => a.trim())
        .filter((a) => a !== ""),
      ...txFacts(sent),
    };
  },
);

tom3Task<{ endpoint?: string; attributes?: string }>(
  "tom3:provider:update",
  "Replace the provider's endpoint and/or attributes (what is not given stays)",
  (t) =>
    t
      .addOptionalParam("endpoint", "New endpoint", undefined, types.string)
      .addOptionalParam("attributes", `${ATTRIBUTES_HELP}; "" clears them`, undefined, types.string),
  async (args, ctx) => {
    if (args.endpoint === undefined && args.attributes === undefined) {
      throw fail("give --endpoint, --attributes or both");
    }
    const { registry } = ctx.contracts;
    const address = ctx.signer.address;
    const endpoint = args.endpoint ?? (await registry.endpointOf(address));
    const attributes =
      args.attributes === undefined
        ? // A copy: ethers' Result is read-only, and encoding it as an argument writes to it.
          [...(await registry.attributesOf(address))]
        : parseAttributes(args.attributes, "--attributes");
    const sent = await ctx.send("registry", "update", () => registry.update(endpoint, attributes));
    const updated = sent.event("registry", "ProviderUpdated");
    return {
      provider: updated.provider,
      endpoint: updated.endpoint,
      // Not the event's: Result.toObject(true) turns an empty array into {}, whose length is undefined.
      attributes: attributes.length,
      ...txFacts(sent),
    };
  },
);

tom3Task<{ amount: string }>(
  "tom3:provider:stake",
  "Stake TOM3 as a provider (approves the registry first if needed)",
  (t) => t.addParam("amount", 'Amount: "10" (TOM3) or "10wei"'),
  async (args, ctx) => {
    const amount = amountFlag("amount", args.amount);
    const approval = await approveIfNeeded(ctx, "registry", amount);
    const sent = await ctx.send("registry", "stake", () => ctx.contracts.registry.stake(amount));
    const staked = sent.event("registry", "Staked");
    return {
      provider: staked.provider,
      staked: tokens(staked.amount),
      stake: tokens(staked.stake),
      approvalTx: approval?.hash,
      ...txFacts(sent),
    };
  },
);

tom3Task<{ amount: string }>(
  "tom3:provider:unstake",
  "Start unbonding stake; it can be withdrawn after the unbonding period",
  (t) => t.addParam("amount", 'Amount: "10" (TOM3) or "10wei"'),
  async (args, ctx) => {
    const amount = amountFlag("amount", args.amount);
    const sent = await ctx.send("registry", "requestUnstake", () => ctx.contracts.registry.requestUnstake(amount));
    const requested = sent.event("registry", "UnstakeRequested");
    return {
      provider: requested.provider,
      requested: tokens(requested.amount),
      unbonding: tokens(requested.unbonding),
      releaseAt: time(requested.releaseAt),
      ...txFacts(sent),
    };
  },
);

tom3Task<object>(
  "tom3:provider:withdraw-unstaked",
  "Withdraw stake whose unbonding period is over",
  (t) => t,
  async (_args, ctx) => {
    const sent = await ctx.send("registry", "withdrawUnstaked", () => ctx.contracts.registry.withdrawUnstaked());
    const withdrawn = sent.event("registry", "UnstakeWithdrawn");
    return { provider: withdrawn.provider, withdrawn: tokens(withdrawn.amount), ...txFacts(sent) };
  },
);

tom3Task<{ derFile?: string; pemFile?: string }>(
  "tom3:cert:publish",
  "Publish (or rotate) the provider's root certificate",
  (t) =>
    t
      .addOptionalParam("derFile", "The certificate, DER-encoded", undefined, types.inputFile)
      .addOptionalParam(
        "pemFile",
        "The certificate, PEM-encoded (the first CERTIFICATE block)",
        undefined,
        types.inputFile,
      ),
  async (args, ctx) => {
    if ((args.derFile === undefined) === (args.pemFile === undefined))
      throw fail("give exactly one of --der-file or --pem-file");
    const der = args.derFile
      ? readFileSync(args.derFile)
      : pemToDer(readFileSync(args.pemFile!, "utf8"), args.pemFile!);
    const sent = await ctx.send("certificates", "publishRootCertificate", () =>
      ctx.contracts.certificates.publishRootCertificate(der),
    );
    const published = sent.event("certificates", "RootCertificatePublished");
    if (published.fingerprint !== sha256(der)) {
      throw fail(`the registry recorded fingerprint ${published.fingerprint}, not sha256 of the file ${sha256(der)}`);
    }
    return {
      provider: published.provider,
      fingerprint: published.fingerprint,
      bytes: der.length,
      ...txFacts(sent),
    };
  },
);

/** The DER bytes of the first `CERTIFICATE` block of a PEM file. */
function pemToDer(pem: string, file: string): Uint8Array {
  const match = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw fail(`--pem-file: ${file} has no "BEGIN CERTIFICATE" block`);
  const der = Buffer.from(match[1].replace(/\s+/g, ""), "base64");
  if (der.length === 0) throw fail(`--pem-file: the certificate in ${file} is empty`);
  return new Uint8Array(der);
}
