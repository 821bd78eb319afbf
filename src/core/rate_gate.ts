/**
 * A GCRA rate gate shared by all of a queue's workers: after an idle period
 * `burst` attempts start at once, then attempts are spaced `1000 / rate` ms
 * apart. Every attempt takes a reservation, retries included.
 *
 * @module
 */

/** Generic cell-rate algorithm over a monotonic clock in ms. */
export class RateGate {
  private readonly interval: number;
  private readonly tolerance: number;
  private theoreticalArrival = -Infinity;

  /** `rate` reservations per second, `burst` of them back to back. */
  constructor(rate: number, burst: number) {
    this.interval = 1000 / rate;
    this.tolerance = (burst - 1) * this.interval;
  }

  /** Takes a reservation at time `now`; returns how long to wait before using it (ms). */
  reserve(now: number): number {
    const arrival = Math.max(this.theoreticalArrival, now);
    this.theoreticalArrival = arrival + this.interval;
    return Math.max(0, arrival - this.tolerance - now);
  }

  /**
   * Records that an attempt really started at `time` (a pool may start one
   * later than its reservation): the next ones keep their spacing from it.
   */
  startedAt(time: number): void {
    this.theoreticalArrival = Math.max(this.theoreticalArrival, time + this.interval);
  }

  /** Forgets past reservations (after `reset()`). */
  clear(): void {
    this.theoreticalArrival = -Infinity;
  }
}
