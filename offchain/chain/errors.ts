/**
 * Turns a revert from any TOM3 contract into a `Tom3ContractError`: a stable `code` (the custom error's name), typed
 * `args`, the `contract` that declares the error, and a sentence a user can act on ("price 120 is above the order's
 * limit 100") instead of a hex blob.
 *
 * The errors known here are those of the generated ABI module (`abis.ts`: every TOM3 contract plus the OpenZeppelin
 * code they inherit). `MESSAGES` holds one sentence per error; its type makes a missing or stale entry a compile
 * error, and `test/offchain/errors.test.ts` checks the same at run time.
 */
import { AbiCoder, ErrorFragment, Interface, Result, dataSlice, getAddress, isHexString } from "ethers";
import type { InterfaceAbi, JsonFragment } from "ethers";
import { openZeppelinErrorsAbi, tom3Abis, tom3ContractNames } from "./abis";
import { CHARTER_STATES, OPERATION_STATES, ORDER_STATES, PROPOSAL_STATES, RESOURCE_FIELDS, enumName } from "./enums";
import { formatTime, formatTokens } from "./units";

// ------------------------------------------------------------------ types derived from the ABIs

type AbiParameter = { readonly name: string; readonly type: string };

type KnownErrorEntry = Extract<
  (typeof tom3Abis)[keyof typeof tom3Abis][number] | (typeof openZeppelinErrorsAbi)[number],
  { type: "error" }
>;

/** Name of every custom error a TOM3 contract can revert with. */
export type Tom3ErrorName = KnownErrorEntry["name"];

/** Key of a TOM3 contract in the deployment file (`market`, `registry`, ...). */
export type Tom3ContractKey = keyof typeof tom3Abis;

/** How ethers decodes a Solidity value. Enums arrive as `uint8`, hence `bigint`. */
type DecodedValue<T extends string> = T extends `${string}]`
  ? readonly unknown[]
  : T extends `uint${string}` | `int${string}`
    ? bigint
    : T extends "bool"
      ? boolean
      : T extends "tuple"
        ? unknown
        : string;

type InputsToArgs<I extends readonly AbiParameter[]> = I extends unknown
  ? {
      readonly [K in keyof I & `${number}` as I[K]["name"] extends "" ? `arg${K}` : I[K]["name"]]: DecodedValue<
        I[K]["type"]
      >;
    }
  : never;

/** Decoded arguments of error `N`, keyed by parameter name (an unnamed parameter is `arg<index>`). */
export type Tom3ErrorArgs<N extends Tom3ErrorName> = InputsToArgs<Extract<KnownErrorEntry, { name: N }>["inputs"]>;

/** Codes for reverts that are not a custom error of a known ABI. */
export type RevertCode = "Error" | "Panic" | "RevertWithoutData" | "UnrecognisedRevert";

// ------------------------------------------------------------------ the error class

/**
 * A decoded revert. `code` is the custom error's name (or one of `RevertCode`); `args` its decoded arguments;
 * `contract` the TOM3 contract that declares it, when that is certain; `data` the raw revert data.
 */
export class Tom3ContractError<N extends string = string> extends Error {
  override readonly name = "Tom3ContractError";
  readonly code: N;
  readonly args: N extends Tom3ErrorName ? Tom3ErrorArgs<N> : Readonly<Record<string, unknown>>;
  readonly contract: string | undefined;
  /** `Name(type,...)` of the error, e.g. `MarketPriceAboveLimit(uint128,uint128)`; undefined when unrecognised. */
  readonly signature: string | undefined;
  readonly data: string;

  constructor(fields: {
    code: N;
    args: Readonly<Record<string, unknown>>;
    contract?: string;
    signature?: string;
    data: string;
    message: string;
    cause?: unknown;
  }) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code;
    this.args = fields.args as Tom3ContractError<N>["args"];
    this.contract = fields.contract;
    this.signature = fields.signature;
    this.data = fields.data;
  }

  /** Plain-JSON form for logs and wires: bigints become decimal strings. */
  toJSON(): {
    name: string;
    code: string;
    contract?: string;
    args: Record<string, unknown>;
    message: string;
    data: string;
  } {
    return {
      name: this.name,
      code: this.code,
      ...(this.contract === undefined ? {} : { contract: this.contract }),
      args: toPlainJson(this.args) as Record<string, unknown>,
      message: this.message,
      data: this.data,
    };
  }
}

