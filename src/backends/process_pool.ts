/**
 * The child-process transport of {@linkcode PipelinedPool} (`pool.ts`,
 * which explains pipelining, stopping work and crashes), behind
 * `ProcessQueue`. Children are the same runtime as the parent, started on
 * demand (`src/runtime/spawn.ts`) and reused until the pool closes,
 * `idleTimeout` passes or `maxTasksPerWorker` recycles them.
 *
 * - A child's window is refilled once it has drained to half, so attempts
 *   travel in batches even when replies come back one by one.
 * - A kill takes the child's whole process group (the child and everything
 *   it started), and so does a crash: a child that ends without being asked
 *   (`Deno.exit()`, `process.exit()`, a signal, an uncaught error) fails its
 *   running attempt with `WorkerCrashedError` (`worker process died (exit
 *   code 13)`, the child's pid in `worker`).
 * - **Lifetimes.** An idle child is unreferenced, so it never keeps a
 *   finished program alive; it learns of its parent's exit from EOF on its
 *   stdin and ends its group. When the parent exits normally, the pool also
 *   kills its children's groups synchronously. `close()` resolves only when
 *   every child has exited. Every child, timer and listener is registered in
 *   `src/core/resources.ts`.
 *
 * @module
 */

import {
  type CrashDetails,
  PipelinedPool,
  type PoolCall,
  PoolSlot,
  startTimer,
  stopTimer,
} from "./pool.ts";
import type { PoolOptions } from "./pool_options.ts";
import { messageOf } from "../core/_util.ts";
import { TaskSerializationError } from "../core/errors.ts";
import { releaseResource, trackResource } from "../core/resources.ts";
import { isTaskReference } from "../core/task_reference.ts";
import { unsendableReason } from "../core/codec.ts";
import type { MainMessage, RunsMessage } from "../runtime/protocol.ts";
import type { ChildExit, ChildPermissions, ChildProcessHandle } from "../runtime/child_contract.ts";
import { onProcessExit } from "../runtime/process_control.ts";
import { spawnChild } from "../runtime/spawn.ts";

/** The pool's settings, checked already (`ProcessQueue` does it; see `ProcessQueueOptions`). */
export interface ProcessPoolOptions extends PoolOptions {
  /** Variables added to the children's environment. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** `false`: the children get only `env` plus `PATH`. */
  readonly inheritEnv?: boolean | undefined;
  /** The children's working directory. */
  readonly cwd?: string | undefined;
  /** Deno: the children's permissions (default: the parent's). */
  readonly permissions?: ChildPermissions | undefined;
  /** Starts a child; tests may substitute their own. Default: `spawnChild`. */
  readonly spawn?: typeof spawnChild;
}

/** One child process and the attempts it holds. */
class ChildSlot extends PoolSlot {
  readonly id: number;
  /** Taking attempts until its window is full again (see `hasRoom`). */
  refilling = true;
  stopTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** What the child said about its own end (an exit call, an uncaught error). */
  note: string | undefined = undefined;
  cause: unknown = undefined;
  readonly token: number;

  constructor(readonly handle: ChildProcessHandle) {
    // Referenced from the start: it is spawned for an attempt.
    super(true);
    this.id = handle.pid;
    this.token = trackResource("children", `ProcessQueue child ${handle.pid}`);
  }

  ref(): void {
    this.handle.ref();
  }

  unref(): void {
    this.handle.unref();
  }
}

function describeExit(exit: ChildExit): string {
  if (exit.signal !== null) return `signal ${exit.signal}`;
  return exit.code === null ? "unknown status" : `exit code ${exit.code}`;
}

/** How many task modules a new child is told to import at once (see `ProcessPool`). */
const maxPreloadedModules = 8;
/** The longest module URL a new child is told to import at once. */
const maxPreloadedUrlLength = 2_048;

/** A pool of child processes that runs attempts for one `ProcessQueue`. */
export class ProcessPool extends PipelinedPool<ChildSlot> {
  /** Which backend this is. */
  readonly kind: "process" = "process";
  private readonly env: Readonly<Record<string, string>> | undefined;
  private readonly inheritEnv: boolean | undefined;
  private readonly cwd: string | undefined;
  private readonly permissions: ChildPermissions | undefined;
  private readonly spawnChild: typeof spawnChild;
  /** Children that take work. */
  private readonly live = new Set<ChildSlot>();
  /** Children asked to stop (or killed) that have not exited yet. */
  private readonly stopping = new Set<ChildSlot>();
  private removeExitListener: (() => void) | undefined = undefined;
  private exitListenerToken = 0;
  /**
   * Task modules seen at submission (the initializer's first), at most
   * {@linkcode maxPreloadedModules}: a new child starts importing them while
   * it starts up (~1 ms sooner to the first result on Bun).
   */
  private readonly preload: string[] = [];

