/**
 * Provider and order attributes: on chain each is `keccak256("key=value")` (PROTOCOL.md, "Units"), e.g.
 * `region=eu-west` or `tier=gpu`; the hash is the manifest's `attributeHash`. The chain cannot tell what a hash
 * stands for, so keep the text alongside.
 */
import { isHexString } from "ethers";
import { attributeHash } from "../manifest/spec";
import { UnitError } from "./units";

const KEY_VALUE = /^([^=\s]+)=(\S(?:.*\S)?)$/;

/** The on-chain id of one `key=value` attribute. */
export function attributeId(pair: string, field = "attribute"): string {
  const match = KEY_VALUE.exec(pair);
  if (!match) throw new UnitError(field, pair, `"${pair}" is not an attribute; write key=value (e.g. region=eu-west)`);
  return attributeHash(match[1], match[2]);
}

/**
 * A list of attributes as text, comma-separated ("region=eu-west,tier=gpu") or already split, into on-chain ids.
 * An entry that is already a 32-byte hex id is taken as is. Empty input gives an empty list; a repeat is an error.
 */
export function parseAttributes(list: string | readonly string[] | undefined, field = "attributes"): string[] {
  const items = (typeof list === "string" ? list.split(",") : (list ?? [])).map((item) => item.trim());
  const ids: string[] = [];
  for (const item of items) {
    if (item === "" && typeof list === "string") continue;
    const id = isHexString(item, 32) ? item.toLowerCase() : attributeId(item, field);
    if (ids.includes(id)) throw new UnitError(field, list, `"${item}" is listed twice`);
    ids.push(id);
  }
  return ids;
}
