/**
 * `Tom3Client`: the SDK's one object. It holds the chain connection (an ethers Signer, or a Provider for reads
 * only), the suite's addresses (a deployment record), the workload transport and the progress callback, and gives
 * every action the same chain access: transactions whose reverts arrive as `Tom3ContractError`, reads decoded
 * the same way, event scans over the suite's lifetime, and the chain's clock.
 *
 * Actions live one per file in `actions/` and take the client as their first argument (`deposit(client, {...})`);
 * the client's methods of the same names call them, for those who prefer `client.deposit({...})`.
 */
import { Contract, Interface } from "ethers";
import type {
  ContractTransactionResponse,
  EventLog,
  InterfaceAbi,
  Log,
  Provider,
  Signer,
  TransactionReceipt,
} from "ethers";
import { tom3Abis, tom3ContractNames } from "../chain/abis";
import { DEFAULT_DEPLOYMENTS_DIR, deploymentFile, readDeployment } from "../chain/addresses";
import { contractsWithoutCode, staleDeploymentMessage, type Tom3Deployment } from "../chain/deployment";
import { decodeContractError } from "../chain/errors";
import { withGasHeadroom } from "../chain/gas";
import { noDelivery } from "./delivery";
import type { ManifestDelivery } from "./delivery";
import { Tom3NotDeployedError, Tom3ReadOnlyError, Tom3SdkError, Tom3TransactionError } from "./errors";
import type { OnProgress, Tom3ProgressEvent } from "./progress";
import * as actions from "./actions";

/** The suite's contracts the SDK uses. */
export type Tom3ContractName = "token" | "registry" | "market";

/** Default time limits of the waits, in milliseconds. Each action takes its own `timeoutMs` too. */
export interface Tom3Timeouts {
  /** `waitForMatches`: counted from the moment the last bidding window closes. */
  matchMs: number;
  /** `waitForAcknowledgements`: counted from the call. */
  acknowledgeMs: number;
  /** Any single transaction, from sending to its receipt. */
  transactionMs: number;
}

export const DEFAULT_TIMEOUTS: Tom3Timeouts = {
  matchMs: 120_000,
  acknowledgeMs: 15 * 60_000,
  transactionMs: 120_000,
};

export interface Tom3ClientOptions {
  /** A Signer (with a provider) to send transactions, or a Provider to read only. */
  runner: Signer | Provider;
  /** Where the suite lives on the runner's chain. */
  deployment: Tom3Deployment;
  /** How manifests reach providers (default: none configured, so delivery fails with a clear error). */
  delivery?: ManifestDelivery;
  /** Called with every progress event of every action. */
  onProgress?: OnProgress;
  /** How often waits poll the chain (default 1000 ms). */
  pollIntervalMs?: number;
  /** Default time limits (see `DEFAULT_TIMEOUTS`). */
  timeouts?: Partial<Tom3Timeouts>;
  /** Blocks per `eth_getLogs` request in event scans (default 10000, which public nodes accept). */
  logRange?: number;
}

export interface ConnectTom3ClientOptions extends Omit<Tom3ClientOptions, "deployment"> {
  /** The deployment record; when absent, `<deploymentsDir>/<chainId>.json` of the runner's chain is read. */
  deployment?: Tom3Deployment;
  /** Directory of deployment records (default: the repository's `deployments/`). */
  deploymentsDir?: string;
}

/** A transaction's outcome: its hash, block and the TOM3 events it emitted, decoded. */
export interface SentTransaction {
  hash: string;
  blockNumber: number;
  gasUsed: bigint;
  events: Tom3Event[];
}

/** A decoded event of a TOM3 contract; `args` by parameter name. */
export interface Tom3Event {
  contract: Tom3ContractName;
  name: string;
  args: Record<string, unknown>;
  blockNumber: number;
  transactionHash: string;
}

