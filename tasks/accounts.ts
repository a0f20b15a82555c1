/**
 * Escrow accounts in the Market: `tom3:deposit`, `tom3:withdraw`, `tom3:balance`.
 */
import { types } from "hardhat/config";
import type { Tom3Context } from "./lib";
import { addressFlag, amountFlag, tokens, time, tom3Task, txFacts } from "./lib";
import type { SentTx } from "./lib";

/**
 * Approve `spender` (the market or the registry) for `amount` of the signer's TOM3 unless the allowance already
 * covers it. Approves the exact amount, never an unlimited allowance.
 */
export async function approveIfNeeded(
  ctx: Tom3Context,
  spender: "market" | "registry",
  amount: bigint,
): Promise<SentTx | undefined> {
  const spenderAddress = ctx.deployment.contracts[spender];
  const allowance = await ctx.contracts.token.allowance(ctx.signer.address, spenderAddress);
  if (allowance >= amount) return undefined;
  return ctx.send("token", "approve", () => ctx.contracts.token.approve(spenderAddress, amount));
}

tom3Task<{ amount: string }>(
  "tom3:deposit",
  "Deposit TOM3 into your market account (approves the market first if needed)",
  (t) => t.addParam("amount", 'Amount: "10" (TOM3) or "10wei"'),
  async (args, ctx) => {
    const amount = amountFlag("amount", args.amount);
    const approval = await approveIfNeeded(ctx, "market", amount);
    const sent = await ctx.send("market", "deposit", () => ctx.contracts.market.deposit(amount));
    const [available, locked] = await ctx.contracts.market.balanceOf(ctx.signer.address);
    return {
      account: ctx.signer.address,
      deposited: tokens(sent.event("market", "Deposited").amount),
      available: tokens(available),
      locked: tokens(locked),
      approvalTx: approval?.hash,
      ...txFacts(sent),
    };
  },
);

tom3Task<{ amount: string }>(
  "tom3:withdraw",
  "Withdraw TOM3 from your market account's available balance",
  (t) => t.addParam("amount", 'Amount: "10" (TOM3), "10wei", or "all" for the whole available balance'),
  async (args, ctx) => {
    const amount =
      args.amount === "all"
        ? (await ctx.contracts.market.balanceOf(ctx.signer.address))[0]
        : amountFlag("amount", args.amount);
    const sent = await ctx.send("market", "withdraw", () => ctx.contracts.market.withdraw(amount));
    const [available, locked] = await ctx.contracts.market.balanceOf(ctx.signer.address);
    return {
      account: ctx.signer.address,
      withdrawn: tokens(sent.event("market", "Withdrawn").amount),
      available: tokens(available),
      locked: tokens(locked),
      ...txFacts(sent),
    };
  },
);

tom3Task<{ account?: string }>(
  "tom3:balance",
  "Show an account's TOM3: wallet, market account (available and locked) and, for a provider, stake and reputation",
  (t) => t.addOptionalParam("account", "Account to show (default: --from)", undefined, types.string),
  async (args, ctx) => {
    const account = args.account ? addressFlag("account", args.account) : ctx.signer.address;
    const { market, registry, token } = ctx.contracts;
    const [wallet, [available, locked], isProvider] = await Promise.all([
      token.balanceOf(account),
      market.balanceOf(account),
      registry.isProvider(account),
    ]);
    const report = {
      account,
      wallet: tokens(wallet),
      available: tokens(available),
      locked: tokens(locked),
      isProvider,
    };
    if (!isProvider) return report;
    const [stake, [unbonding, releaseAt], reputation, [completed, failed], endpoint] = await Promise.all([
      registry.stakeOf(account),
      registry.unbondingOf(account),
      registry.reputationOf(account),
      registry.deliveryOf(account),
      registry.endpointOf(account),
    ]);
    return {
      ...report,
      endpoint,
      stake: tokens(stake),
      unbonding: tokens(unbonding),
      releaseAt: unbonding > 0n ? time(releaseAt) : undefined,
      reputation,
      chartersCompleted: completed,
      chartersFailed: failed,
    };
  },
);
