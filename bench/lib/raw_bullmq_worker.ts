/**
 * W7's baseline worker: plain BullMQ doubling `job.data.n`, with the same
 * arguments as the `worker` command (`--name`, `--connection`,
 * `--concurrency`). Stops on SIGTERM.
 *
 * @module
 */

import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { exitProcess, scriptArgs } from "./runtime.ts";

const args = scriptArgs();
const option = (key: string): string | undefined => args[args.indexOf(`--${key}`) + 1];
const connection = new Redis(option("connection")!, { maxRetriesPerRequest: null });
const worker = new Worker(option("name")!, async (job) => (job.data.n as number) * 2, {
  connection,
  concurrency: Number(option("concurrency") ?? 16),
});
await worker.waitUntilReady();
const stop = () => void worker.close().then(() => connection.quit()).then(() => exitProcess(0));
if ("Deno" in globalThis) Deno.addSignalListener("SIGTERM", stop);
else {(globalThis as unknown as { process: { on(s: string, f: () => void): void } }).process.on(
    "SIGTERM",
    stop,
  );}
console.log("worker ready");
