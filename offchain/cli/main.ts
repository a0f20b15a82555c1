/**
 * `tom3`: the tenant's command line over the SDK, and `tom3 provider start` for providers. Run it with
 * `npx tom3 <command>` (bin/tom3.js loads this file).
 *
 * Every command takes --json (one JSON document on stdout); progress lines go to stderr; a failure is one
 * readable line on stderr and exit code 1 (2 for a usage error). Keys come from the environment or a keystore,
 * never from the command line.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { parseDurationSeconds, parseTokenAmount } from "../chain/units";
import type { ParsedManifest } from "../manifest";
import { readManifestFile } from "../manifest/file";
import type { DeliveryTransport, Tom3Client, Tom3ProgressEvent } from "../sdk";
import { DELIVERY_TRANSPORTS } from "./delivery";
import { createClient, defaultDeploymentsDir, defaultRpcUrl, DEFAULT_KEY_ENV, loadCliEnv } from "./context";
import type { GlobalOptions } from "./context";
import { CliError, describeFailure } from "./errors";
import { price, progressLine, toJsonText, tokens, when } from "./output";
import { registerProviderInit } from "./provider";
import { registerTransferCommand } from "./transfer";
import { serviceLine, serviceUrls, settleUnmatched, waitForRollout } from "./services";

/**
 * What a command produced: the JSON document and the lines printed without --json. `failed`: the command did its
 * part but the outcome is not what was asked (nothing matched, a rollout did not finish): one sentence, printed on
 * stderr as `error: ...` (and as the JSON's `error`), and exit code 1.
 */
