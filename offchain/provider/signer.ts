/**
 * One key, several senders (the bid engine's bids and matches, the charter manager's acknowledgements, claims and
 * closes): transactions must leave one at a time, or two of them read the same pending nonce. `SerialSigner` queues
 * `sendTransaction` so each one is submitted (and its nonce taken) before the next is populated. Unlike ethers'
 * `NonceManager`, a send that reverts in gas estimation consumes no nonce, so a refused transaction leaves no gap.
 */
import { AbstractSigner } from "ethers";
import type { Provider, Signer, TransactionRequest, TransactionResponse, TypedDataDomain, TypedDataField } from "ethers";

export class SerialSigner extends AbstractSigner {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly inner: Signer) {
    super(inner.provider);
  }

  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }

  connect(provider: Provider | null): SerialSigner {
    return new SerialSigner(this.inner.connect(provider));
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

  override sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const run = () => this.inner.sendTransaction(tx);
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
