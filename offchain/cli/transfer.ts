/**
 * `tom3 transfer <amount> <to>`: send TOM3 (the ERC-20) from the key's wallet to another wallet, e.g. a provider's
 * stake. The amount is TOM3 ("10", "0.5") or wei ("1500wei"), as for `deposit`; a revert is decoded
 * ("... holds 0 TOM3, needs 10 TOM3").
 */
import type { Command } from "commander";
import { isAddress } from "ethers";
import { parseTokenAmount } from "../chain/units";
import type { Tom3Client } from "../sdk";
import { CliError } from "./errors";
import { tokens } from "./output";

export function registerTransferCommand(
  program: Command,
  o: { client: (needsKey: boolean) => Promise<Tom3Client>; print: (result: { json: unknown; text: string[] }) => void },
): void {
  program
    .command("transfer")
    .description("send TOM3 from the key's wallet to another wallet (e.g. a provider's, for its stake)")
    .argument("<amount>", "TOM3 (10, 0.5) or wei (1000wei)")
    .argument("<to>", "the receiving address (0x...)")
    .action(async (amount: string, to: string) => {
      const wei = parseTokenAmount(amount, "amount");
      // Refused before any connection: a typo in the address is the user's to fix first.
      if (!isAddress(to)) throw new CliError(`<to>: "${to}" is not an address (0x and 40 hex digits)`, true);
      if (wei === 0n) throw new CliError("<amount>: a transfer must be more than 0", true);
      const tom3 = await o.client(true);
      const result = await tom3.transfer({ to, amount: wei });
      o.print({
        json: result,
        text: [`sent ${tokens(result.amount)} to ${result.to}`, `your wallet: ${tokens(result.balance)}`, `${result.to}: ${tokens(result.received)}`],
      });
    });
}
