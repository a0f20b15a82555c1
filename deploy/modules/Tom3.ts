/**
 * Hardhat Ignition modules that deploy the TOM3 suite.
 *
 * - `Tom3` (default export, local variant): token, provider registry, certificate registry, market and usage
 *   ledger. The deployer holds the token supply and owns every protocol parameter.
 * - `Tom3Governed`: the same suite plus a Governor (votes = provider stake) and a TimelockController that owns
 *   every parameter. The deployer's temporary timelock powers are used once, with no delay, to accept ownership
 *   and set the real delay, and are then renounced: after deployment nobody but a passed proposal changes a
 *   parameter.
 *
 * Parameters (JSON file passed to `hardhat ignition deploy --parameters`, or `scripts/deploy.ts` flags):
 *   Tom3.supply (wei), Tom3.holder, Tom3.unbondingPeriod (s), Tom3.treasury;
 *   Tom3Governed.minDelay (s), votingDelay (blocks), votingPeriod (blocks), proposalThreshold (wei of stake),
 *   quorumPercent.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { id, ZeroAddress, ZeroHash } from "ethers";

const SEVEN_DAYS = 7n * 24n * 3600n;
const DEFAULT_SUPPLY = 1_000_000_000n * 10n ** 18n;

const Tom3Module = buildModule("Tom3", (m) => {
  const deployer = m.getAccount(0);
  const holder = m.getParameter("holder", deployer);
  const supply = m.getParameter("supply", DEFAULT_SUPPLY);
  const unbondingPeriod = m.getParameter("unbondingPeriod", SEVEN_DAYS);
  const treasury = m.getParameter("treasury", deployer);

  const token = m.contract("TOM3Token", [holder, supply]);
  const registry = m.contract("ProviderRegistry", [token, deployer, unbondingPeriod]);
  const certificates = m.contract("CertificateRegistry", [registry]);
  const market = m.contract("Market", [token, registry, deployer, treasury]);
  const usage = m.contract("UsageLedger", [market]);
  m.call(registry, "setMarket", [market]);

  return { token, registry, certificates, market, usage };
});

export default Tom3Module;

export const Tom3GovernedModule = buildModule("Tom3Governed", (m) => {
  const { token, registry, certificates, market, usage } = m.useModule(Tom3Module);
  const deployer = m.getAccount(0);
  const minDelay = m.getParameter("minDelay", 2n * 24n * 3600n);
  const votingDelay = m.getParameter("votingDelay", 1n);
  const votingPeriod = m.getParameter("votingPeriod", 50_400n); // about a week of 12 s blocks
  const proposalThreshold = m.getParameter("proposalThreshold", 0n);
  const quorumPercent = m.getParameter("quorumPercent", 4n);

  // Start with no delay and the deployer as sole proposer/executor/admin; all of it is undone below.
  const timelock = m.contract("TOM3Timelock", [0n, [deployer], [deployer], deployer]);
  const governor = m.contract("TOM3Governor", [
    registry,
    timelock,
    votingDelay,
    votingPeriod,
    proposalThreshold,
    quorumPercent,
  ]);

  const handRegistry = m.call(registry, "transferOwnership", [timelock], { id: "handRegistry", after: [governor] });
  const handMarket = m.call(market, "transferOwnership", [timelock], { id: "handMarket", after: [governor] });

  const targets = [registry, market, market, timelock];
  const payloads = [
    m.encodeFunctionCall(registry, "acceptOwnership", [], { id: "acceptRegistry" }),
    m.encodeFunctionCall(market, "acceptOwnership", [], { id: "acceptMarket" }),
    m.encodeFunctionCall(market, "setProtocolFee", [0n, timelock], { id: "treasuryToTimelock" }),
    m.encodeFunctionCall(timelock, "updateDelay", [minDelay], { id: "setRealDelay" }),
  ];
  const values = [0n, 0n, 0n, 0n];
  const schedule = m.call(timelock, "scheduleBatch", [targets, values, payloads, ZeroHash, ZeroHash, 0n], {
    id: "scheduleHandover",
    after: [handRegistry, handMarket],
  });
  const execute = m.call(timelock, "executeBatch", [targets, values, payloads, ZeroHash, ZeroHash], {
    id: "executeHandover",
    after: [schedule],
  });

  const PROPOSER = id("PROPOSER_ROLE");
  const EXECUTOR = id("EXECUTOR_ROLE");
  const CANCELLER = id("CANCELLER_ROLE");
  const ADMIN = ZeroHash;
  const grants = [
    m.call(timelock, "grantRole", [PROPOSER, governor], { id: "grantProposer", after: [execute] }),
    m.call(timelock, "grantRole", [CANCELLER, governor], { id: "grantCanceller", after: [execute] }),
    // Anyone may execute a proposal that passed and waited out the delay.
    m.call(timelock, "grantRole", [EXECUTOR, ZeroAddress], { id: "grantOpenExecutor", after: [execute] }),
  ];
  const revokes = [
    m.call(timelock, "revokeRole", [PROPOSER, deployer], { id: "revokeProposer", after: grants }),
    m.call(timelock, "revokeRole", [CANCELLER, deployer], { id: "revokeCanceller", after: grants }),
    m.call(timelock, "revokeRole", [EXECUTOR, deployer], { id: "revokeExecutor", after: grants }),
  ];
  m.call(timelock, "renounceRole", [ADMIN, deployer], { id: "renounceAdmin", after: revokes });

  return { token, registry, certificates, market, usage, governor, timelock };
});
