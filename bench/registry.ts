/**
 * Every benchmark workload by name. To add one, write bench/workloads/<name>.ts
 * exporting a {@linkcode Workload} and add its loader here; `bench/main.ts` and
 * `bench/run_workload.ts` need no change.
 *
 * @module
 */

import type { Workload } from "./types.ts";

/** Imports the module of one workload and returns that workload. */
export type WorkloadLoader = () => Promise<Workload>;

/**
 * Workloads in the order `deno task bench` runs them, each imported only when
 * asked for. A measurement process imports the one workload it measures and
 * nothing else: what another workload's module does when it loads (W4
 * computes its Fibonacci references, the pool workloads import the peer
 * pools) would otherwise run inside every measured process and move where
 * its garbage collections and compilations fall.
 */
export const workloadLoaders: Readonly<Record<string, WorkloadLoader>> = {
  W1: async () => (await import("./workloads/w1_trivial.ts")).w1Trivial,
  "W1-await": async () => (await import("./workloads/w1_trivial.ts")).w1Awaited,
  "W1-progress": async () => (await import("./workloads/w1_progress.ts")).w1Progress,
  W2: async () => (await import("./workloads/w2_sleeps.ts")).w2Sleeps,
  W3: async () => (await import("./workloads/w3_thread_tiny.ts")).w3ThreadTiny,
  W4: async () => (await import("./workloads/w4_thread_cpu.ts")).w4ThreadCpu,
  W5: async () => (await import("./workloads/w5_process.ts")).w5ProcessTiny,
  "W5-200": async () => (await import("./workloads/w5_process.ts")).w5ProcessSmall,
  "W5-cold": async () => (await import("./workloads/w5_process.ts")).w5ProcessCold,
  W6: async () => (await import("./workloads/w6_thread_start.ts")).w6ThreadStart,
  "W6-runs": async () => (await import("./workloads/w6_thread_runs.ts")).w6ThreadRuns,
  W7: async () => (await import("./workloads/w7_distributed.ts")).w7RoundTrip,
  "W7-drain": async () => (await import("./workloads/w7_distributed.ts")).w7Drain,
  "W7-failover": async () => (await import("./workloads/w7_distributed.ts")).w7Failover,
  MEM: async () => (await import("./workloads/mem_retained.ts")).memRetained,
  CP: async () => (await import("./workloads/cp_store.ts")).cpStore,
  "CP-map": async () => (await import("./workloads/cp_map.ts")).cpMap,
};

/** Every workload, loaded, in the registry's order (for `bench/main.ts`, which measures nothing itself). */
export async function loadAllWorkloads(): Promise<Record<string, Workload>> {
  const all: Record<string, Workload> = {};
  for (const [name, load] of Object.entries(workloadLoaders)) all[name] = await load();
  return all;
}
