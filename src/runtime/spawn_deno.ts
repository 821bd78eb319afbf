/**
 * Deno children: `Deno.Command` running `child_entry_deno.ts`, spawned
 * `detached` (a process group of its own) with piped stdin and stdout and
 * the parent's stderr. Messages travel as frames (`framing.ts`) of the byte
 * codec (`codec.ts`): main → child on stdin, child → main on stdout, keyed
 * with a random key per child that goes first on its stdin. Bytes on the
 * child's stdout between frames (something that wrote to it behind the
 * child's back) are copied to the parent's stderr; bytes that pass for a
 * frame and are not one (forged, spliced into a frame) fail that child.
 *
 * Permissions: a child gets the parent's by default, never more
 * (`deno_permissions.ts` builds the flags). A child also needs read access
 * to its task modules (dynamic imports of files need it).
 *
 * @module
 */

import { countTimer } from "../core/resources.ts";
import { decodeValue } from "../core/codec.ts";
import { BatchedChild, deferredWatchdog, WATCHDOG_DONE, WATCHDOG_SCRIPT } from "./child_handle.ts";
import { appendMessageFrame, FrameBuilder, FrameDecoder, newFrameKey } from "./framing.ts";
import type { MainMessage, WorkerMessage } from "./protocol.ts";
import type { ChildExit, ChildProcessHandle, ChildSpawnOptions } from "./child_contract.ts";
import { denoPermissionFlags } from "./deno_permissions.ts";

const CHILD_ENTRY = new URL("./child_entry_deno.ts", import.meta.url).href;

/**
 * Starts a Deno child (see the module documentation).
 */
export function spawnDenoChild(options: ChildSpawnOptions): ChildProcessHandle {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...denoPermissionFlags(options.permissions),
      CHILD_ENTRY,
      ...(options.preload ?? []),
    ],
    cwd: options.cwd,
    clearEnv: options.inheritEnv === false,
    env: options.inheritEnv === false
      ? { ...pathOnly(), ...options.env }
      : options.env === undefined
      ? undefined
      : { ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    detached: true,
  });
  const child = command.spawn();
  return new DenoChild(child, deferredWatchdog(() => startWatchdog(child.pid)), options);
}

/** This process's `PATH`, for a child that inherits nothing else (none without `--allow-env` for it). */
function pathOnly(): Record<string, string> {
  try {
    const path = Deno.env.get("PATH");
    return path === undefined ? {} : { PATH: path };
  } catch {
    return {};
  }
}

/**
 * Starts the watchdog of child `pid` (see `WATCHDOG_SCRIPT`); returns how
 * to stand it down once the child has ended, or `undefined` when `sh` cannot
 * be run (no `--allow-run` for it): the child then ends with its parent
 * only when its event loop is free.
 */
function startWatchdog(pid: number): (() => Promise<void>) | undefined {
  let watchdog: Deno.ChildProcess;
  try {
    watchdog = new Deno.Command("sh", {
      args: ["-c", WATCHDOG_SCRIPT, "sh", String(pid)],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
  } catch {
    return undefined;
  }
  watchdog.unref();
  const writer = watchdog.stdin.getWriter();
  writer.closed.catch(() => {});
  return () => {
    writer.write(new TextEncoder().encode(WATCHDOG_DONE)).catch(() => {});
    writer.close().catch(() => {});
    return watchdog.status.then(() => {}, () => {});
  };
}

/** How long a dead child's stdout may stay open before its last frames are given up. */
const stdoutDrainMs = 200;

/** Waits for `promise`, but no longer than `ms`. */
function settleWithin(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let pending = true;
    const timer = setTimeout(done, ms);
    countTimer(1);
    function done(): void {
      if (!pending) return;
      pending = false;
      clearTimeout(timer);
      countTimer(-1);
      resolve();
    }
    promise.then(done, done);
  });
}

/** Copies stray bytes from a child's stdout to the parent's stderr. */
function writeStray(bytes: Uint8Array): void {
  try {
    let written = 0;
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch {
    // The parent's stderr is gone; nothing better to do with the bytes.
  }
}

class DenoChild extends BatchedChild {
  readonly pid: number;
  readonly exited: Promise<ChildExit>;
  private readonly child: Deno.ChildProcess;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly key = newFrameKey();
  private readonly outbox = new FrameBuilder(this.key);

  constructor(
    child: Deno.ChildProcess,
    releaseWatchdog: () => Promise<void>,
    options: ChildSpawnOptions,
  ) {
    super();
    this.child = child;
    this.pid = child.pid;
    this.writer = child.stdin.getWriter();
    // A write to a child that just died rejects; its death is reported by `exited`.
    this.writer.closed.catch(() => {});
    // The key goes first, before the child can have started anything that reads its stdin.
    this.writer.write(this.key).catch(() => {});
    const reader = child.stdout.getReader();
    const drained = this.read(reader, options);
    this.exited = child.status.then(
      async (status) => {
        // The exit status can overtake the child's last frames: they are read
        // first. A grandchild that escaped the group kill may hold the pipe
        // open, so the wait is bounded and the read then abandoned.
        await settleWithin(drained, stdoutDrainMs);
        reader.cancel().catch(() => {});
        await settleWithin(releaseWatchdog(), stdoutDrainMs);
        return { code: status.signal === null ? status.code : null, signal: status.signal };
      },
      () => ({ code: null, signal: null }),
    );
  }

  private async read(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    options: ChildSpawnOptions,
  ): Promise<void> {
    const decoder = new FrameDecoder(this.key, {
      onFrame(payload) {
        let message: WorkerMessage;
        try {
          message = decodeValue(payload) as WorkerMessage;
        } catch (error) {
          options.onProtocolError(error as Error);
          return;
        }
        options.onMessage(message);
      },
      onStray: writeStray,
      onForeign: options.onProtocolError,
    });
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        decoder.push(value);
      }
    } catch {
      // The pipe broke, or the read was abandoned; `exited` reports how the child ended.
    }
  }

  protected enqueue(message: MainMessage): void {
    appendMessageFrame(this.outbox, message);
  }

  protected queued(): number {
    return this.outbox.length;
  }

  protected writeQueued(): void {
    this.writer.write(this.outbox.take()).catch(() => {});
  }

  protected endInput(): void {
    this.writer.close().catch(() => {});
  }

  protected killGroupOnly(): void {
    Deno.kill(-this.pid, "SIGKILL");
  }

  protected killChild(): void {
    this.child.kill("SIGKILL");
  }

  ref(): void {
    this.child.ref();
  }

  unref(): void {
    this.child.unref();
  }
}