/** Whether `error` is a decoded TOM3 revert, optionally with a given code; narrows `args` accordingly. */
export function isTom3Error<N extends Tom3ErrorName | RevertCode>(
  error: unknown,
  code?: N,
): error is Tom3ContractError<N> {
  return error instanceof Tom3ContractError && (code === undefined || error.code === code);
}

// ------------------------------------------------------------------ decoding

export interface DecodeOptions {
  /** The contract that was called (its key or name). Names `contract` for errors that several contracts declare. */
  contract?: string;
  /** More ABIs whose errors to recognise (they get the generic "Name(arg=value)" message). */
  abis?: readonly InterfaceAbi[];
}

/**
 * Decode the revert carried by `error` (an ethers or JSON-RPC error from a call, an estimateGas or a transaction,
 * with the data at any depth: `data`, `error.data`, `info.error.data`, ...). Returns undefined when `error` carries
 * no revert data at all (a network failure, a mined transaction that reverted: see `findRevertData`).
 */
export function decodeContractError(error: unknown, options: DecodeOptions = {}): Tom3ContractError | undefined {
  if (error instanceof Tom3ContractError) return error;
  const data = findRevertData(error);
  return data === undefined ? undefined : decodeRevertData(data, options, error);
}

/** Decode raw revert data (`0x` + selector + ABI-encoded arguments). Never throws. */
export function decodeRevertData(data: string, options: DecodeOptions = {}, cause?: unknown): Tom3ContractError {
  const hex = data.toLowerCase();
  if (hex === "0x") {
    return new Tom3ContractError({
      code: "RevertWithoutData",
      args: {},
      data: hex,
      cause,
      message: "reverted without data",
    });
  }
  const known = errorIndex(options.abis).get(hex.slice(0, 10));
  if (known) {
    let args: Record<string, unknown> | undefined;
    try {
      args = decodeArgs(known.fragment, hex);
    } catch {
      // Selector clash or truncated data: fall through to "unrecognised".
    }
    if (args) {
      const name = known.fragment.name;
      const describe = known.extra
        ? undefined
        : ((MESSAGES as unknown as Record<string, ((a: Record<string, unknown>) => string) | undefined>)[name] ??
          BUILTIN_MESSAGES[name]);
      const signature = known.fragment.format("sighash");
      return new Tom3ContractError({
        code: name,
        args,
        contract: contractOf(known.declaredBy, options.contract),
        signature,
        data: hex,
        cause,
        message: describe ? describe(args) : genericMessage(name, args),
      });
    }
  }
  return new Tom3ContractError({
    code: "UnrecognisedRevert",
    args: {},
    data: hex,
    cause,
    message: `reverted with unrecognised data ${abbreviate(hex)}`,
  });
}

/**
 * Find the revert data inside an error object from ethers, Hardhat or a JSON-RPC node. Data is a hex string under
 * `data` at any depth of `error` / `info` / `cause` / `data` (geth nests it as `error.data`, ethers as
 * `info.error.data`, Hardhat's provider as `data` or `data.data`); a JSON `body` is parsed too.
 */
export function findRevertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let layer: unknown[] = [error];
  for (let depth = 0; depth < 8 && layer.length > 0; depth++) {
    const next: unknown[] = [];
    for (const node of layer) {
      if (node === null || typeof node !== "object" || seen.has(node)) continue;
      seen.add(node);
      const record = node as Record<string, unknown>;
      if (isRevertData(record.data)) return record.data;
      for (const key of ["error", "info", "cause", "data", "revert"]) next.push(record[key]);
      if (typeof record.body === "string") next.push(parseJson(record.body));
    }
    layer = next;
  }
  return undefined;
}

