/**
 * What the Deno and Bun child handles share: messages sent in one tick go
 * to the child as one write, nothing goes after `closeInput()`, and a kill
 * takes the child's whole process group (or the child alone, when the group
 * is gone). A subclass adds only how messages are encoded and written, and
 * how a process is killed, on its runtime.
 *
 * @module
 */

import type { MainMessage } from "./protocol.ts";
import type { ChildExit, ChildProcessHandle } from "./child_contract.ts";

/**
 * The watchdog of one child (`sh -c WATCHDOG_SCRIPT sh <pid>`), started by
 * the parent next to it: it waits on a pipe from the parent and kills the
 * child's process group when that pipe ends without a "done" line, that is
 * when the parent died. A child learns of its parent's death by itself only
 * when its event loop is free; a task stuck in synchronous code would keep
 * it alive. The watchdog ignores the signals a terminal sends (its own
 * process group keeps it out of the child's group kill), and it uses shell
 * built-ins only.
 */
export const WATCHDOG_SCRIPT = `trap '' INT TERM HUP QUIT
read -r line
[ "$line" = done ] || kill -s KILL -- "-$1" 2>/dev/null`;

/** What the parent writes to a watchdog whose child ended: it exits without a kill. */
export const WATCHDOG_DONE = "done\n";

/**
 * How long after its child a watchdog starts: spawning it at once would
 * compete with the child's start-up for the CPU, and a child blocked in its
 * first 100 ms while its parent dies is a narrow case.
 */
export const WATCHDOG_DELAY_MS = 100;

/**
 * Runs `start` (which starts a watchdog and returns how to stand it down)
 * after {@linkcode WATCHDOG_DELAY_MS}, on a timer that does not keep the
 * program alive. Returns how to stand the watchdog down once its child has
 * ended: the start is cancelled if it has not happened yet.
 */
export function deferredWatchdog(
  start: () => (() => Promise<void>) | undefined,
): () => Promise<void> {
  let stop: (() => Promise<void>) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
    timer = undefined;
    stop = start();
  }, WATCHDOG_DELAY_MS);
  if (typeof timer === "number") {
    (globalThis as unknown as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(timer);
  } else {
    (timer as { unref?: () => void }).unref?.();
  }
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    return stop?.() ?? Promise.resolve();
  };
}

/**
 * A child process handle that batches its outgoing messages per tick.
 */
export abstract class BatchedChild implements ChildProcessHandle {
  /** The child's pid (also its process group id). */
  abstract readonly pid: number;
  /** How the child ended. */
  abstract readonly exited: Promise<ChildExit>;
  private flushQueued = false;
  private inputClosed = false;

  /** Adds `message` to the outbox, encoded now, so a value that cannot cross fails this call and no other. */
  protected abstract enqueue(message: MainMessage): void;
  /** How many messages the outbox holds. */
  protected abstract queued(): number;
  /** Writes the outbox to the child and empties it. */
  protected abstract writeQueued(): void;
  /** Closes the child's input (it then ends its group). */
  protected abstract endInput(): void;
  /** Kills the child's process group; throws when there is none. */
  protected abstract killGroupOnly(): void;
  /** Kills the child alone. */
  protected abstract killChild(): void;
  /** Keeps the program alive while the child is. */
  abstract ref(): void;
  /** Lets the program end although the child is alive. */
  abstract unref(): void;

  /** Queues a message for this tick's write. */
  send(message: MainMessage): void {
    if (this.inputClosed) return;
    this.enqueue(message);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.queued() === 0 || this.inputClosed) return;
    this.writeQueued();
  }

  /** Sends what is queued, then closes the child's input. */
  closeInput(): void {
    if (this.inputClosed) return;
    this.flush();
    this.inputClosed = true;
    this.endInput();
  }

  /** Kills the child's process group, or the child when the group is gone. */
  killGroup(): void {
    try {
      this.killGroupOnly();
    } catch {
      // The group is gone already, or the child left it: kill the child itself.
      try {
        this.killChild();
      } catch {
        // Already exited.
      }
    }
  }
}
