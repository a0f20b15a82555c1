/**
 * Shared setup of the peer-to-peer tests: a real market on the in-process Hardhat chain (the suite deployed by the
 * Ignition module, a tenant with a deployment of examples/hello.yaml, two orders matched to providers A and B, a
 * provider C with no charter, an operator and a stranger), the well-known Hardhat keys of those accounts, and
 * manifest nodes over loopback that are all stopped after each test.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import hre from "hardhat";
import { HDNodeWallet } from "ethers";
import { attributeId } from "../../../offchain/chain/attributes";
import { parseManifest, requirementSpecs } from "../../../offchain/manifest";
import {
  ChainAuthorizer,
  createManifestNode,
  type ManifestNode,
  type ManifestNodeOptions,
} from "../../../offchain/p2p";
import { deployTom3 } from "../../fixtures/deploy";

export const HELLO_PATH = join(__dirname, "..", "..", "..", "examples", "hello.yaml");
export const HELLO = readFileSync(HELLO_PATH, "utf8");
export const HELLO_BYTES = new TextEncoder().encode(HELLO);
export const HELLO_VERSION = parseManifest(HELLO).version;
/** What peers send and store: hello's canonical form. */
export const HELLO_CANONICAL = parseManifest(HELLO).canonical;
/** The same workload with another greeting: a valid manifest of another version. */
export const OTHER = HELLO.replace("GREETING: hello", "GREETING: bonjour");
export const OTHER_BYTES = new TextEncoder().encode(OTHER);
export const OTHER_VERSION = parseManifest(OTHER).version;

const MNEMONIC = "test test test test test test test test test test test junk";

/** The private key of Hardhat's default account `i`. */
export function hardhatKey(i: number): string {
  const accounts = hre.config.networks.hardhat.accounts;
  const mnemonic = !Array.isArray(accounts) && "mnemonic" in accounts ? accounts.mnemonic : MNEMONIC;
  return HDNodeWallet.fromPhrase(mnemonic, undefined, `m/44'/60'/0'/0/${i}`).privateKey;
}

/** Roles by Hardhat account index. */
export const ROLE = {
  deployer: 0,
  tenant: 1,
  providerA: 2,
  providerB: 3,
  providerC: 4,
  operator: 5,
  stranger: 6,
} as const;
export type Role = keyof typeof ROLE;

export async function marketWithCharters() {
  const signers = await hre.ethers.getSigners();
  const [deployer, tenant, providerA, providerB, providerC, operator, stranger] = signers;
  const suite = await deployTom3();
  const { token, registry, market } = suite;
  const deployedAtBlock = 0;
  const ONE = 10n ** 18n;
  const marketAddress = await market.getAddress();

  await token.connect(deployer).transfer(tenant, 1_000n * ONE);
  await token.connect(tenant).approve(marketAddress, hre.ethers.MaxUint256);
  await market.connect(tenant).deposit(1_000n * ONE);
  await market.connect(tenant).createDeployment(HELLO_VERSION);
  const deploymentId = await market.deploymentCount();

  const eu = attributeId("region=eu-west");
  for (const provider of [providerA, providerB, providerC]) {
    await registry.connect(provider).register("https://provider.invalid", [eu]);
  }
  // Hello has one placement group: one order per provider, each matched by the tenant at once (charter Pending).
  const { spec } = requirementSpecs(parseManifest(HELLO))[0];
  const charterIds: bigint[] = [];
  for (const provider of [providerA, providerB]) {
    await market.connect(tenant).createOrder(deploymentId, spec);
    const orderId = await market.orderCount();
    await market.connect(provider).placeBid(orderId, spec.maxPricePerSecond, spec.resources);
    await market.connect(tenant).matchOrder(orderId);
    charterIds.push(orderId);
  }
  // A second deployment with no charter at all.
  await market.connect(tenant).createDeployment(OTHER_VERSION);
  const bareDeploymentId = await market.deploymentCount();

  const network = await hre.ethers.provider.getNetwork();
  const record = {
    chainId: Number(network.chainId),
    deployedAtBlock,
    contracts: {
      token: await token.getAddress(),
      registry: await registry.getAddress(),
      certificates: await suite.certificates.getAddress(),
      market: marketAddress,
      usage: await suite.usage.getAddress(),
    },
  };
  return {
    ...suite,
    record,
    deploymentId,
    bareDeploymentId,
    charterIds,
    signers: { deployer, tenant, providerA, providerB, providerC, operator, stranger },
  };
}

export type P2pFixture = Awaited<ReturnType<typeof marketWithCharters>>;

/** Creates nodes for a test and stops every one of them afterwards. */
export class Nodes {
  private readonly started: ManifestNode[] = [];

  constructor(private readonly fx: () => P2pFixture) {}

  authorizer(): ChainAuthorizer {
    // TTL 0: every answer comes from the chain as it is now, so a test that changes the chain sees the change.
    return new ChainAuthorizer({ provider: hre.ethers.provider, deployment: this.fx().record, cacheTtlMs: 0 });
  }

  async start(role: Role | { privateKey: string }, options: Partial<ManifestNodeOptions> = {}): Promise<ManifestNode> {
    const privateKey = typeof role === "string" ? hardhatKey(ROLE[role]) : role.privateKey;
    const node = await createManifestNode({
      privateKey,
      authorizer: this.authorizer(),
      listen: ["/ip4/127.0.0.1/tcp/0"],
      ...options,
    });
    await node.start();
    this.started.push(node);
    return node;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.started.splice(0).map((node) => node.stop()));
  }
}