  /**
   * Creates an idle pool; children start when the first attempt needs one.
   * Options are expected to be checked already (`ProcessQueue` does it).
   */
  constructor(options: ProcessPoolOptions = {}) {
    super(options, 1);
    this.env = options.env;
    this.inheritEnv = options.inheritEnv;
    this.cwd = options.cwd;
    this.permissions = options.permissions;
    this.spawnChild = options.spawn ?? spawnChild;
    if (this.initializer?.kind === "ref") this.notePreload(this.initializer.url);
  }

  /** Checks a task's source at submission, and notes its module for new children. */
  override validateSource(source: unknown, action: string): void {
    super.validateSource(source, action);
    if (isTaskReference(source)) this.notePreload(source.url);
  }

  /**
   * Adds a module for new children to import as they start. Not a `data:`
   * URL or any long one: the list travels as the child's arguments, and one
   * argument must stay well under the system's limit (128 KiB on Linux).
   */
  private notePreload(url: string): void {
    const preload = this.preload;
    if (
      preload.length < maxPreloadedModules && url.length <= maxPreloadedUrlLength &&
      !url.startsWith("data:") && !preload.includes(url)
    ) {
      preload.push(url);
    }
  }

  /**
   * A child booted by `start()` is referenced until it is ready (on Deno a
   * pipe read started while unreferenced stays so), then unreferenced while
   * it holds no work.
   */
  protected bootSlot(): void {
    this.setBusy(this.spawn(), true);
  }

  /** Children alive and taking work now. */
  liveWorkers(): number {
    return this.live.size;
  }

  /** A finished run: idle children are already unreferenced; nothing to do. */
  stopped(): void {
    for (const child of this.live) {
      if (child.calls.length === 0 && child.busy) this.setBusy(child, false);
    }
  }

  /**
   * Forced: kills every child's process group now, settling whatever it
   * held. Otherwise asks each idle child to stop (EOF on its stdin); busy
   * ones stop once they hold nothing, and are killed if they have not
   * exited `killGrace` later.
   */
  protected closeSlots(force: boolean): void {
    for (const child of [...this.live]) {
      child.accepting = false;
      if (force) this.end(child, "the process pool was closed", {}, true);
      else if (child.calls.length === 0) this.retire(child);
    }
    if (force) {
      // Children already asked to stop go now too.
      for (const child of this.stopping) child.handle.killGroup();
    }
  }

  /** Children that have not exited yet. */
  protected slotsLeft(): number {
    return this.live.size + this.stopping.size;
  }

  // ----------------------------------------------------------- dispatching

  /**
   * Sends `call` to the least loaded child, starting a new one while some
   * slot is free and every child is busy. Returns false when there is no
   * room anywhere (the call must wait); true when it was sent or settled.
   */
  protected place(call: PoolCall): boolean {
    let best: ChildSlot | undefined;
    let someIdle = false;
    for (const child of this.live) {
      if (!child.accepting) continue;
      if (child.calls.length === 0) someIdle = true;
      if (!this.hasRoom(child)) continue;
      if (best === undefined || child.calls.length < best.calls.length) best = child;
    }
    if (!someIdle && this.live.size < this.maxSlots) {
      try {
        best = this.spawn();
      } catch (error) {
        this.settle(call, false, error);
        return true;
      }
    }
    if (best === undefined) return false;
    this.assign(best, call);
    return true;
  }

  /**
   * Whether a child takes another attempt now. A full window is topped up
   * only once it has drained to half: replies often come one at a time, and
   * refilling one by one would cost a message (and a system call) per
   * attempt; refilling by halves sends them in batches.
   */
  private hasRoom(child: ChildSlot): boolean {
    const count = child.calls.length;
    const window = this.window.size;
    if (count >= window) {
      child.refilling = false;
      return false;
    }
    if (count <= window >> 1) child.refilling = true;
    return child.refilling;
  }

  private assign(child: ChildSlot, call: PoolCall): void {
    const sourceId = call.sourceId;
    const defined = child.knownSources.has(sourceId);
    // One message per attempt (the transport batches them), so an argument
    // that cannot cross fails its own attempt and nothing else.
    const message: RunsMessage = defined
      ? { type: "runs", runs: [call.run] }
      : { type: "runs", sources: [[sourceId, this.sources[sourceId]]], runs: [call.run] };
    try {
      child.handle.send(message);
    } catch (error) {
      // Say where in the arguments the culprit is, not where in the message.
      const reason = unsendableReason(call.request.args, "args") ?? messageOf(error);
      this.settle(
        call,
        false,
        new TaskSerializationError(
          `task '${call.request.name}' could not be sent to a child process: ${reason}`,
          { cause: error },
        ),
      );
      return;
    }
    if (!defined) child.knownSources.add(sourceId);
    this.assigned(child, call);
    this.holding(child);
  }

  /** Sends a message down the child's stdin. */
  protected post(child: ChildSlot, message: MainMessage): void {
    child.handle.send(message);
  }

  // ------------------------------------------------------------- outcomes