interface Result {
  json: unknown;
  text: string[];
  failed?: { name: string; message: string };
}

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Run the CLI on `argv` (as process.argv: node, script, arguments...); resolves to the exit code. */
export async function run(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  // What to undo when the command ends: providers to destroy, a p2p node to stop.
  const cleanups: (() => Promise<void>)[] = [];
  const envProblem = loadCliEnv(); // .env first: the option defaults below read TOM3_* variables
  let json = argv.includes("--json");
  let exitCode = 0;
  const program = buildProgram(io, cleanups, (result) => {
    const document = result.failed ? { ...(result.json as object), error: result.failed } : result.json;
    io.stdout(json ? `${toJsonText(document)}\n` : result.text.map((line) => `${line}\n`).join(""));
    if (result.failed) io.stderr(`error: ${result.failed.message}\n`);
    exitCode = result.failed ? 1 : 0;
  });
  try {
    if (envProblem) throw envProblem;
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the message (or the help) already.
      return error.exitCode === 0 ? 0 : 2;
    }
    json = json || Boolean((program.opts() as Partial<GlobalOptions>).json);
    const failure = describeFailure(error);
    for (const line of failure.lines) io.stderr(`${line}\n`);
    if (json) io.stdout(`${toJsonText({ error: failure.json })}\n`);
    return failure.exitCode;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

function buildProgram(io: Io, cleanups: (() => Promise<void>)[], print: (result: Result) => void): Command {
  const program = new Command("tom3")
    .description("TOM3 tenant command line: deploy workloads on the open compute market")
    .version(packageVersion(), "-V, --version", "print the version of tom3")
    .addOption(new Option("--rpc <url>", "JSON-RPC URL of the node (env TOM3_RPC_URL)").default(defaultRpcUrl()))
    .addOption(
      new Option("--deployments <dir>", "directory of deployment records (env TOM3_DEPLOYMENTS_DIR)").default(
        defaultDeploymentsDir(),
      ),
    )
    .option("--key-env <var>", "environment variable holding the private key", DEFAULT_KEY_ENV)
    .option("--keystore <file>", "encrypted JSON keystore (password in TOM3_KEYSTORE_PASSWORD)")
    .option("--json", "print the result as one JSON document", false)
    .option("-q, --quiet", "no progress lines on stderr", false)
    .showHelpAfterError("(run tom3 --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  const globals = (): GlobalOptions => program.opts() as GlobalOptions;
  const onProgress = (event: Tom3ProgressEvent): void => {
    if (globals().quiet) return;
    // The countdown is for a person watching; a --json run is read by a program.
    if (event.type === "biddingWindow" && globals().json) return;
    const line = progressLine(event);
    if (line !== undefined) io.stderr(`${line}\n`);
  };
  const client = async (needsKey: boolean, delivery: DeliveryTransport | false = false): Promise<Tom3Client> => {
    return createClient(globals(), needsKey, { onProgress, deliver: delivery, cleanups });
  };
  const deliveryOption = () =>
    new Option("--delivery <transport>", "how to send the workload: p2p (libp2p), http (signed upload to the provider's API), or auto (p2p, then http)")
      .choices(DELIVERY_TRANSPORTS)
      .default("auto");
  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<Result>) =>
    async (...args: A): Promise<void> => {
      print(await fn(...args));
    };

  // ---------------------------------------------------------------- deploy

  program
    .command("deploy")
    .description("put a manifest on the market: escrow, deployment, one order per group, matches, delivery")
    .argument("<manifest>", "the manifest file (YAML)")
    .option("--no-wait", "stop once the orders are open")
    .option("--no-deliver", "stop once the orders are matched (do not send the workload)")
    .option("--no-permit", "deposit with approve + deposit instead of a permit signature")
    .option("--timeout <duration>", "how long to wait for matches after the window closes, and for acknowledgements")
    .option("--keep-open", "leave an order that got no bid open (default: cancel it, so its escrow is unlocked)")
    .addOption(deliveryOption())
    .action(
      action(async (file: string, options: { wait: boolean; deliver: boolean; permit: boolean; timeout?: string; keepOpen?: boolean; delivery: DeliveryTransport }) => {
        const text = readText(file);
        await parseText(text, file); // refuse a bad manifest before connecting anywhere
        const timeoutMs = options.timeout ? durationOption("--timeout", options.timeout) * 1000 : undefined;
        const tom3 = await client(true, options.deliver && options.wait && options.delivery);
        const deployed = await tom3.deployManifest({ manifest: text, source: file, permit: options.permit });
        const json: Record<string, unknown> = {
          deploymentId: deployed.deploymentId,
          version: deployed.version,
          locked: deployed.locked,
          deposited: deployed.deposited,
          orders: deployed.orders.map(({ orderId, group, services, closesAt }) => ({ orderId, group, services, closesAt })),
        };
        const text_ = [
          `deployment: ${deployed.deploymentId}`,
          `version: ${deployed.version}`,
          `locked for its orders: ${tokens(deployed.locked)} (each order's maxPricePerSecond × duration)`,
          ...deployed.orders.map((o) => `order ${o.orderId}: group ${o.group} (${o.services.join(", ")}), bids until ${when(o.closesAt)}`),
        ];
        if (!options.wait) return { json, text: text_ };

        const matches = await tom3.waitForMatches({
          orderIds: deployed.orders.map((o) => o.orderId),
          timeoutMs,
          fromBlock: deployed.blockNumber,
        });
        json.matched = matches.matched;
        for (const m of matches.matched) {
          // The match keeps price × duration locked and unlocks the rest of the order's escrow: say both, so they add up.
          const spec = deployed.orders.find((o) => o.orderId === m.orderId)?.spec;
          const split = spec
            ? ` (${tokens(m.pricePerSecond * spec.duration)} locked for ${spec.duration} s, ` +
              `${tokens((spec.maxPricePerSecond - m.pricePerSecond) * spec.duration)} of the order's back to your available balance)`
            : "";
          text_.push(`charter ${m.charterId}: ${m.provider} at ${price(m.pricePerSecond)}${split}`);
        }
        const settled = await settleUnmatched(tom3, matches.unmatched, deployed.orders, Boolean(options.keepOpen));
        json.unmatched = settled.reports;
        text_.push(...settled.lines);
        // Nothing matched: nothing runs, so the deploy failed (exit 1), with each provider's reason above.
        if (matches.matched.length === 0) {
          const why = matches.unmatched.every((u) => u.reason === "noBids") ? "no provider bid" : "no order was matched";
          // Nothing of it runs and no order is left open: close it, so `tom3 status` does not list it as open.
          if (!options.keepOpen && matches.unmatched.every((u) => u.reason === "noBids")) {
            await tom3.closeDeployment({ deploymentId: deployed.deploymentId });
            text_.push(`  deployment ${deployed.deploymentId} closed: nothing of it runs`);
            json.closed = true;
          }
          const message =
            `deployment ${deployed.deploymentId}: nothing runs, ${why}. Check the reasons above, change the ` +
            `manifest (maxPricePerSecond, resources, attributes) and deploy again`;
          return { json, text: text_, failed: { name: "Tom3NotMatched", message } };
        }
        const partial = (done: string[], unacknowledged: readonly bigint[] = [], anyRunning = true): Result => {
          if (matches.unmatched.length === 0 && unacknowledged.length === 0) return { json, text: done };
          const groupOf = (orderId: bigint) => deployed.orders.find((o) => o.orderId === orderId);
          const missing = [
            ...settled.reports.map((r) => `group ${r.group} (${r.services.join(", ")})`),
            ...unacknowledged.map((id) => `group ${groupOf(id)?.group} (${groupOf(id)?.services.join(", ")}) on charter ${id}, not acknowledged`),
          ].join(", ");
          const message =
            `deployment ${deployed.deploymentId} ${anyRunning ? "runs in part" : "runs nothing"}; not running: ${missing}. ` +
            `${anyRunning ? "Keep it as it is, or close it" : "Close it"} (tom3 close ${deployed.deploymentId}) and ` +
            `deploy again with a manifest a provider bids on`;
          return { json, text: done, failed: { name: "Tom3PartlyMatched", message } };
        };
        if (!options.deliver) return partial(text_);

        const charterIds = matches.matched.map((m) => m.charterId);
        const delivery = await tom3.deliverWorkload({
          deploymentId: deployed.deploymentId,
          manifest: text,
          charterIds,
          transport: options.delivery,
        });
        json.delivered = delivery.delivered;
        for (const d of delivery.delivered) text_.push(`charter ${d.charterId}: workload delivered via ${d.endpoint}`);
        const acks = await tom3.waitForAcknowledgements({ charterIds, timeoutMs });
        json.acknowledged = acks.acknowledged;
        json.unacknowledged = acks.unacknowledged;
        for (const a of acks.acknowledged) text_.push(`charter ${a.charterId}: running until ${when(a.endsAt)}`);
        for (const u of acks.unacknowledged) text_.push(`charter ${u.charterId}: not acknowledged (${u.reason})`);
        if (acks.acknowledged.length > 0) {
          const urls = await serviceUrls(tom3, deployed.deploymentId);
          json.services = urls.services;
          text_.push(...urls.services.map((u) => serviceLine(u)), ...urls.problems);
        }
        return partial(text_, acks.unacknowledged.map((u) => u.charterId), acks.acknowledged.length > 0);
      }),
    );

  // ---------------------------------------------------------------- status, update, extend, close

  program
    .command("status")
    .description("deployments, orders and charters with state, provider, price, accrued payment and end")
    .option("--deployment <id>", "one deployment (default: every deployment of the account)")
    .option("--account <address>", "whose deployments to list (default: the key's account)")
    .action(
      action(async (options: { deployment?: string; account?: string }) => {
        const deploymentId = options.deployment === undefined ? undefined : idArgument("--deployment", options.deployment);
        const tom3 = await client(deploymentId === undefined && options.account === undefined);
        const status = await tom3.getStatus({ deploymentId, owner: options.account });
        const text: string[] = [];
        for (const d of status.deployments) {
          text.push(`deployment ${d.deploymentId}: ${d.open ? "open" : `closed ${when(d.closedAt)}`}, version ${d.version}`);
          for (const c of d.charters) {
            text.push(...(c.serviceEndpoints ?? []).map((e) => serviceLine(e, "  ")));
            if (c.serviceEndpointsError) text.push(`  charter ${c.charterId}: no service URL: ${c.serviceEndpointsError}`);
          }
          for (const o of d.orders) text.push(`  order ${o.orderId}: ${o.state}, max ${price(o.maxPricePerSecond)}, ${o.duration} s`);
          for (const c of d.charters) {
            text.push(
              `  charter ${c.charterId}: ${c.state}${c.closeReason === "None" ? "" : ` (${c.closeReason})`}, ` +
                `${c.provider} at ${price(c.pricePerSecond)}, accrued ${tokens(c.accrued)}, claimable ` +
                `${tokens(c.claimable)}, ends ${when(c.endsAt)}`,
            );
          }
        }
        if (text.length === 0) text.push("no deployments");
        return { json: status, text };
      }),
    );

  program
    .command("update")
    .description("point a deployment at a new manifest and deliver it to its providers")
    .argument("<deployment>", "deployment id")
    .argument("<manifest>", "the new manifest file")
    .option("--no-deliver", "only put the new version on chain")
    .option("--timeout <duration>", "how long to wait for the providers to run the new version (default 2m)")
    .addOption(deliveryOption())
    .action(
      action(async (id: string, file: string, options: { deliver: boolean; timeout?: string; delivery: DeliveryTransport }) => {
        const deploymentId = idArgument("deployment", id);
        const text = readText(file);
        await parseText(text, file);
        const timeoutMs = (options.timeout ? durationOption("--timeout", options.timeout) : 120) * 1000;
        const tom3 = await client(true, options.deliver && options.delivery);
        const before = options.deliver ? await serviceUrls(tom3, deploymentId) : undefined;
        const result = await tom3.updateDeployment({
          deploymentId,
          manifest: text,
          source: file,
          deliver: options.deliver,
          transport: options.delivery,
        });
        const lines = [
          `deployment ${deploymentId}: version ${result.previousVersion} -> ${result.version}`,
          ...(result.delivery?.delivered ?? []).map((d) => `delivered to ${d.provider} via ${d.endpoint}`),
        ];
        if (!before) return { json: result, text: lines };
        const rollout = await waitForRollout(tom3, deploymentId, result.version, before.services, timeoutMs);
        return {
          json: { ...result, services: rollout.services },
          text: [...lines, ...rollout.lines],
          ...(rollout.ok
            ? {}
            : { failed: { name: "Tom3RolloutIncomplete", message: `version ${result.version} does not run on every charter yet (see above); check again with tom3 status --deployment ${deploymentId}` } }),
        };
      }),
    );

  program
    .command("extend")
    .description("extend a deployment's active charters (or one charter with --charter)")
    .argument("<id>", "deployment id (a charter id with --charter)")
    .requiredOption("--by <duration>", "extra time: 30m, 1h, 2d...")
    .option("--charter", "the id is a charter's")
    .option("--no-permit", "deposit with approve + deposit instead of a permit signature")
    .action(
      action(async (id: string, options: { by: string; charter?: boolean; permit: boolean }) => {
        const target = idArgument(options.charter ? "charter" : "deployment", id);
        const by = durationOption("--by", options.by);
        const tom3 = await client(true);
        const charters = options.charter
          ? [await tom3.extendCharter({ charterId: target, by, permit: options.permit })]
          : (await tom3.extendDeployment({ deploymentId: target, by, permit: options.permit })).charters;
        return {
          json: { charters },
          text: charters.map((c) => `charter ${c.charterId}: runs until ${when(c.endsAt)} (locked ${tokens(c.locked)} more)`),
        };
      }),
    );

  program
    .command("close")
    .description("close a deployment: settle and close its charters, cancel its open orders, refund the rest")
    .argument("<deployment>", "deployment id")
    .action(
      action(async (id: string) => {
        const deploymentId = idArgument("deployment", id);
        const tom3 = await client(true);
        const result = await tom3.closeDeployment({ deploymentId });
        return {
          json: result,
          text: [
            ...result.charters.map(
              (c) => `charter ${c.charterId}: closed (${c.reason}), ${tokens(c.paidToProvider)} to the provider, ${tokens(c.refundedToTenant)} refunded`,
            ),
            ...result.cancelledOrders.map((o) => `order ${o}: cancelled`),
            `deployment ${deploymentId}: closed, ${tokens(result.refunded)} back in your available balance`,
          ],
        };
      }),
    );

  program
    .command("cancel")
    .description("cancel an open order of yours (one that got no bid): its escrow goes back to your available balance")
    .argument("<order>", "order id")
    .action(
      action(async (id: string) => {
        const orderId = idArgument("order", id);
        const tom3 = await client(true);
        const result = await tom3.cancelOrder({ orderId });
        return {
          json: result,
          text: [
            `order ${orderId}: cancelled, ${tokens(result.unlocked)} went back to your available balance`,
            `available: ${tokens(result.available)}`,
            `locked: ${tokens(result.locked)}`,
          ],
        };
      }),
    );

  program
    .command("logs")
    .description("print the output of a deployment's containers, each line prefixed by its service (signed as the tenant)")
    .argument("<deployment>", "deployment id")
    .argument("[service]", "only this service")
    .option("-f, --follow", "keep printing new lines until Ctrl-C (with --json: one JSON object per line)")
    .option("--charter <id>", "only this charter of the deployment (default: every running one)")
    .option("--tail <lines>", "lines per container to start with", "100")
    .action(async (id: string, service: string | undefined, options: { follow?: boolean; charter?: string; tail: string }) => {
      const deploymentId = idArgument("deployment", id);
      const charterIds = options.charter === undefined ? undefined : [idArgument("--charter", options.charter)];
      if (!/^\d{1,6}$/.test(options.tail)) throw new CliError(`--tail: "${options.tail}" is not a number of lines`, true);
      const tom3 = await client(true);
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      if (options.follow) process.once("SIGINT", onSignal);
      const json = globals().json;
      const width = { n: 0 };
      let lines = 0;
      const what = `${service === undefined ? "the containers" : service} of deployment ${deploymentId}`;
      if (options.follow && !json && !globals().quiet) io.stderr(`following the output of ${what}; Ctrl-C to stop\n`);
      try {
        const result = await tom3.getLogs({
          deploymentId,
          service,
          charterIds,
          tail: Number(options.tail),
          follow: options.follow,
          signal: stop.signal,
          // --json --follow: one JSON object per line (NDJSON), as lines arrive.
          onLine: json
            ? options.follow
              ? (line) => io.stdout(`${JSON.stringify({ ...line, charterId: String(line.charterId) })}\n`)
              : undefined
            : (line) => {
                lines++;
                width.n = Math.max(width.n, line.service.length);
                io.stdout(`${line.service.padEnd(width.n)} | ${line.text}\n`);
              },
        });
        for (const source of result.charters) {
          if (source.error) io.stderr(`charter ${source.charterId}: ${source.error}\n`);
        }
        if (json && !options.follow) io.stdout(`${toJsonText(result)}\n`);
        if (result.charters.every((c) => c.error)) throw new CliError(`no provider of deployment ${deploymentId} gave its logs (see above)`);
        // An empty answer is not an error, but say so: a server that logs nothing (busybox httpd without -v) looks like a hang.
        if (!json && !options.follow && lines === 0) io.stderr(`no output yet from ${what} (what its containers write to stdout and stderr)\n`);
      } finally {
        process.off("SIGINT", onSignal);
      }
    });

  // ---------------------------------------------------------------- providers and money

  program
    .command("providers")
    .description("the provider directory: endpoint, attributes, stake, reputation, delivery history")
    .option("--attribute <key=value...>", "attributes to name in the output (the chain holds only hashes)")
    .option("--all", "include accounts that are no longer registered")
    .action(
      action(async (options: { attribute?: string[]; all?: boolean }) => {
        const tom3 = await client(false);
        const result = await tom3.listProviders({ knownAttributes: options.attribute, includeUnregistered: options.all });
        const text = result.providers.map(
          (p) =>
            `${p.address}: reputation ${p.reputation}, stake ${tokens(p.stake)}, ${p.completed} completed / ${p.failed} failed` +
            `${p.knownAttributes.length > 0 ? `, ${p.knownAttributes.join(" ")}` : ""}, endpoint ${p.endpoint}`,
        );
        return { json: result, text: text.length > 0 ? text : ["no providers"] };
      }),
    );

  program
    .command("balance")
    .description("TOM3 in the wallet and in escrow (available, locked)")
    .option("--account <address>", "another account (default: the key's)")
    .action(
      action(async (options: { account?: string }) => {
        const tom3 = await client(options.account === undefined);
        const b = await tom3.getBalance({ account: options.account });
        return {
          json: b,
          text: [`account: ${b.account}`, `wallet: ${tokens(b.wallet)}`, `available: ${tokens(b.available)}`, `locked: ${tokens(b.locked)}`],
        };
      }),
    );

  program
    .command("deposit")
    .description("move TOM3 from the wallet into escrow (permit signature where possible)")
    .argument("<amount>", "TOM3 (10, 0.5) or wei (1000wei)")
    .option("--no-permit", "approve + deposit instead of a permit signature")
    .action(
      action(async (amount: string, options: { permit: boolean }) => {
        const wei = parseTokenAmount(amount, "amount");
        const tom3 = await client(true);
        const result = await tom3.deposit({ amount: wei, permit: options.permit });
        return {
          json: result,
          text: [`deposited: ${tokens(result.amount)}${result.permit ? " (permit)" : ""}`, `available: ${tokens(result.available)}`, `locked: ${tokens(result.locked)}`],
        };
      }),
    );

  program
    .command("withdraw")
    .description("send available escrow back to the wallet")
    .argument("<amount>", 'TOM3 (10, 0.5), wei (1000wei) or "all"')
    .action(
      action(async (amount: string) => {
        const wei = amount.trim() === "all" ? "all" : parseTokenAmount(amount, "amount");
        const tom3 = await client(true);
        const result = await tom3.withdraw({ amount: wei });
        return { json: result, text: [`withdrawn: ${tokens(result.amount)}`, `available: ${tokens(result.available)}`, `locked: ${tokens(result.locked)}`] };
      }),
    );

  registerTransferCommand(program, { client, print });

  // ---------------------------------------------------------------- manifests (offline)

  const manifest = program.command("manifest").description("check a manifest and compute its version, offline");
  manifest
    .command("validate")
    .description("check a manifest against every rule; problems are printed as file:line:col: path: message")
    .argument("<file>", "the manifest file")
    .action(
      action(async (file: string) => {
        const parsed = await parseText(readText(file), file);
        return { json: { valid: true, version: parsed.version }, text: [`${file}: valid (version ${parsed.version})`] };
      }),
    );
  manifest
    .command("hash")
    .description("print the manifest's deployment version (keccak256 of its canonical form)")
    .argument("<file>", "the manifest file")
    .action(
      action(async (file: string) => {
        const parsed = await parseText(readText(file), file);
        return { json: { version: parsed.version }, text: [parsed.version] };
      }),
    );

  // ---------------------------------------------------------------- provider daemon

  const provider = program.command("provider").description("run this machine as a TOM3 provider");
  provider
    .command("start")
    .description("start the provider daemon in the foreground (SIGINT / SIGTERM stop it gracefully)")
    .option("--config <file>", "the daemon's configuration (see offchain/provider/provider.example.yaml)", "provider.yaml")
    .option("--log-level <level>", "pino log level: trace, debug, info, warn, error", "info")
    .action(async (options: { config: string; logLevel: string }) => {
      // Loaded on use: Docker, libp2p and express are for this command only.
      const { runProviderDaemon } = await import("./provider");
      await runProviderDaemon(options);
    });
  registerProviderInit(provider, { print, io });

  return program;
}

/** The manifest file's text: its size is checked before it is read (a `ManifestError` above the limit). */
function readText(file: string): string {
  try {
    return readManifestFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error; // too large, or not UTF-8: a located ManifestError
    throw new CliError(`${file}: ${code === "ENOENT" ? "no such file" : "cannot be read"}`);
  }
}

/** Loaded on use: the manifest module (its JSON Schema validator) is the slowest part of start-up. */
async function parseText(text: string, file: string): Promise<ParsedManifest> {
  const { parseManifest } = await import("../manifest");
  return parseManifest(text, { source: file });
}

/** A positive integer id. */
function idArgument(name: string, value: string): bigint {
  if (!/^\d+$/.test(value.trim()) || BigInt(value.trim()) === 0n) {
    throw new CliError(`${name}: "${value}" is not an id (a positive integer)`, true);
  }
  return BigInt(value.trim());
}

function durationOption(name: string, value: string): number {
  return parseDurationSeconds(value, name);
}

if (require.main === module) {
  void run(process.argv).then((code) => {
    process.exitCode = code;
  });
}

/** The version in this package's package.json (two levels up from the sources, three from dist/). */
function packageVersion(): string {
  for (const up of ["../..", "../../.."]) {
    const file = join(__dirname, up, "package.json");
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (manifest.name === "tom3" && manifest.version) return manifest.version;
  }
  return "unknown";
}
