/**
 * Time, injectable. The engine reads every timestamp and sets every timer
 * through a {@linkcode Clock}, so tests can drive delays, retries, rate
 * limits and timeouts with a {@linkcode ManualClock} instead of waiting.
 *
 * @module
 */

import { countTimer } from "./resources.ts";
import { invalidMessage } from "./validate.ts";

/** A timer returned by {@linkcode Clock.setTimer}; pass it to {@linkcode Clock.clearTimer}. */
export interface Timer {
  /** True until the timer fired or was cleared. */
  readonly pending: boolean;
}

/**
 * The time source of a queue.
 *
 * @example Use the system clock explicitly
 * ```ts
 * import { AsyncQueue, systemClock } from "@osiiso/osiiso";
 * const q = new AsyncQueue({ clock: systemClock });
 * await q.shutdown();
 * ```
 */
export interface Clock {
  /** Monotonic milliseconds (the system clock aligns them with the epoch). */
  now(): number;
  /** Wall-clock epoch milliseconds; only used to convert `runAt`. */
  wallNow(): number;
  /** Calls `callback` once after `ms` milliseconds. */
  setTimer(callback: () => void, ms: number): Timer;
  /** Cancels a timer; harmless when it already fired or was cleared. */
  clearTimer(timer: Timer): void;
  /**
   * A number in [0, 1) for `retryJitter`. Optional: without it the queue
   * uses `Math.random()`.
   */
  random?(): number;
}

// Read once: the getter is a runtime call and `now()` is on the hot path.
const timeOrigin = performance.timeOrigin;

class SystemTimer implements Timer {
  pending = true;
  id: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The real clock: `performance.timeOrigin + performance.now()` (monotonic,
 * epoch-aligned) and the runtime's `setTimeout`.
 *
 * @example
 * ```ts
 * import { systemClock } from "@osiiso/osiiso";
 * const before = systemClock.now();
 * console.log(systemClock.now() >= before); // true
 * ```
 */
export const systemClock: Clock = {
  now(): number {
    return timeOrigin + performance.now();
  },
  wallNow(): number {
    return Date.now();
  },
  setTimer(callback: () => void, ms: number): Timer {
    const timer = new SystemTimer();
    countTimer(1);
    timer.id = setTimeout(() => {
      timer.pending = false;
      countTimer(-1);
      callback();
    }, Math.max(0, ms));
    return timer;
  },
  clearTimer(timer: Timer): void {
    const t = timer as SystemTimer;
    if (!t.pending) return;
    t.pending = false;
    countTimer(-1);
    clearTimeout(t.id);
  },
};

class ManualTimer implements Timer {
  pending = true;
  constructor(readonly due: number, readonly seq: number, readonly callback: () => void) {}
}

/**
 * A clock that only moves when told to, for deterministic tests of delays,
 * retries, rate limits and timeouts. `advance()` fires due timers in time
 * order and lets the promise jobs they start run before the next one.
 *
 * @example
 * ```ts
 * import { AsyncQueue, ManualClock } from "@osiiso/osiiso";
 * const clock = new ManualClock();
 * const q = new AsyncQueue({ clock });
 * const h = q.submit(() => "late", { delay: 60_000 });
 * q.start();
 * await clock.advance(60_000);
 * console.log(await h); // "late"
 * await q.shutdown();
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #wallOffset: number;
  #seq = 0;
  #timers: ManualTimer[] = [];
  #randomState: number;

  /**
   * Starts at monotonic time `start` and wall time `wallStart` (both ms);
   * `seed` starts the sequence {@linkcode ManualClock.random} returns.
   */
  constructor(start = 0, wallStart = 1_700_000_000_000, seed = 1) {
    this.#now = start;
    this.#wallOffset = wallStart - start;
    this.#randomState = seed >>> 0;
  }

  /**
   * A repeatable number in [0, 1): the same seed gives the same sequence, so
   * jittered retry delays are the same on every run of a test.
   */
  random(): number {
    // mulberry32: a small, well-mixed 32-bit generator.
    let t = (this.#randomState = (this.#randomState + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** The current monotonic time. */
  now(): number {
    return this.#now;
  }

  /** The current wall time; moves with {@linkcode ManualClock.advance}. */
  wallNow(): number {
    return this.#wallOffset + this.#now;
  }

  /** Registers a timer at `now() + ms`. */
  setTimer(callback: () => void, ms: number): Timer {
    const timer = new ManualTimer(this.#now + Math.max(0, ms), this.#seq++, callback);
    this.#timers.push(timer);
    return timer;
  }

  /** Cancels a timer. */
  clearTimer(timer: Timer): void {
    (timer as ManualTimer).pending = false;
  }

  /** Timers that have neither fired nor been cleared. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => t.pending).length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that comes due on the way
   * (also timers set by those callbacks), each at its own time, and settles
   * the promise jobs each one starts before the next fires.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) {
      throw new RangeError(invalidMessage("advance clock", "ms", "a non-negative number", ms));
    }
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.due);
      next.pending = false;
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #nextDue(limit: number): ManualTimer | undefined {
    this.#timers = this.#timers.filter((t) => t.pending);
    let best: ManualTimer | undefined;
    for (const t of this.#timers) {
      if (t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) {
        best = t;
      }
    }
    return best;
  }
}

/** Lets queued promise jobs (and jobs they queue) run: one macrotask turn. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
