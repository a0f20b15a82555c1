/**
 * `tom3 provider init` writes a working configuration; `tom3 provider start --config provider.yaml` runs the daemon
 * in the foreground. Logs are pino JSON lines on stderr; SIGINT or SIGTERM stops every part in reverse order
 * (running containers stay; the next start adopts them).
 * The daemon (Docker, libp2p, express) is loaded only by `start`: no other command needs it.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { Wallet } from "ethers";
import { formatResources, formatTokens } from "../chain/units";
import { requestChainId } from "../chain/rpc";
import { CliError } from "./errors";
import type { InitProviderOptions } from "../provider/init";

export interface ProviderStartOptions {
  config: string;
  logLevel: string;
}

/** The errors the daemon's start-up words for the operator: printed as they are, no stack. */
// (A ProviderConfigError goes through as it is: `describeFailure` prints each of its located problems.)
const OPERATOR_ERRORS = new Set(["ProviderConfigFieldError", "RegistrationError", "DeploymentFileError"]);

function forOperator(error: unknown): unknown {
  if (!(error instanceof Error) || !OPERATOR_ERRORS.has(error.name)) return error;
  return new CliError(error.message);
}

/** Start the daemon and resolve once a signal (or `stopSignal`) has stopped it. */
export async function runProviderDaemon(options: ProviderStartOptions, stopSignal?: AbortSignal): Promise<void> {
  const { loadProviderConfig, ProviderDaemon } = await import("../provider");
  const { default: pino } = await import("pino");
  let config;
  try {
    config = loadProviderConfig(options.config);
  } catch (error) {
    throw forOperator(error);
  }
  const logger = pino({ level: options.logLevel }, pino.destination(2));
  const daemon = new ProviderDaemon({ config, logger });
  try {
    await daemon.start();
  } catch (error) {
    throw forOperator(error);
  }
  await new Promise<void>((resolve) => {
    const done = (signal: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      logger.info({ signal }, "stopping");
      resolve();
    };
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    stopSignal?.addEventListener("abort", () => done("abort"), { once: true });
  });
  await daemon.stop();
  logger.info("provider daemon stopped");
}

/** `tom3 provider init`'s flags: the options of `initProviderConfig` but what comes from the global options. */
type InitFlags = Omit<InitProviderOptions, "rpcUrl" | "deploymentsDir" | "keyEnv" | "keystore" | "attributes"> & {
  /** `key=value`, repeated. */
  attribute?: string[];
};

/**
 * Add `tom3 provider init` under `provider`. Chain RPC and deployments come from the global `--rpc` /
 * `--deployments` (or TOM3_RPC_URL / TOM3_DEPLOYMENTS_DIR); the key from `--keystore`, else the variable named by
 * `--key-env` when given on the command line, else TOM3_PROVIDER_KEY.
 */
