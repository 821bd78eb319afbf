/**
 * Task functions for the fault and load suite. A plain module that imports
 * nothing, so every backend can run it: AsyncQueue calls these functions
 * directly, and the pooled queues import the module in a worker or child
 * through `taskModule()`.
 *
 * @module
 */

/** The part of a `TaskContext` these tasks read. */
export interface ContextLike {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly signal: AbortSignal;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Returns `i + 1`: the trivial task of the load tests.
 *
 * @example
 * ```ts
 * console.log(increment(1)); // 2
 * ```
 */
export function increment(i: number): number {
  return i + 1;
}

/**
 * Throws an `Error` whose message is `load failure <i>`.
 *
 * @example
 * ```ts
 * try { boom(3); } catch (e) { console.log((e as Error).message); } // load failure 3
 * ```
 */
export function boom(i: number): never {
  throw new Error(`load failure ${i}`);
}

/**
 * Never settles, and never looks at any signal.
 *
 * @example
 * ```ts
 * void hang(); // pending forever
 * ```
 */
export function hang(): Promise<never> {
  return new Promise<never>(() => {});
}

/**
 * Fails its first `failures` attempts, then returns `i + 1` (`bind: true`).
 *
 * @example
 * ```ts
 * // q.submit(tasks.flaky, [1, 5], { bind: true, retries: 1 }) → 6
 * ```
 */
export function flaky(context: ContextLike, failures: number, i: number): number {
  if (context.attempt <= failures) throw new Error(`flaky attempt ${context.attempt}`);
  return i + 1;
}

/**
 * Sleeps `ms` of real time on a plain timer that ignores the attempt's
 * signal (`bind: true`), then returns `"late"`.
 *
 * @example
 * ```ts
 * // q.submit(tasks.ignoreSignal, [300], { bind: true, timeout: 20 })
 * ```
 */
export async function ignoreSignal(_context: ContextLike, ms: number): Promise<string> {
  await sleep(ms);
  return "late";
}

/**
 * Sleeps `ms`, then rejects with `late rejection` (used after a timeout: the
 * late rejection must not become an unhandled one).
 *
 * @example
 * ```ts
 * // q.submit(tasks.rejectLate, [100], { timeout: 20 })
 * ```
 */
export async function rejectLate(ms: number): Promise<never> {
  await sleep(ms);
  throw new Error("late rejection");
}

/**
 * Sleeps `ms`, stopping early (with the signal's reason) when the attempt's
 * signal aborts (`bind: true`); returns `ms`.
 *
 * @example
 * ```ts
 * // q.submit(tasks.sleepAbortable, [1_000], { bind: true, timeout: 50 })
 * ```
 */
export function sleepAbortable(context: ContextLike, ms: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      context.signal.removeEventListener("abort", onAbort);
      resolve(ms);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(context.signal.reason);
    };
    if (context.signal.aborted) onAbort();
    else context.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Sleeps `ms` (ignoring signals), then returns `value`.
 *
 * @example
 * ```ts
 * console.log(await sleepThen(1, "x")); // "x"
 * ```
 */
export async function sleepThen<T>(ms: number, value: T): Promise<T> {
  await sleep(ms);
  return value;
}

/**
 * Always fails with `error attempt <n>` (`bind: true`).
 *
 * @example
 * ```ts
 * // q.submit(tasks.alwaysFails, [], { bind: true, retries: 3 })
 * ```
 */
export function alwaysFails(context: ContextLike): never {
  throw new Error(`error attempt ${context.attempt}`);
}

/**
 * Throws `value` as it is (a non-`Error` throw: `null`, a string, …).
 *
 * @example
 * ```ts
 * try { throwValue("plain"); } catch (e) { console.log(e); } // "plain"
 * ```
 */
export function throwValue(value: unknown): never {
  throw value;
}

/**
 * Returns how many arguments it got.
 *
 * @example
 * ```ts
 * console.log(countArgs(1, 2, 3)); // 3
 * ```
 */
export function countArgs(...args: unknown[]): number {
  return args.length;
}

/**
 * Returns the length of a string or array argument.
 *
 * @example
 * ```ts
 * console.log(lengthOf("abc")); // 3
 * ```
 */
export function lengthOf(value: string | unknown[]): number {
  return value.length;
}
