/**
 * A provider's on-chain endpoint is a space-separated list of entries it declares itself: libp2p multiaddrs and the
 * URL of its HTTP API. An API URL is `https://...`, or `http://` on a loopback host (a development machine).
 */
export function isApiUrl(entry: string): boolean {
  return /^https:\/\/\S+$/i.test(entry) || /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/\S*)?$/i.test(entry);
}