export class Tom3Client {
  readonly deployment: Tom3Deployment;
  readonly provider: Provider;
  /** Undefined for a read-only client. */
  readonly signer: Signer | undefined;
  readonly delivery: ManifestDelivery;
  readonly pollIntervalMs: number;
  readonly timeouts: Tom3Timeouts;
  readonly logRange: number;
  /** Plain ethers contracts over the generated ABIs, connected to the runner. */
  readonly contracts: Readonly<Record<Tom3ContractName, Contract>>;
  private readonly onProgress: OnProgress | undefined;
  /** The nonce of the last transaction this client sent (see `send`). */
  private lastNonce: number | undefined;
  private readonly interfaces: Map<string, { key: Tom3ContractName; iface: Interface }>;

  constructor(options: Tom3ClientOptions) {
    const { runner, deployment } = options;
    const provider = isSigner(runner) ? runner.provider : runner;
    if (!provider) throw new Tom3SdkError("the signer has no provider: connect it to one (wallet.connect(provider))");
    this.provider = provider;
    this.signer = isSigner(runner) ? runner : undefined;
    this.deployment = deployment;
    this.delivery = options.delivery ?? noDelivery;
    this.onProgress = options.onProgress;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.logRange = options.logRange ?? 10_000;
    const keys: Tom3ContractName[] = ["token", "registry", "market"];
    this.contracts = Object.fromEntries(
      keys.map((key) => [key, new Contract(deployment.contracts[key], tom3Abis[key] as InterfaceAbi, runner)]),
    ) as Record<Tom3ContractName, Contract>;
    this.interfaces = new Map(
      keys.map((key) => [
        deployment.contracts[key].toLowerCase(),
        { key, iface: new Interface(tom3Abis[key] as InterfaceAbi) },
      ]),
    );
  }

  /**
   * Create a client for the runner's chain: reads the deployment record of that chain unless one is given, and
   * checks that its addresses hold code (a stale record after a node restart fails here, not mid-deployment).
   *
   * @example
   * import { JsonRpcProvider, Wallet } from "ethers";
   * import { Tom3Client } from "./offchain/sdk";
   * const provider = new JsonRpcProvider("http://127.0.0.1:8545");
   * const client = await Tom3Client.connect({ runner: new Wallet(process.env.TOM3_PRIVATE_KEY!, provider) });
   */
  static async connect(options: ConnectTom3ClientOptions): Promise<Tom3Client> {
    const provider = isSigner(options.runner) ? options.runner.provider : options.runner;
    if (!provider) throw new Tom3SdkError("the signer has no provider: connect it to one (wallet.connect(provider))");
    const { chainId } = await provider.getNetwork();
    const deployment = options.deployment ?? readDeployment(chainId, options.deploymentsDir ?? DEFAULT_DEPLOYMENTS_DIR);
    const client = new Tom3Client({ ...options, deployment });
    const missing = await contractsWithoutCode(deployment, (address) => provider.getCode(address), ["token", "registry", "market"]);
    if (missing.length > 0) {
      const dir = options.deploymentsDir === DEFAULT_DEPLOYMENTS_DIR ? undefined : options.deploymentsDir;
      const source = options.deployment ? "the deployment record" : deploymentFile(chainId, dir ?? DEFAULT_DEPLOYMENTS_DIR);
      const rpcUrl = (provider as { _getConnection?: () => { url: string } })._getConnection?.().url;
      throw new Tom3NotDeployedError(staleDeploymentMessage({ source, chainId, rpcUrl, deploymentsDir: dir, missing }), {
        details: { chainId: Number(chainId), missing: missing.map((m) => `${m.key} ${m.address}`) },
      });
    }
    return client;
  }

  // ---------------------------------------------------------------- chain access shared by the actions

  /** The signer, or a `Tom3ReadOnlyError` naming the action that needed it. */
  requireSigner(action: string): Signer {
    if (!this.signer) throw new Tom3ReadOnlyError(action);
    return this.signer;
  }

  /** The signer's address. */
  async account(action = "this action"): Promise<string> {
    return this.requireSigner(action).getAddress();
  }

  /** Report a progress event; a failing callback is ignored. */
  progress(event: Tom3ProgressEvent): void {
    try {
      this.onProgress?.(event);
    } catch {
      // A display problem must not break a deployment.
    }
  }

