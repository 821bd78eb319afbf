/**
 * poolifier-web-worker's worker module for W3/W4/W6: one `ThreadWorker`
 * with a task function per shared task in `bench/tasks.ts`.
 *
 * @module
 */

import { ThreadWorker } from "poolifier-web-worker";
import { add, fib } from "../tasks.ts";

/** The worker poolifier starts; its task functions are chosen by name. */
export default new ThreadWorker<[number, number] | number, number>({
  addPair: (pair) => add(...(pair as [number, number])),
  fibOf: (n) => fib(n as number),
});
