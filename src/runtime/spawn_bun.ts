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

import { BatchedChild, deferredWatchdog, WATCHDOG_DONE, WATCHDOG_SCRIPT } from "./child_handle.ts";
import {
  fromWire,
  JSON_MESSAGE_LIMIT,
  lastWireSizeEstimate,
  toWire,
  type WireValue,
} from "../core/codec.ts";
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

/** The parts of a watchdog's `Subprocess` used here (its stdin is a pipe). */
interface BunWatchdog {
  readonly stdin: { write(text: string): unknown; end(): unknown };
  readonly exited: Promise<unknown>;
  unref(): void;
}

interface BunGlobal {
  spawn(command: string[], options: BunSpawnOptions): BunSubprocess;
  spawn(command: string[], options: Record<string, unknown>): BunWatchdog;
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

/**
 * Starts the watchdog of child `pid` (see `WATCHDOG_SCRIPT`); returns how to
 * stand it down, or `undefined` when `sh` cannot be started.
 */
function startWatchdog(bun: BunGlobal, pid: number): (() => Promise<void>) | undefined {
  try {
    const watchdog = bun.spawn(["sh", "-c", WATCHDOG_SCRIPT, "sh", String(pid)], {
      stdin: "pipe",
      stdout: "ignore",
      stderr: "ignore",
      detached: true,
    });
    watchdog.unref();
    return () => stoodDown(watchdog);
  } catch {
    return undefined;
  }
}

/** Tells a watchdog its child ended; settles when it has gone (200 ms at most). */
function stoodDown(watchdog: BunWatchdog): Promise<void> {
  try {
    watchdog.stdin.write(WATCHDOG_DONE);
    watchdog.stdin.end();
  } catch {
    // It is gone already.
  }
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 200);
    watchdog.exited.then(() => {
      clearTimeout(timer);
      resolve();
    }, resolve);
  });
}

class BunChild extends BatchedChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  private readonly subprocess: BunSubprocess;
  private outbox: WireValue[] = [];
  /** The rough JSON size of the outbox. */
  private outboxSize = 0;

  constructor(options: ChildSpawnOptions) {
    super();
    const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
    const process = nodeProcess() as unknown as NodeEnvProcess;
    let settleExit!: (exit: ChildExit) => void;
    const exited = new Promise<ChildExit>((resolve) => settleExit = resolve);
    const onMessage = options.onMessage;
    // No bunfig.toml (its `preload` would run in every child) and no .env
    // file is read from the child's directory: the child is the library's.
    const command = [process.execPath, "--config=/dev/null", "--no-env-file", CHILD_ENTRY];
    const path = process.env.PATH;
    this.subprocess = bun.spawn([...command, ...(options.preload ?? [])], {
      cwd: options.cwd,
      env: options.inheritEnv === false
        ? { ...(path === undefined ? {} : { PATH: path }), ...options.env }
        : options.env === undefined
        ? undefined
        : { ...process.env, ...options.env },
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
    this.pid = this.subprocess.pid;
    const pid = this.pid;
    const releaseWatchdog = deferredWatchdog(() => startWatchdog(bun, pid));
    this.exited = exited.then(async (exit) => {
      await releaseWatchdog();
      return exit;
    });
  }

  protected enqueue(message: MainMessage): void {
    const wire = toWire(message, "base64", JSON_MESSAGE_LIMIT);
    const size = lastWireSizeEstimate();
    // A batch stays under the channel's limit: a large message goes on its own.
    if (this.outbox.length > 0 && (this.outboxSize + size) * 2 > JSON_MESSAGE_LIMIT) {
      this.writeQueued();
    }
    this.outbox.push(wire);
    this.outboxSize += size;
  }

  protected queued(): number {
    return this.outbox.length;
  }

  protected writeQueued(): void {
    const batch = this.outbox;
    this.outbox = [];
    this.outboxSize = 0;
    try {
      this.subprocess.send(batch);
    } catch {
      // The channel closed with the child; `exited` reports how it ended.
    }
  }

  protected endInput(): void {
    try {
      this.subprocess.disconnect();
    } catch {
      // Already disconnected.
    }
  }

  protected killGroupOnly(): void {
    nodeProcess().kill(-this.pid, "SIGKILL");
  }

  protected killChild(): void {
    this.subprocess.kill("SIGKILL");
  }

  ref(): void {
    this.subprocess.ref();
  }

  unref(): void {
    this.subprocess.unref();
  }
}