  /**
   * Send `contract.method(...args)` as the signer and wait for its receipt. A revert (at estimation, or mined)
   * is thrown as a `Tom3ContractError`.
   */
  async send(contract: Tom3ContractName, method: string, args: readonly unknown[]): Promise<SentTransaction> {
    const signer = this.requireSigner(`${tom3ContractNames[contract]}.${method}`);
    const fn = this.contracts[contract].getFunction(method);
    let response: ContractTransactionResponse;
    try {
      // ethers caches identical requests for 250 ms by default, so the "pending" count read right after our
      // previous transaction can be stale: never reuse a nonce this client already used.
      const pending = await this.provider.getTransactionCount(await signer.getAddress(), "pending");
      const nonce = this.lastNonce === undefined ? pending : Math.max(pending, this.lastNonce + 1);
      // Headroom over the estimate: the state may change before the block (see offchain/chain/gas.ts).
      const gasLimit = withGasHeadroom(await fn.estimateGas(...args));
      response = (await fn.send(...args, { nonce, gasLimit })) as ContractTransactionResponse;
      this.lastNonce = nonce;
    } catch (error) {
      throw this.decoded(error, contract, method);
    }
    this.progress({ type: "transactionSent", contract: tom3ContractNames[contract], method, hash: response.hash });
    let receipt: TransactionReceipt | null;
    try {
      receipt = await response.wait(1, this.timeouts.transactionMs);
    } catch (error) {
      const replayed = await this.replay(response, error);
      throw this.decoded(replayed ?? error, contract, method);
    }
    if (!receipt) throw new Tom3TransactionError(`${tom3ContractNames[contract]}.${method}: ${response.hash} dropped`);
    this.progress({
      type: "transactionConfirmed",
      contract: tom3ContractNames[contract],
      method,
      hash: receipt.hash,
      blockNumber: receipt.blockNumber,
    });
    return {
      hash: receipt.hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      events: receipt.logs.map((log) => this.decodeLog(log)).filter((e): e is Tom3Event => e !== undefined),
    };
  }

  /** Call a view; a revert is thrown as a `Tom3ContractError`. */
  async read<T>(contract: Tom3ContractName, method: string, args: readonly unknown[] = []): Promise<T> {
    try {
      return (await this.contracts[contract].getFunction(method).staticCall(...args)) as T;
    } catch (error) {
      throw this.decoded(error, contract, method);
    }
  }

  /**
   * Events `name` of `contract` matching the indexed `filter` values (null = any), from `fromBlock` (default: the
   * suite's deployment block) to `toBlock` (default: the latest block), in ranges of `logRange` blocks.
   */
  async events(
    contract: Tom3ContractName,
    name: string,
    filter: readonly unknown[] = [],
    fromBlock: number = this.deployment.deployedAtBlock,
    toBlock?: number,
  ): Promise<Tom3Event[]> {
    const target = this.contracts[contract];
    const eventFilter = target.filters[name](...filter);
    const latest = toBlock ?? (await this.provider.getBlockNumber());
    const found: Tom3Event[] = [];
    for (let from = fromBlock; from <= latest; from += this.logRange) {
      const logs = await target.queryFilter(eventFilter, from, Math.min(from + this.logRange - 1, latest));
      for (const log of logs) {
        const event = this.decodeLog(log);
        if (event) found.push(event);
      }
    }
    return found;
  }

  /** The latest block's timestamp: "now" as the contracts see it. */
  async now(): Promise<bigint> {
    const block = await this.provider.getBlock("latest");
    if (!block) throw new Tom3SdkError("the node returned no latest block");
    return BigInt(block.timestamp);
  }

  /** Wait `ms` (the poll interval by default). */
  sleep(ms: number = this.pollIntervalMs): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private decodeLog(log: Log | EventLog): Tom3Event | undefined {
    const source = this.interfaces.get(log.address.toLowerCase());
    if (!source) return undefined;
    const parsed = source.iface.parseLog(log);
    if (!parsed) return undefined;
    return {
      contract: source.key,
      name: parsed.name,
      args: parsed.args.toObject(),
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    };
  }

