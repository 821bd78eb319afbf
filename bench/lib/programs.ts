/**
 * Programs W7 starts beside the measuring process — a private redis-server
 * and worker processes — through `Deno.Command` or `Bun.spawn`, so the bench
 * needs no Node type definitions.
 *
 * @module
 */

interface BunSubprocess {
  readonly pid: number;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  kill(signal?: string): void;
}

interface BunGlobal {
  spawn(command: string[], options: { stdout: "pipe"; stderr: "ignore" }): BunSubprocess;
}

const bun = (globalThis as { Bun?: BunGlobal }).Bun;
const execPath = bun === undefined ? Deno.execPath() : nodeProcess().execPath;

/** How to kill each program still running, for the harness's timeout. */
const running = new Set<() => void>();
let watchingTermination = false;

/**
 * The harness stops a measurement that outlives its timeout with SIGTERM; the
 * programs it started would outlive it (a redis-server, a worker still
 * waiting for jobs) unless they are killed first.
 */
function killProgramsOnTermination(): void {
  if (watchingTermination) return;
  watchingTermination = true;
  const onTerm = () => {
    for (const kill of running) kill();
    exitWith(143);
  };
  if (bun === undefined) Deno.addSignalListener("SIGTERM", onTerm);
  else nodeProcess().on("SIGTERM", onTerm);
}

interface NodeProcess {
  execPath: string;
  exit(code: number): never;
  on(signal: string, listener: () => void): void;
}

function nodeProcess(): NodeProcess {
  return (globalThis as unknown as { process: NodeProcess }).process;
}

function exitWith(code: number): never {
  return bun === undefined ? Deno.exit(code) : nodeProcess().exit(code);
}

/** A started program. */
export interface Program {
  readonly pid: number;
  /** Sends `signal` and resolves once it has exited. */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
}

/** Starts `command` and resolves once its output contains `readyText`. */
export async function startProgram(command: string[], readyText: string): Promise<Program> {
  let pid: number;
  let stdout: ReadableStream<Uint8Array>;
  let exited: Promise<unknown>;
  let kill: (signal: "SIGTERM" | "SIGKILL") => void;
  if (bun === undefined) {
    const child = new Deno.Command(command[0], {
      args: command.slice(1),
      stdout: "piped",
      // Not inherited: a program still alive would hold the harness's pipe open.
      stderr: "null",
    }).spawn();
    ({ pid, stdout } = child);
    exited = child.status;
    kill = (signal) => child.kill(signal);
  } else {
    const child = bun.spawn(command, { stdout: "pipe", stderr: "ignore" });
    ({ pid, stdout } = child);
    exited = child.exited;
    kill = (signal) => child.kill(signal);
  }
  let done = false;
  const killNow = () => {
    try {
      kill("SIGKILL");
    } catch { /* already gone */ }
  };
  running.add(killNow);
  killProgramsOnTermination();
  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM") => {
    if (!done) {
      try {
        kill(signal);
      } catch { /* already gone */ }
    }
    await exited;
  };
  void exited.then(() => {
    done = true;
    running.delete(killNow);
  });
  const reader = stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  while (!output.includes(readyText)) {
    const { value, done: ended } = await reader.read();
    if (ended) throw new Error(`${command.join(" ")} ended before '${readyText}':\n${output}`);
    output += decoder.decode(value, { stream: true });
  }
  // Keep draining, so a chatty program never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })().catch(() => {});
  return { pid, stop };
}

/** A private redis-server without persistence; `url` is where it listens. */
export async function startRedisServer(): Promise<Program & { url: string }> {
  for (let tries = 0;; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    try {
      const server = await startProgram([
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory-policy",
        "noeviction",
      ], "Ready to accept connections");
      return { ...server, url: `redis://127.0.0.1:${port}` };
    } catch (error) {
      if (tries >= 5) throw error; // the port was taken: try another
    }
  }
}

/** Starts a worker script (`--name`, `--connection`, …) on this runtime. */
export function startWorkerProgram(script: string, args: readonly string[]): Promise<Program> {
  const command = bun === undefined
    ? [execPath, "run", "-A", "--node-modules-dir=manual", script, ...args]
    : [execPath, script, ...args];
  return startProgram(command, "worker ready");
}
