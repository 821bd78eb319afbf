/**
 * Every benchmark workload by name. To add one, write bench/workloads/<name>.ts
 * exporting a {@linkcode Workload} and list it here; `bench/main.ts` and
 * `bench/run_workload.ts` need no change.
 *
 * @module
 */

import type { Workload } from "./types.ts";
import { cpMap } from "./workloads/cp_map.ts";
import { cpStore } from "./workloads/cp_store.ts";
import { memRetained } from "./workloads/mem_retained.ts";
import { w1Progress } from "./workloads/w1_progress.ts";
import { w1Awaited, w1Trivial } from "./workloads/w1_trivial.ts";
import { w2Sleeps } from "./workloads/w2_sleeps.ts";
import { w3ThreadTiny } from "./workloads/w3_thread_tiny.ts";
import { w4ThreadCpu } from "./workloads/w4_thread_cpu.ts";
import { w5ProcessCold, w5ProcessSmall, w5ProcessTiny } from "./workloads/w5_process.ts";
import { w6ThreadRuns } from "./workloads/w6_thread_runs.ts";
import { w6ThreadStart } from "./workloads/w6_thread_start.ts";
import { w7Drain, w7Failover, w7RoundTrip } from "./workloads/w7_distributed.ts";

/** Workloads in the order `deno task bench` runs them. */
export const workloads: Readonly<Record<string, Workload>> = {
  W1: w1Trivial,
  "W1-await": w1Awaited,
  "W1-progress": w1Progress,
  W2: w2Sleeps,
  W3: w3ThreadTiny,
  W4: w4ThreadCpu,
  W5: w5ProcessTiny,
  "W5-200": w5ProcessSmall,
  "W5-cold": w5ProcessCold,
  W6: w6ThreadStart,
  "W6-runs": w6ThreadRuns,
  W7: w7RoundTrip,
  "W7-drain": w7Drain,
  "W7-failover": w7Failover,
  MEM: memRetained,
  CP: cpStore,
  "CP-map": cpMap,
};