function isRevertData(value: unknown): value is string {
  // "0x" (no data) or at least a 4-byte selector, whole bytes.
  return typeof value === "string" && isHexString(value) && (value.length === 2 || value.length >= 10);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface IndexedError {
  fragment: ErrorFragment;
  /** TOM3 contracts whose ABI declares the error. */
  declaredBy: string[];
  /** Only known from an ABI the caller passed in: no sentence for it here. */
  extra: boolean;
}

const BUILTIN_ERRORS: readonly JsonFragment[] = [
  { type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] },
  { type: "error", name: "Panic", inputs: [{ name: "code", type: "uint256" }] },
];

let defaultIndex: Map<string, IndexedError> | undefined;

function errorIndex(extraAbis?: readonly InterfaceAbi[]): Map<string, IndexedError> {
  if (!defaultIndex) {
    defaultIndex = new Map();
    const add = (entries: readonly JsonFragment[], contract?: string): void => {
      for (const entry of entries) {
        if (entry.type !== "error") continue;
        const fragment = ErrorFragment.from(entry);
        const indexed = defaultIndex!.get(fragment.selector) ?? { fragment, declaredBy: [], extra: false };
        if (contract && !indexed.declaredBy.includes(contract)) indexed.declaredBy.push(contract);
        defaultIndex!.set(fragment.selector, indexed);
      }
    };
    add(BUILTIN_ERRORS);
    for (const key of Object.keys(tom3Abis) as Tom3ContractKey[]) {
      add(tom3Abis[key] as readonly JsonFragment[], tom3ContractNames[key]);
    }
    add(openZeppelinErrorsAbi as readonly JsonFragment[]);
  }
  if (!extraAbis || extraAbis.length === 0) return defaultIndex;
  const index = new Map(defaultIndex);
  for (const abi of extraAbis) {
    for (const fragment of new Interface(abi).fragments) {
      if (fragment instanceof ErrorFragment && !index.has(fragment.selector)) {
        index.set(fragment.selector, { fragment, declaredBy: [], extra: true });
      }
    }
  }
  return index;
}

function decodeArgs(fragment: ErrorFragment, hex: string): Record<string, unknown> {
  const values = AbiCoder.defaultAbiCoder().decode(fragment.inputs, dataSlice(hex, 4));
  const args: Record<string, unknown> = {};
  fragment.inputs.forEach((input, i) => {
    const value: unknown = values[i];
    args[input.name || `arg${i}`] = value instanceof Result ? value.toArray(true) : value;
  });
  return args;
}

function contractOf(declaredBy: string[], called: string | undefined): string | undefined {
  const calledName =
    called === undefined ? undefined : ((tom3ContractNames as Record<string, string>)[called] ?? called);
  if (calledName !== undefined && declaredBy.includes(calledName)) return calledName;
  return declaredBy.length === 1 ? declaredBy[0] : undefined;
}

function genericMessage(name: string, args: Record<string, unknown>): string {
  const list = Object.entries(args).map(([key, value]) => `${key.replace(/_$/, "")}=${plain(value)}`);
  return `${name}(${list.join(", ")})`;
}

function abbreviate(hex: string): string {
  const max = 2 + 8 + 64 * 4;
  return hex.length <= max ? hex : `${hex.slice(0, max)}… (${(hex.length - 2) / 2} bytes)`;
}

