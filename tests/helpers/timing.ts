/**
 * Small timing tools for tests that use real time. Bounds in the tests are
 * generous on purpose: they prove order and rough size, not precision
 * (precise timing is tested with the injectable `ManualClock`).
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds of real time; rejects with the reason of
 * `signal` as soon as it aborts.
 *
 * @example
 * ```ts
 * await sleep(10);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

/**
 * Milliseconds since the stopwatch was made.
 *
 * @example
 * ```ts
 * const elapsed = stopwatch();
 * await sleep(10);
 * console.log(elapsed() >= 9);
 * ```
 */
export function stopwatch(): () => number {
  const start = performance.now();
  return () => performance.now() - start;
}

/** A promise with its resolver, for tests that release work on cue. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

/**
 * Makes a {@linkcode Deferred}.
 *
 * @example
 * ```ts
 * const gate = deferred<void>();
 * setTimeout(() => gate.resolve(), 5);
 * await gate.promise;
 * ```
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Polls `condition` every 5 ms until it holds; throws after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitFor(() => handle.status === "running");
 * ```
 */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 2_000,
  what = "condition",
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`${what} not met within ${timeoutMs}ms`);
    await sleep(5);
  }
}

/**
 * Lets pending promise jobs and one timer turn run.
 *
 * @example
 * ```ts
 * await tick();
 * ```
 */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * How long after its first attempt started a task settled, in ms: a
 * duration that leaves out the wait for a worker or a child to boot, which
 * a loaded machine can stretch far beyond the task's own times.
 *
 * @example
 * ```ts
 * await q.run();
 * assert.ok(ranFor(h.result()) < 1_000);
 * ```
 */
export function ranFor(result: { startedAt: number | null; finishedAt: number }): number {
  return result.finishedAt - (result.startedAt ?? result.finishedAt);
}
