/**
 * Worker processes for distributed tests: each runs the `worker` command on
 * the current runtime and is stopped (or killed) by the test.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

const isDeno = "Deno" in globalThis;
const workerScript = fileURLToPath(new URL("../../worker.ts", import.meta.url));

/** A running `worker` command. */
export interface WorkerProcess {
  readonly pid: number;
  /** What it printed so far. */
  output(): string;
  /** Sends `signal` and resolves with its exit code (or the signal's name). */
  stop(signal?: "SIGTERM" | "SIGINT" | "SIGKILL"): Promise<number | string>;
}

/**
 * Starts `worker.ts --name NAME --connection URL …extra` (or another
 * `script` that takes the same arguments) and waits until it prints
 * "worker ready".
 */
export function startWorker(
  name: string,
  url: string,
  extra: readonly string[] = [],
  script: string = workerScript,
): Promise<WorkerProcess> {
  const args = ["--name", name, "--connection", url, ...extra];
  // Deno resolves bullmq from node_modules (what `npm ci` installed): nothing is downloaded.
  const command = isDeno
    ? ["run", "-A", "--node-modules-dir=manual", script, ...args]
    : [script, ...args];
  const child = launch(command);
  let output = "";
  const listeners: (() => void)[] = [];
  child.onOutput((text) => {
    output += text;
    for (const listener of listeners) listener();
  });
  const exited = child.exited;
  const worker: WorkerProcess = {
    pid: child.pid,
    output: () => output,
    async stop(signal = "SIGTERM") {
      child.kill(signal);
      return await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`worker did not start within 20s:\n${output}`));
    }, 20_000);
    listeners.push(() => {
      if (output.includes("worker ready")) {
        clearTimeout(timer);
        resolve(worker);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready:\n${output}`));
    });
  });
}

/** A child process, as both runtimes can start it. */
interface Launched {
  readonly pid: number;
  /** Resolves with the exit code, or the name of the signal that ended it. */
  readonly exited: Promise<number | string>;
  onOutput(listener: (text: string) => void): void;
  kill(signal: "SIGTERM" | "SIGINT" | "SIGKILL"): void;
}

/**
 * Starts `execPath …args`. On Deno through `Deno.Command`: its
 * node:child_process reports a child that exits 0 after handling SIGTERM
 * as killed by SIGTERM, and the tests check the real exit code.
 */
function launch(args: readonly string[]): Launched {
  if (isDeno) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let listener: (text: string) => void = () => {};
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream) listener(decoder.decode(chunk, { stream: true }));
    };
    const streams = Promise.all([pump(child.stdout), pump(child.stderr)]);
    let done = false;
    const exited = child.status.then(async (status) => {
      done = true;
      await streams;
      return status.signal ?? status.code;
    });
    return {
      pid: child.pid,
      exited,
      onOutput: (next) => (listener = next),
      kill(signal) {
        if (done) return;
        try {
          child.kill(signal);
        } catch { /* already gone */ }
      },
    };
  }
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  return {
    pid: child.pid!,
    exited,
    onOutput(listener) {
      child.stdout!.on("data", (chunk: Buffer) => listener(chunk.toString()));
      child.stderr!.on("data", (chunk: Buffer) => listener(chunk.toString()));
    },
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
