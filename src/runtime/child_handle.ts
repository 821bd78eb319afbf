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
 * A child process handle that batches its outgoing messages per tick.
 */
export abstract class BatchedChild implements ChildProcessHandle {
  /** The child's pid (also its process group id). */
  abstract readonly pid: number;
  /** How the child ended. */
  abstract readonly exited: Promise<ChildExit>;
  #flushQueued = false;
  #inputClosed = false;

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
    if (this.#inputClosed) return;
    this.enqueue(message);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.queued() === 0 || this.#inputClosed) return;
    this.writeQueued();
  }

  /** Sends what is queued, then closes the child's input. */
  closeInput(): void {
    if (this.#inputClosed) return;
    this.#flush();
    this.#inputClosed = true;
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