  /**
   * The child announced its end: it takes no more work, and is killed if it
   * lingers. Its exit reports the crash (the note says why), with its real
   * exit code.
   */
  protected ending(
    child: ChildSlot,
    _how: "exited" | "crashed",
    note: string,
    details: CrashDetails,
  ): void {
    child.note = note;
    if ("cause" in details) child.cause = details.cause;
    child.accepting = false;
    if (child.stopTimer === undefined) {
      child.stopTimer = startTimer(() => {
        child.stopTimer = undefined;
        child.handle.killGroup();
      }, this.killGrace);
    }
  }

  // -------------------------------------------------------------- children

  private spawn(): ChildSlot {
    // The callbacks need the child, which needs the handle; they fire only later.
    const made: { child?: ChildSlot } = {};
    const handle = this.spawnChild({
      env: this.env,
      inheritEnv: this.inheritEnv,
      cwd: this.cwd,
      permissions: this.permissions,
      preload: this.preload,
      onMessage: (message) => {
        if (made.child !== undefined) this.receive(made.child, message);
      },
      onProtocolError: (error) => {
        const child = made.child;
        if (child === undefined || child.state !== "live") return;
        // A message that cannot be read leaves its attempt unanswered for good.
        child.note = `it sent an unreadable message (${messageOf(error)})`;
        child.cause = error;
        this.end(child, `worker process ${child.id} was killed: ${child.note}`, {
          cause: error,
        }, true);
      },
    });
    const spawned = new ChildSlot(handle);
    made.child = spawned;
    this.live.add(spawned);
    this.watchProcessExit();
    handle.exited.then((exit) => this.onExit(spawned, exit));
    handle.send(this.initMessage(spawned.id));
    return spawned;
  }

  /** Kills the child's group: its running attempt did not stop in time. */
  protected killStuck(child: ChildSlot, call: PoolCall): void {
    this.end(
      child,
      `worker process ${child.id} was killed: task '${call.request.name}' ` +
        `did not stop within ${this.killGrace}ms of its abort`,
      {},
      true,
    );
  }

  /** Asks an idle (or closing) child to stop: EOF on its stdin; killed if it lingers. */
  protected retire(child: ChildSlot): void {
    if (child.state !== "live") return;
    this.leave(child);
    child.handle.closeInput();
    child.stopTimer ??= startTimer(() => {
      child.stopTimer = undefined;
      child.handle.killGroup();
    }, this.killGrace);
    this.settleHeld(child, `worker process ${child.id} was stopped`);
  }

  /**
   * A child ended, or must: with `kill`, its process group is killed now. The
   * attempt it was running fails with `WorkerCrashedError` (unless the engine
   * already gave up on it); the attempts queued behind it go to other
   * children, unstarted.
   */
  private end(child: ChildSlot, why: string, details: CrashDetails, kill: boolean): void {
    if (child.state === "live") this.leave(child);
    if (kill) child.handle.killGroup();
    this.failHeld(child, child.calls.splice(0), why, details);
  }

  /** Takes a child out of the pool (it keeps running until it exits). */
  private leave(child: ChildSlot): void {
    // Referenced while it goes (a few ms), so that a pending `close()`, which
    // waits for its exit, keeps the program up.
    child.handle.ref();
    child.busy = true;
    child.state = "stopping";
    child.accepting = false;
    this.live.delete(child);
    this.stopping.add(child);
    this.clearTimers(child);
  }

  private onExit(child: ChildSlot, exit: ChildExit): void {
    if (child.state === "live") {
      // Nobody asked it to go: a crash. Whatever it started goes with it.
      this.end(
        child,
        `worker process died (${describeExit(exit)})` +
          (child.note === undefined ? "" : `: ${child.note}`),
        {
          exitCode: exit.code,
          signal: exit.signal,
          ...(child.cause === undefined ? {} : { cause: child.cause }),
        },
        true,
      );
    }
    child.state = "ended";
    child.stopTimer = stopTimer(child.stopTimer);
    this.stopping.delete(child);
    // A killed child's pipes must not keep the parent alive.
    child.handle.unref();
    releaseResource(child.token);
    this.settleHeld(child, `worker process died (${describeExit(exit)})`);
    if (this.live.size === 0 && this.stopping.size === 0) {
      this.unwatchProcessExit();
      this.allEnded();
    }
    this.pumpWaiting();
  }

  /** While children exist, a normal exit of this process kills their groups. */
  private watchProcessExit(): void {
    if (this.removeExitListener !== undefined) return;
    this.removeExitListener = onProcessExit(() => {
      for (const child of this.live) child.handle.killGroup();
      for (const child of this.stopping) child.handle.killGroup();
    });
    this.exitListenerToken = trackResource("listeners", "ProcessQueue process-exit listener");
  }

  private unwatchProcessExit(): void {
    if (this.removeExitListener === undefined) return;
    this.removeExitListener();
    this.removeExitListener = undefined;
    releaseResource(this.exitListenerToken);
  }
}
