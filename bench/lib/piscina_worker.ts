/**
 * piscina's worker module for W3/W4/W6: piscina passes one value per task,
 * so each export unpacks it and calls the shared task in `bench/tasks.ts`.
 *
 * @module
 */

import { add, fib } from "../tasks.ts";

/** `add` taking its two numbers as one tuple. */
export function addPair([a, b]: [number, number]): number {
  return add(a, b);
}

/** `fib`, unchanged. */
export function fibOf(n: number): number {
  return fib(n);
}
