/**
 * One key, several senders (the bid engine's bids and matches, the charter manager's acknowledgements, claims and
 * closes): transactions must leave one at a time, or two of them read the same pending nonce. `SerialSigner` queues
 * `sendTransaction` so each one is submitted before the next is populated, and counts the nonce itself: it asks the
 * node once (`pending`), then adds one per transaction the node accepted. That saves a round trip per transaction,
 * which is most of a bid's latency under a burst (bench/provider.ts).
 *
 * The count stays right because:
 * - a send refused before it reached the node (a revert in gas estimation) consumed no nonce: the next one reuses it,
 *   so a refused transaction leaves no gap (unlike ethers' `NonceManager`, which increments before sending);
 * - a send that failed in any other way may or may not have reached the node: the count is dropped and the next
 *   send asks the node again;
 * - a nonce error (another process sent with the same key, or the node lost a pending transaction) drops the count
 *   and the send is tried once more with the node's fresh `pending` count.
 *
 * Gas: a transaction without a limit is estimated and sent with 25 % headroom (`withGasHeadroom`).
 *
 * Fee data (another round trip, three requests) is reused for `feeTtlMs` (default 1 s): an EIP-1559 max fee is
 * twice the base fee plus the tip, and the base fee rises at most 12.5 % a block, so a second-old quote still pays.
 */
import { AbstractSigner } from "ethers";
import { withGasHeadroom } from "../chain/gas";
import type { FeeData, Provider, Signer, TransactionRequest, TransactionResponse, TypedDataDomain, TypedDataField } from "ethers";

export class SerialSigner extends AbstractSigner {
  private queue: Promise<unknown> = Promise.resolve();
  /** The nonce of the next transaction; undefined: ask the node. */
  private nextNonce: number | undefined;
  private fees: { at: number; data: FeeData } | undefined;

  constructor(
    private readonly inner: Signer,
    private readonly options: { feeTtlMs?: number } = {},
  ) {
    super(inner.provider);
  }

  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }

  connect(provider: Provider | null): SerialSigner {
    return new SerialSigner(this.inner.connect(provider), this.options);
  }

  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }

  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }

  signTypedData(domain: TypedDataDomain, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }

  /** The nonce the next transaction will use (the node's `pending` count unless tracked). */
  override async getNonce(blockTag?: "pending" | "latest"): Promise<number> {
    if (blockTag === "latest" || this.nextNonce === undefined) return this.inner.getNonce(blockTag);
    return this.nextNonce;
  }

  override sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const run = () => this.submit(tx);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async submit(tx: TransactionRequest): Promise<TransactionResponse> {
    if (tx.nonce !== undefined && tx.nonce !== null) {
      // The caller chose the nonce: send it as is, and count from the node again afterwards.
      this.nextNonce = undefined;
      return this.inner.sendTransaction(tx);
    }
    const priced = { ...(await this.withFees(tx)) };
    // Estimated here, with headroom (offchain/chain/gas.ts): the state may change before the block, and an exact
    // estimate then runs out of gas on chain. A revert in estimation is thrown before any nonce is taken.
    if (priced.gasLimit == null) priced.gasLimit = withGasHeadroom(await this.inner.estimateGas(priced));
    for (let attempt = 0; ; attempt++) {
      const nonce = this.nextNonce ?? (await this.inner.getNonce("pending"));
      try {
        const response = await this.inner.sendTransaction({ ...priced, nonce });
        this.nextNonce = nonce + 1;
        return response;
      } catch (error) {
        if (refusedBeforeSending(error)) {
          this.nextNonce = nonce;
          throw error;
        }
        this.nextNonce = undefined;
        if (attempt === 0 && isNonceError(error)) continue;
        throw error;
      }
    }
  }

  /** `tx` with the cached fee quote, unless it names its own fees or type. */
  private async withFees(tx: TransactionRequest): Promise<TransactionRequest> {
    const ttl = this.options.feeTtlMs ?? 1_000;
    const own = tx.gasPrice != null || tx.maxFeePerGas != null || tx.maxPriorityFeePerGas != null || tx.type != null;
    if (own || ttl <= 0 || !this.provider) return tx;
    if (!this.fees || performance.now() - this.fees.at > ttl) {
      this.fees = { at: performance.now(), data: await this.provider.getFeeData() };
    }
    const { maxFeePerGas, maxPriorityFeePerGas, gasPrice } = this.fees.data;
    if (maxFeePerGas != null && maxPriorityFeePerGas != null) return { ...tx, type: 2, maxFeePerGas, maxPriorityFeePerGas };
    if (gasPrice != null) return { ...tx, gasPrice };
    return tx;
  }
}

/** A revert found while populating (gas estimation): the transaction was never signed nor sent. */
function refusedBeforeSending(error: unknown): boolean {
  const e = error as { code?: string; action?: string };
  return e?.code === "CALL_EXCEPTION" && e.action === "estimateGas";
}

/** The node refused the nonce: too low (used by another sender), too high (a lost transaction), or a replacement. */
export function isNonceError(error: unknown): boolean {
  const e = error as { code?: string; message?: string; shortMessage?: string; error?: { message?: string } };
  if (e?.code === "NONCE_EXPIRED" || e?.code === "REPLACEMENT_UNDERPRICED") return true;
  const text = [e?.message, e?.shortMessage, e?.error?.message].filter(Boolean).join(" ");
  return /nonce (too (low|high)|has already been used)|invalid nonce|replacement transaction underpriced|already known/i.test(text);
}
