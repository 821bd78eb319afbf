/**
 * The task module the pool workloads (W3–W6) load in their workers and
 * children: osiiso's queues name these exports with `taskModule`, the peer
 * pools and the minimal pools import them from their worker scripts, so
 * every implementation runs the same code.
 *
 * @module
 */

/** The tiny task: one addition, so what is measured is the pool. */
export function add(a: number, b: number): number {
  return a + b;
}

/** The CPU-bound task: naive recursive Fibonacci (fib(30) is about 10 ms). */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
