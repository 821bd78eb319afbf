/**
 * Bun children: `Bun.spawn` running `child_entry_bun.ts`, spawned `detached`
 * (a process group of its own). Messages travel over Bun's IPC channel with
 * JSON serialization, each message a tree from `toWire()` (`codec.ts`), and
 * several messages queued in one microtask go as one array. JSON IPC
 * measured faster than Bun's structured-clone IPC ("advanced") and than
 * framed stdio for small messages, and an IPC channel, unlike a pending read
 * on a stdout pipe, lets an idle child be unreferenced.
 *
 * The child's stdout and stderr are the parent's stderr (file descriptor 2),
 * so nothing a task prints comes near the channel, and it has no stdin. It
 * takes the channel closing (the parent disconnects it, or dies) as the
 * order to end.
 *
 * @module
 */

import { BatchedChild } from "./child_handle.ts";
import { fromWire, toWire, type WireValue } from "./codec.ts";
import { nodeProcess } from "./detect.ts";
import type { MainMessage, WorkerMessage } from "./protocol.ts";
import type { ChildExit, ChildProcessHandle, ChildSpawnOptions } from "./child_contract.ts";

/** The parts of Bun's `Subprocess` used here. */
interface BunSubprocess {
  readonly pid: number;
  send(message: unknown): unknown;
  disconnect(): void;
  kill(signal?: string | number): void;
  ref(): void;
  unref(): void;
}

/** The parts of `Bun.spawn`'s options used here. */
interface BunSpawnOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin: "ignore";
  stdout: number;
  stderr: number;
  detached: boolean;
  serialization: "json";
  ipc(message: unknown): void;
  onExit(subprocess: unknown, exitCode: number | null, signalCode: number | string | null): void;
}

interface BunGlobal {
  spawn(command: string[], options: BunSpawnOptions): BunSubprocess;
}

interface NodeEnvProcess {
  readonly env: Record<string, string | undefined>;
  readonly execPath: string;
}

/**
 * The child's entry: `child_entry_bun.ts` built into one file with its
 * bytecode cache by `.ci/bundle_entries.ts` (kept in step by CI), which
 * reaches its first task ~3 ms sooner.
 */
const CHILD_ENTRY = decodeURIComponent(
  new URL("./bundled/child_entry_bun.js", import.meta.url).pathname,
);

/**
 * Starts a Bun child (see the module documentation).
 */
export function spawnBunChild(options: ChildSpawnOptions): ChildProcessHandle {
  return new BunChild(options);
}

class BunChild extends BatchedChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  readonly #subprocess: BunSubprocess;
  #outbox: WireValue[] = [];

  constructor(options: ChildSpawnOptions) {
    super();
    const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
    const process = nodeProcess() as unknown as NodeEnvProcess;
    let settleExit!: (exit: ChildExit) => void;
    this.exited = new Promise((resolve) => settleExit = resolve);
    const onMessage = options.onMessage;
    this.#subprocess = bun.spawn([process.execPath, CHILD_ENTRY, ...(options.preload ?? [])], {
      cwd: options.cwd,
      env: options.env === undefined ? undefined : { ...process.env, ...options.env },
      stdin: "ignore",
      stdout: 2,
      stderr: 2,
      detached: true,
      serialization: "json",
      ipc(batch: unknown) {
        if (!Array.isArray(batch)) {
          options.onProtocolError(new Error("a child sent a message that is not a batch"));
          return;
        }
        for (const wire of batch) {
          let message: WorkerMessage;
          try {
            message = fromWire(wire as WireValue) as WorkerMessage;
          } catch (error) {
            options.onProtocolError(error as Error);
            continue;
          }
          onMessage(message);
        }
      },
      onExit(_subprocess, exitCode, signalCode) {
        settleExit({
          code: signalCode === null ? exitCode : null,
          signal: signalCode === null ? null : String(signalCode),
        });
      },
    });
    this.pid = this.#subprocess.pid;
  }

  protected enqueue(message: MainMessage): void {
    this.#outbox.push(toWire(message, "base64"));
  }

  protected queued(): number {
    return this.#outbox.length;
  }

  protected writeQueued(): void {
    const batch = this.#outbox;
    this.#outbox = [];
    try {
      this.#subprocess.send(batch);
    } catch {
      // The channel closed with the child; `exited` reports how it ended.
    }
  }

  protected endInput(): void {
    try {
      this.#subprocess.disconnect();
    } catch {
      // Already disconnected.
    }
  }

  protected killGroupOnly(): void {
    nodeProcess().kill(-this.pid, "SIGKILL");
  }

  protected killChild(): void {
    this.#subprocess.kill("SIGKILL");
  }

  ref(): void {
    this.#subprocess.ref();
  }

  unref(): void {
    this.#subprocess.unref();
  }
}
