/**
 * How a tenant proves, to a provider's API, that it may read a charter's logs (`GET /charters/:id/logs`): it signs
 * (EIP-191 `personal_sign`) the message `TOM3 logs charter <id> at <unix time>` and sends
 * `Authorization: TOM3 <unix time> <signature>`. The provider checks that the signature recovers to the charter's
 * tenant on chain and that the time is within `LOGS_AUTH_MAX_AGE_SECONDS` of its clock. Shared by the provider's API
 * (which checks) and the SDK (which signs), so both always agree on the bytes.
 */
export const LOGS_AUTH_MAX_AGE_SECONDS = 300;

export function logsAuthMessage(charterId: bigint | string, unixTime: number): string {
  return `TOM3 logs charter ${charterId} at ${unixTime}`;
}

/** The `Authorization` header value for `charterId`, signed now (or at `unixTime`) by the charter's tenant. */
export async function logsAuthorization(
  signer: { signMessage(message: string): Promise<string> },
  charterId: bigint | string,
  unixTime: number = Math.floor(Date.now() / 1000),
): Promise<string> {
  return `TOM3 ${unixTime} ${await signer.signMessage(logsAuthMessage(charterId, unixTime))}`;
}