  private decoded(error: unknown, contract: Tom3ContractName, method: string): unknown {
    const decoded = decodeContractError(error, { contract });
    if (decoded) return decoded;
    if (error instanceof Tom3SdkError) return error;
    const message = error instanceof Error ? shortMessage(error) : String(error);
    return new Tom3TransactionError(`${tom3ContractNames[contract]}.${method} failed: ${message}`, { cause: error });
  }

  /** A mined transaction that failed carries no revert data: replay it on the state before its block. */
  private async replay(tx: ContractTransactionResponse, error: unknown): Promise<unknown | undefined> {
    const receipt = (error as { receipt?: TransactionReceipt }).receipt;
    if (!receipt) return undefined;
    try {
      await this.provider.call({ from: tx.from, to: tx.to, data: tx.data, blockTag: receipt.blockNumber - 1 });
      return undefined;
    } catch (replayed) {
      return replayed;
    }
  }

  // ---------------------------------------------------------------- the actions as methods

  deployManifest(parameters: actions.DeployManifestParameters): Promise<actions.DeployManifestReturnType> {
    return actions.deployManifest(this, parameters);
  }
  waitForMatches(parameters: actions.WaitForMatchesParameters): Promise<actions.WaitForMatchesReturnType> {
    return actions.waitForMatches(this, parameters);
  }
  deliverWorkload(parameters: actions.DeliverWorkloadParameters): Promise<actions.DeliverWorkloadReturnType> {
    return actions.deliverWorkload(this, parameters);
  }
  waitForAcknowledgements(
    parameters: actions.WaitForAcknowledgementsParameters,
  ): Promise<actions.WaitForAcknowledgementsReturnType> {
    return actions.waitForAcknowledgements(this, parameters);
  }
  getStatus(parameters: actions.GetStatusParameters = {}): Promise<actions.GetStatusReturnType> {
    return actions.getStatus(this, parameters);
  }
  updateDeployment(parameters: actions.UpdateDeploymentParameters): Promise<actions.UpdateDeploymentReturnType> {
    return actions.updateDeployment(this, parameters);
  }
  extendCharter(parameters: actions.ExtendCharterParameters): Promise<actions.ExtendCharterReturnType> {
    return actions.extendCharter(this, parameters);
  }
  extendDeployment(parameters: actions.ExtendDeploymentParameters): Promise<actions.ExtendDeploymentReturnType> {
    return actions.extendDeployment(this, parameters);
  }
  closeDeployment(parameters: actions.CloseDeploymentParameters): Promise<actions.CloseDeploymentReturnType> {
    return actions.closeDeployment(this, parameters);
  }
  getBalance(parameters: actions.GetBalanceParameters = {}): Promise<actions.GetBalanceReturnType> {
    return actions.getBalance(this, parameters);
  }
  deposit(parameters: actions.DepositParameters): Promise<actions.DepositReturnType> {
    return actions.deposit(this, parameters);
  }
  withdraw(parameters: actions.WithdrawParameters): Promise<actions.WithdrawReturnType> {
    return actions.withdraw(this, parameters);
  }
  listProviders(parameters: actions.ListProvidersParameters = {}): Promise<actions.ListProvidersReturnType> {
    return actions.listProviders(this, parameters);
  }
  transfer(parameters: actions.TransferParameters): Promise<actions.TransferReturnType> {
    return actions.transfer(this, parameters);
  }
  cancelOrder(parameters: actions.CancelOrderParameters): Promise<actions.CancelOrderReturnType> {
    return actions.cancelOrder(this, parameters);
  }
  getBidDecisions(parameters: actions.GetBidDecisionsParameters): Promise<actions.GetBidDecisionsReturnType> {
    return actions.getBidDecisions(this, parameters);
  }
  getLogs(parameters: actions.GetLogsParameters): Promise<actions.GetLogsReturnType> {
    return actions.getLogs(this, parameters);
  }
}

function isSigner(runner: Signer | Provider): runner is Signer {
  return typeof (runner as Signer).signTransaction === "function" || typeof (runner as Signer).getAddress === "function";
}

/** ethers' `shortMessage` when it has one: the long form repeats the whole request. */
function shortMessage(error: Error): string {
  return (error as { shortMessage?: string }).shortMessage ?? error.message.split("\n")[0];
}
