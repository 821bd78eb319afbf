/**
 * The `worker` command: arguments in, a served queue until a signal, then a
 * graceful stop.
 *
 * @module
 */

import { exitCodeFor, exitProcess, onTerminationSignals } from "../runtime/process_control.ts";
import { nodeProcess } from "../runtime/detect.ts";
import { serveQueue, type ServeQueueOptions, type WorkerBackend } from "./serve_queue.ts";

const USAGE = "usage: worker --name NAME [--connection redis://HOST:PORT] " +
  "[--backend async|thread|process] [--workers N] [--concurrency N] [--prefix P]";

/** Reads the command's arguments (`--key value` or `--key=value`). */
export function parseWorkerArguments(argv: readonly string[]): ServeQueueOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (!argument.startsWith("--")) {
      throw new TypeError(`unexpected argument '${argument}'; ${USAGE}`);
    }
    const equals = argument.indexOf("=");
    if (equals > 0) values.set(argument.slice(2, equals), argument.slice(equals + 1));
    else {
      const value = argv[++i];
      if (value === undefined) throw new TypeError(`${argument} needs a value; ${USAGE}`);
      values.set(argument.slice(2), value);
    }
  }
  const known = new Set(["name", "connection", "backend", "workers", "concurrency", "prefix"]);
  for (const key of values.keys()) {
    if (!known.has(key)) throw new TypeError(`unknown option '--${key}'; ${USAGE}`);
  }
  const name = values.get("name");
  if (name === undefined) throw new TypeError(`--name is required; ${USAGE}`);
  const number = (key: string) => values.has(key) ? Number(values.get(key)) : undefined;
  return {
    name,
    connection: values.get("connection") ?? "redis://127.0.0.1:6379",
    backend: values.get("backend") as WorkerBackend | undefined,
    workers: number("workers"),
    concurrency: number("concurrency"),
    prefix: values.get("prefix"),
  };
}

/** Runs the command with the process's arguments; exits when stopped. */
export async function runWorkerCommand(): Promise<void> {
  let options: ServeQueueOptions;
  try {
    // Deno and Bun both give the script's arguments after the runtime and the script path.
    const { argv } = nodeProcess() as ReturnType<typeof nodeProcess> & { argv: string[] };
    options = parseWorkerArguments(argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    exitProcess(2);
  }
  let worker;
  try {
    worker = await serveQueue(options);
  } catch (error) {
    console.error(`worker: ${(error as Error).message}`);
    exitProcess(1);
  }
  let stopping = false;
  const dispose = onTerminationSignals((signal) => {
    if (stopping) exitProcess(exitCodeFor(signal));
    stopping = true;
    void worker.close().then(() => {
      dispose();
      exitProcess(0);
    });
  });
  // The test harness and deploy scripts wait for this line.
  console.log(`worker ready: queue '${options.name}' (pid ${nodeProcess().pid})`);
}
