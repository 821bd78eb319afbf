/**
 * The backends the fault and load suite runs against. A backend is one
 * entry here; every table and test in `tests/fault/` loops over
 * {@linkcode faultBackends}, so ThreadQueue and ProcessQueue get their rows
 * by being registered, nothing else. They are picked up from `mod.ts` as
 * soon as it exports them.
 *
 * `OSIISO_FAULT_BACKENDS=async,thread` narrows the list (for the soak).
 *
 * @module
 */

import * as osiiso from "../../mod.ts";
import type { QueueOptions, Task, TaskQueue } from "../../mod.ts";
import { taskModule } from "../../mod.ts";
import * as FaultTaskModule from "./fault_tasks.ts";

type AsTask<F> = F extends (...args: infer A) => infer R ? Task<A, R> : never;

/** The fault tasks as a backend runs them: plain functions (async) or module references. */
export type FaultTasks = {
  readonly [K in keyof typeof FaultTaskModule]: AsTask<typeof FaultTaskModule[K]>;
};

/** Which backend. */
export type BackendName = "async" | "thread" | "process";

/** What the fault suite needs to know about a backend. */
export interface FaultBackend {
  readonly name: BackendName;
  /** Thread and process queues: tasks cross to a worker or child. */
  readonly pooled: boolean;
  /** A fresh queue with `options` (backend options included, unchecked by the type). */
  make(options?: QueueOptions & Record<string, unknown>): TaskQueue;
  /**
   * Options that make `workers` the number of attempts in flight (pooled
   * queues pipeline several attempts per worker by default), for tests
   * that count active tasks.
   */
  readonly onePerWorker: Record<string, unknown>;
  /** The fault tasks, in the form this backend runs fastest. */
  readonly tasks: FaultTasks;
  /** Load sizes: in the per-commit suite, and in `deno task soak`. */
  readonly load: { readonly suite: number; readonly soak: number; readonly workers: number };
  /**
   * Option rows only this backend has, for the bad-input table:
   * `[label, options, error class name, message pattern]`.
   */
  readonly badOptions: readonly (readonly [string, Record<string, unknown>, string, RegExp])[];
}

/**
 * The fault tasks as module references (what the pooled queues need; AsyncQueue
 * accepts them too and imports the module).
 */
export const faultTaskRefs: FaultTasks = taskModule<typeof FaultTaskModule>(
  new URL("./fault_tasks.ts", import.meta.url),
) as unknown as FaultTasks;

/** The fault tasks as plain functions (AsyncQueue only). */
export const faultTaskFunctions: FaultTasks = FaultTaskModule as unknown as FaultTasks;

type QueueClass = new (options?: Record<string, unknown>) => TaskQueue;

const exported = osiiso as unknown as Record<string, unknown>;

const create = (number: string): RegExp =>
  new RegExp(`^Cannot create queue as '${number}' must be `);

/** Option rows the thread and process queues share. */
const poolOptionRows: FaultBackend["badOptions"] = [
  ["initializer: a number", { initializer: 42 }, "TypeError", create("initializer")],
  ["initArgs: not an array", { initArgs: "x" }, "TypeError", create("initArgs")],
  ["maxTasksPerWorker: 0", { maxTasksPerWorker: 0 }, "RangeError", create("maxTasksPerWorker")],
  ["idleTimeout: -1", { idleTimeout: -1 }, "RangeError", create("idleTimeout")],
  [
    "maxInFlightPerWorker: 1.5",
    { maxInFlightPerWorker: 1.5 },
    "RangeError",
    create("maxInFlightPerWorker"),
  ],
  ["killGrace: NaN", { killGrace: NaN }, "RangeError", create("killGrace")],
  ["killGrace: a string", { killGrace: "1s" }, "TypeError", create("killGrace")],
];

/** Two workers unless told otherwise; anything that is not an options object passes as it is. */
function withDefaults(options: unknown): Record<string, unknown> {
  if (options === undefined) return { workers: 2 };
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    return options as Record<string, unknown>;
  }
  return { workers: 2, ...options };
}

function registered(): FaultBackend[] {
  const list: FaultBackend[] = [{
    name: "async",
    pooled: false,
    make: (options) => new osiiso.AsyncQueue(options),
    onePerWorker: {},
    tasks: faultTaskFunctions,
    load: { suite: 200_000, soak: 1_000_000, workers: 64 },
    badOptions: [],
  }];
  const ThreadQueue = exported.ThreadQueue as QueueClass | undefined;
  if (ThreadQueue !== undefined) {
    list.push({
      name: "thread",
      pooled: true,
      make: (options) => new ThreadQueue(withDefaults(options)),
      onePerWorker: { maxInFlightPerWorker: 1 },
      tasks: faultTaskRefs,
      load: { suite: 10_000, soak: 100_000, workers: 2 },
      badOptions: poolOptionRows,
    });
  }
  const ProcessQueue = exported.ProcessQueue as QueueClass | undefined;
  if (ProcessQueue !== undefined) {
    list.push({
      name: "process",
      pooled: true,
      make: (options) => new ProcessQueue(withDefaults(options)),
      onePerWorker: { maxInFlightPerWorker: 1 },
      tasks: faultTaskRefs,
      load: { suite: 5_000, soak: 20_000, workers: 2 },
      badOptions: [
        ...poolOptionRows,
        ["env: a string", { env: "A=1" }, "TypeError", create("env")],
        ["cwd: a number", { cwd: 5 }, "TypeError", create("cwd")],
      ],
    });
  }
  return list;
}

/**
 * The registered backends, narrowed by `OSIISO_FAULT_BACKENDS` when set.
 *
 * @example
 * ```ts
 * for (const backend of faultBackends()) console.log(backend.name);
 * ```
 */
export function faultBackends(): FaultBackend[] {
  const only = process.env.OSIISO_FAULT_BACKENDS;
  const all = registered();
  if (only === undefined || only.trim() === "") return all;
  const wanted = new Set(only.split(",").map((name) => name.trim()));
  return all.filter((backend) => wanted.has(backend.name));
}
