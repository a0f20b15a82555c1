/**
 * `tom3 provider start --config provider.yaml`: the provider daemon in the foreground. Logs are pino JSON lines on
 * stderr; SIGINT or SIGTERM stops every part in reverse order (running containers stay; the next start adopts them).
 * Loaded only by this command: the daemon pulls in Docker, libp2p and express, which no tenant command needs.
 */
import pino from "pino";
import { loadProviderConfig, ProviderConfigError, ProviderDaemon } from "../provider";
import { CliError } from "./errors";

export interface ProviderStartOptions {
  config: string;
  logLevel: string;
}

/** Start the daemon and resolve once a signal (or `stopSignal`) has stopped it. */
export async function runProviderDaemon(options: ProviderStartOptions, stopSignal?: AbortSignal): Promise<void> {
  let config;
  try {
    config = loadProviderConfig(options.config);
  } catch (error) {
    if (error instanceof ProviderConfigError) throw new CliError(error.format());
    throw error;
  }
  const logger = pino({ level: options.logLevel }, pino.destination(2));
  const daemon = new ProviderDaemon({ config, logger });
  try {
    await daemon.start();
  } catch (error) {
    if (error instanceof ProviderConfigError) throw new CliError(error.format());
    throw error;
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
