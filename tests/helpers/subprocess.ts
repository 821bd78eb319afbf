/**
 * Runs a program as a subprocess on the current runtime, sends it signals
 * once it prints "ready", and collects its real exit code and output.
 *
 * @module
 */

import { spawn } from "node:child_process";

/** What a program run by {@linkcode runProgram} did. */
export interface ProgramOutcome {
  /** The exit code (128 + n when a signal n killed it). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const isDeno = "Deno" in globalThis;

/**
 * Runs `program` (a file path) with `deno run -A` or `bun`, sends each of
 * `signals` (50 ms, then 60 ms apart) once it prints "ready", and waits for it
 * to exit. `env` is added to this process's environment.
 *
 * @example
 * ```ts
 * const outcome = await runProgram("/path/to/program.ts", ["SIGTERM"]);
 * console.log(outcome.code); // 143
 * ```
 */
export function runProgram(
  program: string,
  signals: readonly NodeJS.Signals[],
  env: Record<string, string> = {},
): Promise<ProgramOutcome> {
  return isDeno ? runOnDeno(program, signals, env) : runOnNodeApi(program, signals, env);
}

function sendWhenReady(
  output: string,
  sent: { done: boolean },
  send: (s: NodeJS.Signals) => void,
  signals: readonly NodeJS.Signals[],
): void {
  if (sent.done || !output.includes("ready")) return;
  sent.done = true;
  signals.forEach((signal, index) => setTimeout(() => send(signal), 50 + index * 60));
}

/**
 * Deno's node:child_process reports a child's exit(143) as "killed by
 * SIGTERM" (measured on Deno 2.9), so on Deno the exit code is read through
 * Deno.Command.
 */
async function runOnDeno(
  program: string,
  signals: readonly NodeJS.Signals[],
  env: Record<string, string>,
): Promise<ProgramOutcome> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", program],
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const decoder = new TextDecoder();
  const sent = { done: false };
  let stdout = "";
  for await (const chunk of child.stdout) {
    stdout += decoder.decode(chunk, { stream: true });
    sendWhenReady(stdout, sent, (signal) => {
      try {
        child.kill(signal as Deno.Signal);
      } catch { /* already gone */ }
    }, signals);
  }
  const status = await child.status;
  return { code: status.code, stdout, stderr: await stderr };
}

function runOnNodeApi(
  program: string,
  signals: readonly NodeJS.Signals[],
  env: Record<string, string>,
): Promise<ProgramOutcome> {
  const child = spawn(process.execPath, [program], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  const sent = { done: false };
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    sendWhenReady(stdout, sent, (signal) => child.kill(signal), signals);
  });
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      const byCode = code ?? (signal === "SIGTERM" ? 143 : signal === "SIGINT" ? 130 : null);
      resolve({ code: byCode, stdout, stderr });
    });
  });
}
