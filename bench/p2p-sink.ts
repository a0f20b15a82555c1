/**
 * The byte sink of `bench/p2p.ts`: the transport alone, no protocol. The receiver reads everything until the
 * sender closes, then answers with the byte count; used in this process and by the receivers in their own.
 */
import type { Stream } from "@libp2p/interface";

export const SINK_PROTOCOL = "/tom3/bench/sink/1.0.0";

export async function sinkHandler(stream: Stream): Promise<void> {
  let received = 0;
  for await (const chunk of stream) received += chunk.byteLength;
  const reply = new Uint8Array(8);
  new DataView(reply.buffer).setBigUint64(0, BigInt(received));
  stream.send(reply);
  await stream.close();
}
