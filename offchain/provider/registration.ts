/**
 * Registration and stake, reconciled with the config on every start: registered? endpoint and attributes as
 * configured? stake as configured? A provider whose stake could not be placed (no TOM3 in the wallet, no gas) is
 * never silently left at zero: the problem is explained with the decoded error and the command that fixes it, kept
 * in `StakeKeeper.status` for the API's /status and the log, and retried with backoff while the daemon runs.
 * A stake above the configured one is left alone: taking stake out has an unbonding period and is the operator's call.
 */
import { Contract } from "ethers";
import type { Signer } from "ethers";
import { providerRegistryAbi, tom3TokenAbi } from "../chain/abis";
import { decodeContractError } from "../chain/errors";
import { formatTokenAmount, formatTokens } from "../chain/units";

export interface RegistrationResult {
  registered: boolean;
  /** The endpoint or attributes on chain were replaced. */
  updated: boolean;
  /** What this call added to the stake. */
  staked: bigint;
  stake: StakeStatus;
}

/** The stake as configured against the stake on chain. */
export interface StakeStatus {
  configured: bigint;
  /** On chain after this reconciliation. */
  held: bigint;
  /** `held >= configured`. */
  ok: boolean;
  /** Why the stake is short, and what fixes it; set when `ok` is false. */
  problem?: string;
  /** A stable code for the problem: `WalletBalanceTooLow`, or the decoded revert's code. */
  code?: string;
}

export interface RegistrationOptions {
  signer: Signer;
  registry: string;
  endpoint: string;
  attributes: readonly string[];
  stake: bigint;
}

/** Register (or update endpoint and attributes), then bring the stake up to the configured amount. */
export async function ensureRegistered(options: RegistrationOptions): Promise<RegistrationResult> {
  const self = await options.signer.getAddress();
  const registry = new Contract(options.registry, providerRegistryAbi, options.signer);
  let registered = false;
  let updated = false;
  if (await registry.isProvider(self)) {
    const endpoint = String(await registry.endpointOf(self));
    const held = ((await registry.attributesOf(self)) as string[]).map((a) => a.toLowerCase()).sort().join();
    const wanted = options.attributes.map((a) => a.toLowerCase()).sort().join();
    if (endpoint !== options.endpoint || held !== wanted) {
      await send(() => registry.update(options.endpoint, [...options.attributes]), "update the registered endpoint and attributes");
      updated = true;
    }
  } else {
    await send(() => registry.register(options.endpoint, [...options.attributes]), "register as a provider");
    registered = true;
  }
  const before = BigInt(await registry.stakeOf(self));
  const stake = await reconcileStake(options);
  return { registered, updated, staked: stake.held - before, stake };
}

/**
 * Stake what is missing up to `options.stake`. Never throws for a stake that cannot be placed: the returned status
 * says why (the wallet's balance is checked first, so the usual cause reads as a sentence, not a revert).
 */
export async function reconcileStake(options: Pick<RegistrationOptions, "signer" | "registry" | "stake">): Promise<StakeStatus> {
  const self = await options.signer.getAddress();
  const registry = new Contract(options.registry, providerRegistryAbi, options.signer);
  const configured = options.stake;
  const held = BigInt(await registry.stakeOf(self));
  if (held >= configured) return { configured, held, ok: true };
  const needed = configured - held;
  const short = (code: string, why: string): StakeStatus => ({
    configured,
    held,
    ok: false,
    code,
    problem: `stake ${formatTokens(needed)} failed: ${why}`,
  });
  const token = new Contract(String(await registry.token()), tom3TokenAbi, options.signer);
  const balance = BigInt(await token.balanceOf(self));
  if (balance < needed) {
    return short(
      "WalletBalanceTooLow",
      `the wallet ${self} holds ${formatTokens(balance)}; send TOM3 with \`tom3 transfer ${transferAmount(needed - balance)} ${self}\` ` +
        `(the daemon retries by itself)`,
    );
  }
  try {
    if (BigInt(await token.allowance(self, options.registry)) < needed) {
      await send(() => token.approve(options.registry, needed), "approve the stake");
    }
    await send(() => registry.stake(needed), "stake");
  } catch (error) {
    const decoded = decodeContractError((error as { cause?: unknown }).cause ?? error, { contract: "registry" });
    if (decoded) return short(decoded.code, `${decoded.message} (${decoded.code})`);
    return short("TransactionFailed", (error as Error).message);
  }
  return { configured, held: BigInt(await registry.stakeOf(self)), ok: true };
}

/** An amount as `tom3 transfer` takes it: TOM3 ("10", "0.5"), or wei ("1500wei") when that is shorter. */
export function transferAmount(wei: bigint): string {
  const tokens = formatTokenAmount(wei).replace(/ TOM3$/, "");
  return tokens.length > `${wei}wei`.length ? `${wei}wei` : tokens;
}

/** Send and wait; a failure carries what was attempted and the node's short reason (the revert stays in `cause`). */
async function send(tx: () => Promise<{ wait: () => Promise<unknown> }>, what: string): Promise<void> {
  try {
    await (await tx()).wait();
  } catch (error) {
    const decoded = decodeContractError(error, { contract: "registry" });
    const reason = decoded ? `${decoded.message} (${decoded.code})` : ((error as { shortMessage?: string }).shortMessage ?? (error as Error).message);
    throw new RegistrationError(`could not ${what}: ${reason}`, { cause: error });
  }
}

/** Registration itself (not the stake) failed: the daemon cannot bid without it. */
export class RegistrationError extends Error {
  override readonly name = "RegistrationError";
}

export interface StakeKeeperOptions {
  signer: Signer;
  registry: string;
  stake: bigint;
  /** First retry after this long (default 30 s), doubling each time up to `maxDelayMs` (default 30 min). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Each status change: the daemon logs it. */
  onStatus?: (status: StakeStatus) => void;
}

/** Retries a short stake with backoff until it is placed or the keeper stops. */
export class StakeKeeper {
  status: StakeStatus;
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private stopped = false;

  constructor(
    private readonly o: StakeKeeperOptions,
    initial: StakeStatus,
  ) {
    this.status = initial;
    this.delayMs = o.initialDelayMs ?? 30_000;
  }

  /** Schedule retries when the stake is short. */
  start(): void {
    this.stopped = false;
    if (!this.status.ok) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The wait before the scheduled retry (ms); undefined when none is scheduled. */
  get retryDelayMs(): number | undefined {
    return this.timer === undefined ? undefined : this.delayMs;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.retry(), this.delayMs);
    this.timer.unref();
  }

  private async retry(): Promise<void> {
    this.timer = undefined;
    let status: StakeStatus;
    try {
      status = await reconcileStake(this.o);
    } catch (error) {
      status = { ...this.status, ok: false, code: "ChainUnreachable", problem: `stake check failed: ${(error as Error).message}` };
    }
    if (this.stopped) return;
    this.status = status;
    this.o.onStatus?.(status);
    if (!status.ok) {
      this.delayMs = Math.min(this.delayMs * 2, this.o.maxDelayMs ?? 30 * 60_000);
      this.schedule();
    }
  }
}