function plain(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(plain).join(", ")}]`;
  if (typeof value === "string" && !isHexString(value)) return JSON.stringify(value);
  return String(value);
}

function toPlainJson(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlainJson(v)]));
  }
  return value;
}

// ------------------------------------------------------------------ sentences

const PANIC_REASONS: Record<number, string> = {
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division or modulo by zero",
  0x21: "value out of range for an enum",
  0x22: "malformed storage byte array",
  0x31: "pop on an empty array",
  0x32: "array index out of bounds",
  0x41: "out of memory",
  0x51: "call to an uninitialised function",
};

/** The states whose bits are set in a bitmap (`bytes32` as hex), e.g. Governor's `expectedStates`. */
function bitmapStates(names: readonly string[], bitmap: string): string {
  const bits = BigInt(bitmap);
  const set = names.filter((_, i) => (bits >> BigInt(i)) & 1n);
  if (set.length === 0) return "none";
  return set.length === 1 ? set[0] : `${set.slice(0, -1).join(", ")} or ${set[set.length - 1]}`;
}

function address(value: string): string {
  return getAddress(value);
}

/** Sentences for Solidity's built-in `Error(string)` and `Panic(uint256)`. */
const BUILTIN_MESSAGES: Record<string, ((args: Record<string, unknown>) => string) | undefined> = {
  Error: ({ message }) => `reverted: ${String(message)}`,
  Panic: ({ code }) =>
    `panic 0x${(code as bigint).toString(16).padStart(2, "0")}: ${PANIC_REASONS[Number(code)] ?? "unknown panic code"}`,
};

type MessageTable = { readonly [N in Tom3ErrorName]: (args: Tom3ErrorArgs<N>) => string };

const MESSAGES: MessageTable = {
  // ---------------------------------------------------------------- Market
  MarketZeroAmount: () => "the amount is zero",
  MarketAmountTooLarge: ({ amount, max }) => `amount ${amount} is above the maximum ${max}`,
  MarketInsufficientBalance: ({ account, available, needed }) =>
    `${address(account)} has ${formatTokens(available)} available in the market but needs ${formatTokens(needed)}`,
  MarketUnauthorized: ({ caller }) =>
    `${address(caller)} is not allowed to do this (not the owner, tenant or an approved operator)`,
  MarketUnknownDeployment: ({ deploymentId }) => `deployment ${deploymentId} does not exist`,
  MarketDeploymentClosed: ({ deploymentId }) => `deployment ${deploymentId} is closed`,
  MarketZeroVersion: () => "the deployment version is zero",
  MarketSameVersion: ({ version }) => `the deployment already has version ${version}`,
  MarketUnknownOrder: ({ orderId }) => `order ${orderId} does not exist`,
  MarketOrderNotOpen: ({ orderId, state }) => `order ${orderId} is not open (it is ${enumName(ORDER_STATES, state)})`,
  MarketInvalidSpec: ({ field }) => `the order's requirement spec is invalid: ${field}`,
  MarketBiddingClosed: ({ orderId, closesAt }) => `bidding on order ${orderId} closed at ${formatTime(closesAt)}`,
  MarketBiddingOpen: ({ orderId, closesAt }) =>
    `bidding on order ${orderId} is open until ${formatTime(closesAt)}; only the tenant can match it before then`,
  MarketTenantCannotBid: ({ tenant }) => `${address(tenant)} is the order's tenant and cannot bid on it`,
  MarketNotProvider: ({ account }) => `${address(account)} is not a registered provider`,
  MarketPriceAboveLimit: ({ price, limit }) => `price ${price} is above the order's limit ${limit}`,
  MarketZeroPrice: () => "the price is zero",
  MarketResourcesBelowRequest: ({ resource, offered, requested }) => {
    const [name, unit] = RESOURCE_FIELDS[Number(resource)] ?? [`resource #${resource}`, ""];
    return `offered ${name} ${offered}${unit && ` ${unit}`} is below the requested ${requested}${unit && ` ${unit}`}`;
  },
  MarketReputationTooLow: ({ reputation, minimum }) =>
    `reputation ${reputation} is below the order's minimum ${minimum}`,
  MarketMissingAttribute: ({ attribute }) => `the provider does not hold the required attribute ${attribute}`,
  MarketDuplicateBid: ({ orderId, provider, bidId }) =>
    `${address(provider)} already bid on order ${orderId} (bid ${bidId})`,
  MarketNoBids: ({ orderId }) => `order ${orderId} has no bids`,
  MarketUnknownBid: ({ bidId }) => `bid ${bidId} does not exist`,
  MarketWinningBid: ({ bidId }) => `bid ${bidId} won its order; its bond is handled by the charter`,
  MarketBidStillBinding: ({ bidId, orderId }) =>
    `bid ${bidId} is still binding: order ${orderId} is not matched, cancelled or expired yet`,
  MarketBondAlreadyReleased: ({ bidId }) => `the bond of bid ${bidId} was already released`,
  MarketUnknownCharter: ({ charterId }) => `charter ${charterId} does not exist`,
  MarketCharterNotPending: ({ charterId, state }) =>
    `charter ${charterId} is not waiting for acknowledgement (it is ${enumName(CHARTER_STATES, state)})`,
  MarketCharterNotActive: ({ charterId, state }) =>
    `charter ${charterId} is not active (it is ${enumName(CHARTER_STATES, state)})`,
  MarketCharterClosed: ({ charterId }) => `charter ${charterId} is closed`,
  MarketCharterEnded: ({ charterId, endsAt }) => `charter ${charterId} ended at ${formatTime(endsAt)}`,
  MarketAcknowledgeTooLate: ({ charterId, acknowledgeBy }) =>
    `too late to acknowledge charter ${charterId}: the deadline was ${formatTime(acknowledgeBy)}`,
  MarketStartTimeoutNotOver: ({ charterId, acknowledgeBy }) =>
    `charter ${charterId} can still be acknowledged until ${formatTime(acknowledgeBy)}`,
  MarketNothingToClaim: ({ charterId }) => `charter ${charterId} has nothing to claim yet`,
  MarketOperatorAllowanceExceeded: ({ owner, operator, allowance, needed }) =>
    `operator ${address(operator)} may lock ${formatTokens(allowance)} more of ${address(owner)}'s balance but needs ${formatTokens(needed)}`,
  MarketInvalidOperator: ({ operator }) => `${address(operator)} cannot be an operator`,
  MarketInvalidParameter: ({ name, value }) => `${value} is not a valid value for ${name}`,

  // ---------------------------------------------------------------- ProviderRegistry
  ProviderRegistryAlreadyRegistered: ({ provider }) => `${address(provider)} is already registered as a provider`,
  ProviderRegistryNotRegistered: ({ account }) => `${address(account)} is not a registered provider`,
  ProviderRegistryEmptyEndpoint: () => "the provider endpoint is empty",
  ProviderRegistryEndpointTooLong: ({ length, maxLength }) =>
    `the provider endpoint is ${length} bytes long; at most ${maxLength} are allowed`,
  ProviderRegistryTooManyAttributes: ({ count, maxCount }) =>
    `${count} attributes given; at most ${maxCount} are allowed`,
  ProviderRegistryZeroAmount: () => "the amount is zero",
  ProviderRegistryInsufficientStake: ({ stake, requested }) =>
    `stake is ${formatTokens(stake)}, less than the ${formatTokens(requested)} requested`,
  ProviderRegistryNothingUnbonding: ({ provider }) => `${address(provider)} has no stake unbonding`,
  ProviderRegistryUnbondingNotOver: ({ releaseAt, now_ }) =>
    `the unbonding stake is released at ${formatTime(releaseAt)} (now ${formatTime(now_)})`,
  ProviderRegistryUnauthorized: ({ caller }) =>
    `${address(caller)} is not allowed to do this (not the owner or the market)`,
  ProviderRegistryStakeOverflow: ({ stake }) => `a stake of ${stake} is too large`,
  ProviderRegistryInvalidParameter: ({ value }) => `${value} is not a valid parameter value`,
  ProviderRegistryDuplicateAttribute: ({ attribute }) => `attribute ${attribute} is listed twice`,

  // ---------------------------------------------------------------- CertificateRegistry
  CertificateRegistryNotProvider: ({ account }) =>
    `${address(account)} is not a registered provider and cannot publish a certificate`,
  CertificateRegistryMalformedCertificate: () => "the certificate is not a DER-encoded SEQUENCE",
  CertificateRegistryCertificateTooLarge: ({ length, maxLength }) =>
    `the certificate is ${length} bytes long; at most ${maxLength} are allowed`,
  CertificateRegistryNoCertificate: ({ provider }) => `${address(provider)} has no root certificate`,

  // ---------------------------------------------------------------- UsageLedger
  UsageLedgerUnknownCharter: ({ charterId }) => `charter ${charterId} does not exist`,
  UsageLedgerNotProvider: ({ charterId, caller }) => `${address(caller)} is not the provider of charter ${charterId}`,
  UsageLedgerNotAcknowledged: ({ charterId }) => `charter ${charterId} has not been acknowledged`,
  UsageLedgerPeriodNotIncreasing: ({ periodEnd, lastPeriodEnd }) =>
    `usage period end ${formatTime(periodEnd)} is not after the last reported one, ${formatTime(lastPeriodEnd)}`,
  UsageLedgerPeriodInFuture: ({ periodEnd, now_ }) =>
    `usage period end ${formatTime(periodEnd)} is in the future (now ${formatTime(now_)})`,
  UsageLedgerEmptyCiphertext: () => "the usage ciphertext hash is empty",

  // ---------------------------------------------------------------- TOM3Token
  TOM3TokenInvalidInitialMint: ({ holder, supply }) =>
    `cannot mint an initial supply of ${supply} to ${address(holder)}: both must be non-zero`,

  // ---------------------------------------------------------------- OpenZeppelin: ownership and access control
  OwnableUnauthorizedAccount: ({ account }) => `${address(account)} is not the owner`,
  OwnableInvalidOwner: ({ owner }) => `${address(owner)} cannot be the owner`,
  AccessControlUnauthorizedAccount: ({ account, neededRole }) => `${address(account)} lacks role ${neededRole}`,
  AccessControlBadConfirmation: () => "an account can only renounce its own roles",

  // ---------------------------------------------------------------- OpenZeppelin: ERC-20 and permits
  ERC20InsufficientBalance: ({ sender, balance, needed }) =>
    `${address(sender)} holds ${formatTokens(balance)} but needs ${formatTokens(needed)}`,
  ERC20InsufficientAllowance: ({ spender, allowance, needed }) =>
    `${address(spender)} is allowed to spend ${formatTokens(allowance)} but needs ${formatTokens(needed)} (approve more first)`,
  ERC20InvalidSender: ({ sender }) => `${address(sender)} cannot send tokens`,
  ERC20InvalidReceiver: ({ receiver }) => `${address(receiver)} cannot receive tokens`,
  ERC20InvalidApprover: ({ approver }) => `${address(approver)} cannot approve`,
  ERC20InvalidSpender: ({ spender }) => `${address(spender)} cannot be a spender`,
  ERC2612ExpiredSignature: ({ deadline }) => `the permit expired at ${formatTime(deadline)}`,
  ERC2612InvalidSigner: ({ signer, owner }) =>
    `the permit was signed by ${address(signer)}, not by the owner ${address(owner)}`,
  InvalidAccountNonce: ({ account, currentNonce }) =>
    `wrong nonce for ${address(account)}: the current one is ${currentNonce}`,
  SafeERC20FailedOperation: ({ token }) => `a transfer of token ${address(token)} failed`,
  SafeERC20FailedDecreaseAllowance: ({ spender, currentAllowance, requestedDecrease }) =>
    `cannot decrease ${address(spender)}'s allowance of ${currentAllowance} by ${requestedDecrease}`,

  // ---------------------------------------------------------------- OpenZeppelin: signatures, votes, utilities
  ECDSAInvalidSignature: () => "the signature is invalid",
  ECDSAInvalidSignatureLength: ({ length }) => `the signature is ${length} bytes long; 65 are expected`,
  ECDSAInvalidSignatureS: ({ s }) => `the signature's s value ${s} is not in the lower half order`,
  VotesExpiredSignature: ({ expiry }) => `the delegation signature expired at ${formatTime(expiry)}`,
  ERC5805FutureLookup: ({ timepoint, clock }) => `timepoint ${timepoint} is not in the past (the clock is at ${clock})`,
  ERC6372InconsistentClock: () => "the voting clock is inconsistent",
  CheckpointUnorderedInsertion: () => "a checkpoint was written out of order",
  ReentrancyGuardReentrantCall: () => "reentrant call refused",
  SafeCastOverflowedUintDowncast: ({ bits, value }) => `${value} does not fit in ${bits} bits`,
  SafeCastOverflowedIntDowncast: ({ bits, value }) => `${value} does not fit in a signed ${bits}-bit integer`,
  SafeCastOverflowedIntToUint: ({ value }) => `${value} is negative`,
  SafeCastOverflowedUintToInt: ({ value }) => `${value} does not fit in int256`,
  AddressEmptyCode: ({ target }) => `${address(target)} has no contract code`,
  FailedCall: () => "a low-level call failed",
  FailedDeployment: () => "a contract deployment failed",
  InsufficientBalance: ({ balance, needed }) => `the contract's ether balance ${balance} is below the ${needed} needed`,
  MissingPrecompile: ({ arg0 }) => `the precompile at ${address(arg0)} is missing on this chain`,
  StringTooLong: ({ str }) => `the string ${JSON.stringify(str)} is too long`,
  InvalidShortString: () => "invalid short string",
  StringsInsufficientHexLength: ({ value, length }) => `${value} does not fit in ${length} hex bytes`,
  StringsInvalidAddressFormat: () => "the string is not a valid address",
  StringsInvalidChar: () => "the string has an invalid character",

  // ---------------------------------------------------------------- OpenZeppelin: Governor
  GovernorAlreadyCastVote: ({ voter }) => `${address(voter)} already voted on this proposal`,
  GovernorAlreadyQueuedProposal: ({ proposalId }) => `proposal ${proposalId} is already queued`,
  GovernorDisabledDeposit: () => "the governor does not accept deposits",
  GovernorInsufficientProposerVotes: ({ proposer, votes, threshold }) =>
    `${address(proposer)} has ${votes} votes; proposing needs ${threshold}`,
  GovernorInvalidProposalLength: ({ targets, calldatas, values }) =>
    `a proposal needs as many targets (${targets}) as calldatas (${calldatas}) and values (${values}), and at least one`,
  GovernorInvalidQuorumFraction: ({ quorumNumerator, quorumDenominator }) =>
    `quorum ${quorumNumerator}/${quorumDenominator} is not a valid fraction`,
  GovernorInvalidSignature: ({ voter }) => `the vote signature is not ${address(voter)}'s`,
  GovernorInvalidVoteParams: () => "the vote parameters are invalid",
  GovernorInvalidVoteType: () => "the vote type is invalid (use for, against or abstain)",
  GovernorInvalidVotingPeriod: ({ votingPeriod }) => `voting period ${votingPeriod} is invalid`,
  GovernorNonexistentProposal: ({ proposalId }) => `proposal ${proposalId} does not exist`,
  GovernorNotQueuedProposal: ({ proposalId }) => `proposal ${proposalId} is not queued`,
  GovernorOnlyExecutor: ({ account }) => `${address(account)} is not the governor's executor`,
  GovernorQueueNotImplemented: () => "this governor has no queue step",
  GovernorRestrictedProposer: ({ proposer }) => `${address(proposer)} may not submit this proposal`,
  GovernorUnableToCancel: ({ proposalId, account }) => `${address(account)} cannot cancel proposal ${proposalId}`,
  GovernorUnexpectedProposalState: ({ proposalId, current, expectedStates }) =>
    `proposal ${proposalId} is ${enumName(PROPOSAL_STATES, current)}; this needs it to be ` +
    bitmapStates(PROPOSAL_STATES, expectedStates),

  // ---------------------------------------------------------------- OpenZeppelin: TimelockController
  TimelockInvalidOperationLength: ({ targets, payloads, values }) =>
    `an operation needs as many targets (${targets}) as payloads (${payloads}) and values (${values})`,
  TimelockInsufficientDelay: ({ delay, minDelay }) => `delay ${delay} s is below the minimum ${minDelay} s`,
  TimelockUnexpectedOperationState: ({ operationId, expectedStates }) =>
    `timelock operation ${operationId} is not ${bitmapStates(OPERATION_STATES, expectedStates)}`,
  TimelockUnexecutedPredecessor: ({ predecessorId }) => `timelock predecessor ${predecessorId} has not been executed`,
  TimelockUnauthorizedCaller: ({ caller }) => `${address(caller)} may not call the timelock directly`,
};

/** The error names that have a sentence (for the completeness test). */
export function describedErrorNames(): string[] {
  return Object.keys(MESSAGES);
}