export function registerProviderInit(
  provider: Command,
  out: { print: (result: { json: unknown; text: string[] }) => void; io: { stderr: (text: string) => void } },
): void {
  provider
    .command("init")
    .description("write a working provider configuration: paths relative to it, capacity measured on this host")
    .option("--config <file>", "the file to write", "provider.yaml")
    .option("--data-dir <dir>", "the daemon's state (default: tom3-provider-data next to the config)")
    .option("--api <host:port>", "the provider API's address (default 0.0.0.0:8443)")
    .option("--listen <multiaddr>", "libp2p listen address (default /ip4/0.0.0.0/tcp/4001)")
    .option("--announce <address...>", "what peers dial (multiaddrs, or the API's https URL); default: the listen addresses")
    .option("--attribute <key=value...>", "self-declared attributes, e.g. region=eu-west")
    .option("--cpu <cpus>", "offer this many CPUs instead of what the host has")
    .option("--memory <size>", "offer this much memory (e.g. 8Gi) instead of the host's")
    .option("--storage <size>", "offer this much storage instead of the data directory's free disk")
    .option("--bandwidth <rate>", "the uplink to offer (default 100Mbps)")
    .option("--stake <amount>", "TOM3 to keep staked (or ...wei); default 1000")
    .option("--publish-address <ip>", "where containers' published ports bind (default 0.0.0.0)")
    .addOption(new Option("--pull-policy <policy>", "when images are pulled (default if-missing)").choices(["never", "if-missing", "always"]))
    .option("--password-env <var>", "with --keystore: the variable holding its password (default TOM3_PROVIDER_KEYSTORE_PASSWORD)")
    .option("--force", "replace an existing file")
    .addHelpText(
      "after",
      "\nThe chain comes from the global --rpc and --deployments (or TOM3_RPC_URL, TOM3_DEPLOYMENTS_DIR); the key from\n" +
        "TOM3_PROVIDER_KEY, the variable a global --key-env names, or a global --keystore. Example:\n" +
        "  tom3 --rpc http://127.0.0.1:8545 provider init --config provider.yaml --attribute region=eu-west",
    )
    .action(async (flags: InitFlags, command: Command) => {
      const { initProviderConfig, DEFAULT_PROVIDER_KEY_ENV, ProviderInitError } = await import("../provider/init");
      const { transferAmount } = await import("../provider/registration");
      const program = command.parent!.parent!;
      const globals = program.opts() as { rpc: string; deployments: string; keyEnv: string; keystore?: string };
      const keyEnv = program.getOptionValueSource("keyEnv") === "cli" ? globals.keyEnv : DEFAULT_PROVIDER_KEY_ENV;
      const attributes: Record<string, string> = {};
      for (const pair of flags.attribute ?? []) {
        const at = pair.indexOf("=");
        if (at <= 0) throw new CliError(`--attribute ${pair}: write key=value (e.g. region=eu-west)`, true);
        attributes[pair.slice(0, at)] = pair.slice(at + 1);
      }
      let result;
      try {
        result = initProviderConfig({
          ...flags,
          rpcUrl: globals.rpc,
          deploymentsDir: resolve(globals.deployments),
          keyEnv,
          keystore: globals.keystore,
          attributes,
        });
      } catch (error) {
        if (error instanceof ProviderInitError) throw new CliError(error.message);
        throw error;
      }
      for (const warning of result.warnings) out.io.stderr(`warning: ${warning.path} (${flags.config}): ${warning.message}\n`);
      const chainProblem = await checkChain(result.config.chain.rpcUrl, result.config.chain.deploymentsDir ?? resolve(globals.deployments));
      // One warning per field: init's own look at the deployments directory may have said it already.
      if (chainProblem && !result.warnings.some((w) => w.path === chainProblem.field)) out.io.stderr(`warning: ${chainProblem.field} (${flags.config}): ${chainProblem.message}\n`);

      const env = process.env[keyEnv]?.trim();
      let address: string | undefined;
      if (!globals.keystore && env) {
        try {
          address = new Wallet(env.startsWith("0x") ? env : `0x${env}`).address;
        } catch {
          // `tom3 provider start` says the key is not one; init does not need it.
        }
      }
      const c = result.config;
      const send = `\`tom3 transfer ${transferAmount(c.register.stake)} ${address ?? "<address>"}\``;
      const text = [
        `wrote ${flags.config}`,
        `  chain: ${c.chain.rpcUrl}, deployments ${c.chain.deploymentsDir}`,
        `  capacity: ${formatResources(c.capacity as Parameters<typeof formatResources>[0])}`,
        `  key: ${globals.keystore ? `keystore ${globals.keystore} (password in ${c.key.passwordEnv})` : `from ${keyEnv}`}${address ? ` (provider ${address})` : ` (not set yet: export ${keyEnv} before starting)`}`,
        `  attributes: ${c.attributes.size > 0 ? [...c.attributes.values()].join(", ") : "none (orders that require one, like examples/hello.yaml's region=eu-west, get no bid: add --attribute region=eu-west)"}`,
        `  stake: ${formatTokens(c.register.stake)}, registered and staked on every start`,
        `next: give ${address ?? "the provider's address"} ETH for gas, and TOM3 for the stake from a wallet that holds some (TOM3_PRIVATE_KEY=0x… ${send.slice(1, -1)}), then`,
        `  tom3 provider start --config ${flags.config}`,
      ];
      out.print({
        json: { file: result.file, provider: address, capacity: c.capacity, host: result.host, warnings: result.warnings, stake: String(c.register.stake) },
        text,
      });
    });
}

/**
 * What `provider start` would refuse about the chain, said at init, while the flags are at hand: a node that does
 * not answer at the URL written (the default 8545 when neither --rpc nor TOM3_RPC_URL names another), or no
 * deployment record for its chain. The file is written anyway (a node may come later).
 */
async function checkChain(rpcUrl: string, deploymentsDir: string): Promise<{ field: string; message: string } | undefined> {
  let chainId: bigint;
  try {
    chainId = await requestChainId(rpcUrl, 5_000);
  } catch (error) {
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    return {
      field: "chain.rpcUrl",
      message:
        `no node answers at ${rpcUrl} (${reason}), so \`provider start\` would stop here: start the node, or write ` +
        `the file again with its URL (\`tom3 --rpc <url> provider init --force ...\`, or TOM3_RPC_URL; ` +
        `TOM3_LOCAL_RPC_URL is read by the Hardhat tasks only)`,
    };
  }
  const record = join(deploymentsDir, `${chainId}.json`);
  if (!existsSync(record)) {
    return {
      field: "chain.deployments",
      message: `${record} does not exist: the node at ${rpcUrl} (chain ${chainId}) has no TOM3 deployment record here; deploy the suite there (\`npm run deploy\`) or pass --deployments <dir>`,
    };
  }
  return undefined;
}
