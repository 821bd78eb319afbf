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
  const child: ChildProcess = spawn(process.execPath, command, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
  });
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const worker: WorkerProcess = {
    pid: child.pid!,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`worker did not start within 20s:\n${output}`));
    }, 20_000);
    const check = () => {
      if (output.includes("worker ready")) {
        clearTimeout(timer);
        child.stdout!.off("data", check);
        resolve(worker);
      }
    };
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready:\n${output}`));
    });
  });
}
