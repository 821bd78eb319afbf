/**
 * Every benchmark workload by name. To add one, write bench/workloads/<name>.ts
 * exporting a {@linkcode Workload} and list it here; `bench/main.ts` and
 * `bench/run_workload.ts` need no change.
 *
 * @module
 */

import type { Workload } from "./types.ts";
import { memRetained } from "./workloads/mem_retained.ts";
import { w1Trivial } from "./workloads/w1_trivial.ts";
import { w2Sleeps } from "./workloads/w2_sleeps.ts";

/** Workloads in the order `deno task bench` runs them. */
export const workloads: Readonly<Record<string, Workload>> = {
  W1: w1Trivial,
  W2: w2Sleeps,
  MEM: memRetained,
};
