import { getAddress } from "ethers";
import type { Tom3Client } from "../client";
import { Tom3InputError } from "../errors";
import { readCharter, readDeploymentRecord, readOrder, orderIdsOf } from "../records";
import type { CharterRecord, DeploymentRecord, OrderRecord } from "../records";
import { fetchServiceEndpoints, providerApiUrl } from "../provider-api";
import type { ServiceEndpoint } from "../provider-api";

export interface GetStatusParameters {
  /** One deployment; default: every deployment `owner` created. */
  deploymentId?: bigint;
  /** Whose deployments to list when no `deploymentId` is given (default: the signer). */
  owner?: string;
  /**
   * Where an active charter's services answer: by default asked from its provider's API (`GET /charters/:id` at
   * the API URL of its on-chain endpoint); a function to ask another way; `false` not to ask (chain reads only).
   */
  serviceEndpoints?: false | ((charter: CharterRecord, providerEndpoint: string) => Promise<ServiceEndpoint[] | undefined>);
}

export interface CharterStatus extends CharterRecord {
  /** Gross payment earned so far (claimed part included). */
  accrued: bigint;
  /** Earned and not yet claimed. */
  claimable: bigint;
  /** The provider's on-chain endpoint (how peers reach it). */
  providerEndpoint: string;
  /** Where the charter's published services answer (active charters whose provider reported them). */
  serviceEndpoints?: ServiceEndpoint[];
  /** Why `serviceEndpoints` is missing for an active charter (no API announced, the API did not answer...). */
  serviceEndpointsError?: string;
}

export interface DeploymentStatus extends DeploymentRecord {
  open: boolean;
  orders: OrderRecord[];
  charters: CharterStatus[];
}

export interface GetStatusReturnType {
  deployments: DeploymentStatus[];
}

/**
 * A deployment's state as the chain holds it: its version, its orders, and each charter's state, provider, price,
 * accrued and claimable payment and end; without a `deploymentId`, every deployment of the owner (the signer by
 * default), oldest first. For each active charter, the URLs of its published services, from its provider's API
 * (`serviceEndpoints`, or `serviceEndpointsError` saying why not).
 *
 * @example
 * import { getStatus } from "./offchain/sdk";
 *
 * const { deployments: [status] } = await getStatus(client, { deploymentId: 1n });
 * for (const c of status.charters) console.log(c.charterId, c.state, c.provider, c.accrued, c.endsAt);
 * for (const e of status.charters[0]?.serviceEndpoints ?? []) console.log(e.service, e.url); // http://203.0.113.7:32839
 */
export async function getStatus(client: Tom3Client, parameters: GetStatusParameters = {}): Promise<GetStatusReturnType> {
  let ids: bigint[];
  if (parameters.deploymentId !== undefined) {
    ids = [parameters.deploymentId];
  } else {
    const owner = parameters.owner ? getAddress(parameters.owner) : await client.account("getStatus without an owner");
    const created = await client.events("market", "DeploymentCreated", [null, owner]);
    ids = created.map((e) => e.args.deploymentId as bigint);
  }
  const deployments: DeploymentStatus[] = [];
  for (const deploymentId of ids) {
    const record = await readDeploymentRecord(client, deploymentId);
    if (record.createdAt === 0n) throw new Tom3InputError(`deployment ${deploymentId} does not exist`);
    const orders: OrderRecord[] = [];
    const charters: CharterStatus[] = [];
    for (const orderId of await orderIdsOf(client, deploymentId)) {
      orders.push(await readOrder(client, orderId));
      const charter = await readCharter(client, orderId);
      if (charter.state === "None") continue;
      const [accrued, claimable, providerEndpoint] = await Promise.all([
        client.read<bigint>("market", "accrued", [orderId]),
        client.read<bigint>("market", "claimable", [orderId]),
        client.read<string>("registry", "endpointOf", [charter.provider]),
      ]);
      const status: CharterStatus = { ...charter, accrued, claimable, providerEndpoint };
      if (charter.state === "Active" && parameters.serviceEndpoints !== false) {
        try {
          const reported = await (parameters.serviceEndpoints ?? fromProviderApi)(charter, providerEndpoint);
          if (reported) status.serviceEndpoints = reported;
        } catch (error) {
          status.serviceEndpointsError = (error as Error).message;
        }
      }
      charters.push(status);
    }
    deployments.push({ ...record, open: record.closedAt === 0n, orders, charters });
  }
  return { deployments };
}

/** The default `serviceEndpoints`: the charter's provider's API. */
async function fromProviderApi(charter: CharterRecord, providerEndpoint: string): Promise<ServiceEndpoint[]> {
  const api = providerApiUrl(providerEndpoint);
  if (!api) throw new Tom3InputError(`provider ${charter.provider} announces no API URL in its endpoint, so it cannot say where its services answer`);
  return fetchServiceEndpoints(api, charter.charterId);
}
