/**
 * The few runtime-specific calls a benchmark child needs. Runtime globals
 * are allowed in bench/ (it is not part of the package); they are kept here
 * so the workloads themselves read the same on Deno and Bun.
 *
 * @module
 */

interface BunGlobal {
  readonly version: string;
  readonly argv: readonly string[];
  gc(force: boolean): void;
}

interface ProcessGlobal {
  readonly argv: readonly string[];
  memoryUsage(): { heapUsed: number };
  cpuUsage(): { user: number; system: number };
  getBuiltinModule(id: string): unknown;
  exit(code: number): never;
}

const bun = (globalThis as { Bun?: BunGlobal }).Bun;
const nodeProcess = (globalThis as unknown as { process: ProcessGlobal }).process;

/** The runtime executing this process. */
export type RuntimeName = "deno" | "bun";

/** Which runtime this process runs on. */
export function runtimeName(): RuntimeName {
  return bun === undefined ? "deno" : "bun";
}

/** The version of the runtime executing this process. */
export function runtimeVersion(): string {
  return bun === undefined ? Deno.version.deno : bun.version;
}

/** The script's own arguments (after the script path). */
export function scriptArgs(): string[] {
  return bun === undefined ? [...Deno.args] : nodeProcess.argv.slice(2);
}

/**
 * Runs a full garbage collection. Deno needs `--v8-flags=--expose-gc`;
 * without it this throws, so a memory figure is never taken on a dirty heap.
 */
export function collectGarbage(): void {
  if (bun !== undefined) {
    bun.gc(true);
    return;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error("gc() is not exposed: run deno with --v8-flags=--expose-gc");
  }
  gc();
}

/** Bytes of JavaScript heap in use right now. */
export function heapUsed(): number {
  // On Bun this is the same figure as heapStats().heapSize from bun:jsc
  // (checked), and it needs no import that Deno's checker cannot resolve.
  return bun === undefined ? Deno.memoryUsage().heapUsed : nodeProcess.memoryUsage().heapUsed;
}

/**
 * CPU time this process has used so far, in ms (user + system, all
 * threads). On a shared, noisy machine it moves less than wall time with
 * what other processes do.
 */
export function cpuTimeMs(): number {
  const { user, system } = nodeProcess.cpuUsage();
  return (user + system) / 1000;
}

/**
 * CPU time another process has used so far, in ms (user + system, from
 * Linux's `/proc/PID/stat`, in clock ticks of 10 ms), or `undefined` where
 * that cannot be read.
 */
export function processCpuTimeMs(pid: number): number | undefined {
  const fs = nodeProcess.getBuiltinModule("node:fs") as {
    readFileSync(path: string, encoding: "utf8"): string;
  };
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Ends the process now, whatever timers or handles are still alive. */
export function exitProcess(code: number): never {
  return bun === undefined ? Deno.exit(code) : nodeProcess.exit(code);
}
