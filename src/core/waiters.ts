/**
 * The callers a queue keeps waiting: for it to go idle, for it to close
 * (an endless run), for room in a bounded queue, and for a run's limit.
 * The engine decides when each list is woken; this module only keeps them.
 *
 * @module
 */

import type { Clock, Timer } from "./clock.ts";

/** A woken waiter; one that must wait again adds itself back. */
type Wake = () => void;

/** The lists of callers waiting on one queue, and the run waiting with a time limit. */
export class Waiters {
  /** Woken when nothing is outstanding. */
  readonly idle: Wake[] = [];
  /** Woken when the queue closes (what an endless run waits for). */
  readonly wake: Wake[] = [];
  /** Woken when a task finishes or the queue closes (each checks for room). */
  readonly space: Wake[] = [];
  private readonly clock: Clock;
  /** Ends the bounded wait in progress early; undefined when none is. */
  private endBoundedWait: (() => void) | undefined = undefined;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Wakes every waiter of `list` that was in it when called. */
  notify(list: Wake[]): void {
    const woken = list.splice(0);
    for (const wake of woken) wake();
  }

  /** Resolves at once when `idleNow`, otherwise when `idle` is next woken. */
  waitIdle(idleNow: boolean): Promise<void> {
    if (idleNow) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Resolves true when `list` is woken (at once when `metNow`), false when
   * `limit` ms pass first or `cutShort()` is called.
   */
  waitBounded(list: Wake[], metNow: boolean, limit: number | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let timer: Timer | undefined;
      let done = false;
      const finish = (value: boolean) => {
        if (done) return;
        done = true;
        if (timer !== undefined) this.clock.clearTimer(timer);
        this.endBoundedWait = undefined;
        resolve(value);
      };
      this.endBoundedWait = () => finish(false);
      if (limit !== undefined) timer = this.clock.setTimer(() => finish(false), limit);
      if (metNow) finish(true);
      else list.push(() => finish(true));
    });
  }

  /** Whether a bounded wait is in progress (a run waiting for its condition). */
  get waitingBounded(): boolean {
    return this.endBoundedWait !== undefined;
  }

  /** Ends the bounded wait in progress as if its limit had passed. */
  cutShort(): void {
    this.endBoundedWait?.();
  }

  /** Resolves once `hasRoom()` holds (false now), checked whenever `space` is woken. */
  whenSpace(hasRoom: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (hasRoom()) resolve();
        else this.space.push(check);
      };
      this.space.push(check);
    });
  }
}
