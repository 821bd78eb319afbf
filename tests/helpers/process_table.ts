/**
 * What a test left behind, counted from outside the library: the processes
 * descended from this one (read from the process table, `/proc/<pid>/stat`
 * or `ps` where there is no `/proc`), next to the library's own ledger of
 * live workers, children, timers and listeners (`src/core/resources.ts`).
 * The ledger says what the library believes; the process table says what is
 * really there (a child the library forgot, a grandchild that escaped a
 * killed process group).
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { liveResourceLabels, liveResources, type ResourceKind } from "../../src/core/resources.ts";

/** One row of the process table. */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  /** Process group id. */
  readonly pgid: number;
  /** One-letter state (`R`, `S`, `Z` for a zombie, …). */
  readonly state: string;
  /** The executable's short name. */
  readonly command: string;
}

/** Where {@linkcode processTable} reads from. */
export type ProcessTableSource = "proc" | "ps";

/**
 * `"proc"` when `/proc` exists (Linux), else `"ps"`.
 *
 * @example
 * ```ts
 * console.log(defaultProcessTableSource()); // "proc" on Linux
 * ```
 */
export function defaultProcessTableSource(): ProcessTableSource {
  return existsSync("/proc/self/stat") ? "proc" : "ps";
}

/**
 * Parses one `/proc/<pid>/stat` line. The command is in parentheses and may
 * itself contain spaces and parentheses, so fields are counted from the last `)`.
 *
 * @example
 * ```ts
 * parseProcStat("42 (sh) S 1 42 42 0"); // { pid: 42, ppid: 1, pgid: 42, state: "S", command: "sh" }
 * ```
 */
export function parseProcStat(line: string): ProcessEntry | undefined {
  const open = line.indexOf("(");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(line.slice(0, open).trim());
  const fields = line.slice(close + 2).split(" ");
  const ppid = Number(fields[1]);
  const pgid = Number(fields[2]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isInteger(pgid)) {
    return undefined;
  }
  return { pid, ppid, pgid, state: fields[0], command: line.slice(open + 1, close) };
}

function readProc(): ProcessEntry[] {
  const table: ProcessEntry[] = [];
  for (const name of readdirSync("/proc")) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    try {
      const entry = parseProcStat(readFileSync(`/proc/${name}/stat`, "utf8"));
      if (entry !== undefined) table.push(entry);
    } catch {
      // The process ended between the directory listing and the read.
    }
  }
  return table;
}

function readPs(): ProcessEntry[] {
  const output = execFileSync("ps", ["-A", "-o", "pid=,ppid=,pgid=,stat=,comm="], {
    encoding: "utf8",
  });
  const table: ProcessEntry[] = [];
  for (const line of output.split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (match === null) continue;
    table.push({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      pgid: Number(match[3]),
      state: match[4].charAt(0),
      command: match[5].trim(),
    });
  }
  return table;
}

/**
 * Every process visible now.
 *
 * @example
 * ```ts
 * console.log(processTable().length > 0); // true
 * ```
 */
export function processTable(
  source: ProcessTableSource = defaultProcessTableSource(),
): ProcessEntry[] {
  return source === "proc" ? readProc() : readPs();
}

/**
 * This process's id (the same on Deno and Bun).
 *
 * @example
 * ```ts
 * console.log(selfPid === process.pid); // true
 * ```
 */
export const selfPid: number = process.pid;

/**
 * The processes descended from `pid` (children, grandchildren, …), found by
 * following parent ids through `table`.
 *
 * @example
 * ```ts
 * console.log(descendantsOf(selfPid).length); // 0 in a test that spawned nothing
 * ```
 */
export function descendantsOf(
  pid: number = selfPid,
  table: readonly ProcessEntry[] = processTable(),
): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table) {
    let list = children.get(entry.ppid);
    if (list === undefined) children.set(entry.ppid, list = []);
    list.push(entry);
  }
  const found: ProcessEntry[] = [];
  const seen = new Set<number>([pid]);
  const stack = [pid];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop() as number) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      found.push(child);
      stack.push(child.pid);
    }
  }
  return found;
}

/**
 * How many processes descend from this one now.
 *
 * @example
 * ```ts
 * console.log(countDescendants()); // 0
 * ```
 */
export function countDescendants(source?: ProcessTableSource): number {
  return descendantsOf(selfPid, processTable(source)).length;
}

/**
 * Processes in the given process groups (a child spawned detached leads its
 * own group; a grandchild it leaves behind stays in that group even after it
 * is re-parented, so the parent chain alone would miss it).
 *
 * @example
 * ```ts
 * console.log(processesInGroups([]).length); // 0
 * ```
 */
export function processesInGroups(
  pgids: Iterable<number>,
  table: readonly ProcessEntry[] = processTable(),
): ProcessEntry[] {
  const wanted = new Set(pgids);
  wanted.delete(0);
  return table.filter((entry) => wanted.has(entry.pgid) && entry.pid !== selfPid);
}

/** Everything a test could leave alive, counted at one moment. */
export interface LiveSnapshot {
  /** The library's ledger. */
  readonly library: Readonly<Record<ResourceKind, number>>;
  /** Descendant processes, from the process table. */
  readonly processes: readonly ProcessEntry[];
  /** Process groups led by or holding a descendant (other than this process's own). */
  readonly groups: readonly number[];
}

/**
 * Counts the library's live resources and this process's descendants.
 *
 * @example
 * ```ts
 * const before = liveSnapshot();
 * console.log(before.library.timers, before.processes.length);
 * ```
 */
export function liveSnapshot(): LiveSnapshot {
  const table = processTable();
  const own = table.find((entry) => entry.pid === selfPid)?.pgid;
  const processes = descendantsOf(selfPid, table);
  const groups = [...new Set(processes.map((entry) => entry.pgid))].filter((g) => g !== own);
  return { library: liveResources(), processes, groups };
}

/**
 * Whether this process runs other test files at the same time, so that its
 * process table is shared with them (`deno test --parallel` runs every file
 * in one process). Then a child another file spawned cannot be told from one
 * this test leaked, and only the library's ledger is checked strictly.
 *
 * @example
 * ```ts
 * if (sharesProcessWithOtherTests()) console.log("process table check is advisory");
 * ```
 */
export function sharesProcessWithOtherTests(): boolean {
  let words: string[];
  try {
    words = readFileSync("/proc/self/cmdline", "utf8").split("\0");
  } catch {
    words = [...process.argv];
  }
  return words.some((word) => word === "--parallel" || word.startsWith("--jobs"));
}

const KINDS: readonly ResourceKind[] = ["timers", "workers", "children", "listeners"];

/** What {@linkcode leftovers} found. */
export interface Leftovers {
  /** Library resources above the baseline, by kind. */
  readonly library: Partial<Record<ResourceKind, number>>;
  /** Descendant processes, or members of watched groups, that were not there at the baseline. */
  readonly processes: readonly ProcessEntry[];
}

/**
 * What is alive now and was not at `baseline`: library resources above
 * their baseline counts, and processes that are new descendants or members
 * of a process group seen at the baseline or in `extraGroups`.
 *
 * @example
 * ```ts
 * const before = liveSnapshot();
 * // … the test …
 * const left = leftovers(before);
 * console.log(left.processes.length); // 0
 * ```
 */
export function leftovers(baseline: LiveSnapshot, extraGroups: Iterable<number> = []): Leftovers {
  const now = liveResources();
  const library: Partial<Record<ResourceKind, number>> = {};
  for (const kind of KINDS) {
    if (now[kind] > baseline.library[kind]) library[kind] = now[kind] - baseline.library[kind];
  }
  const table = processTable();
  const known = new Set(baseline.processes.map((entry) => entry.pid));
  const own = table.find((entry) => entry.pid === selfPid)?.pgid;
  const groups = new Set([...baseline.groups, ...extraGroups]);
  if (own !== undefined) groups.delete(own);
  const fresh = new Map<number, ProcessEntry>();
  for (const entry of descendantsOf(selfPid, table)) {
    if (!known.has(entry.pid)) fresh.set(entry.pid, entry);
  }
  for (const entry of processesInGroups(groups, table)) {
    // An orphaned zombie is dead already; it waits only for init to reap it.
    if (entry.state === "Z") continue;
    if (!known.has(entry.pid)) fresh.set(entry.pid, entry);
  }
  return { library, processes: [...fresh.values()] };
}

/**
 * Whether {@linkcode leftovers} found nothing (processes ignored unless `checkProcesses`).
 *
 * @example
 * ```ts
 * console.log(isClean(leftovers(liveSnapshot()))); // true
 * ```
 */
export function isClean(found: Leftovers, checkProcesses = true): boolean {
  return Object.keys(found.library).length === 0 &&
    (!checkProcesses || found.processes.length === 0);
}

/**
 * Renders {@linkcode Leftovers} for an error message.
 *
 * @example
 * ```ts
 * console.log(describeLeftovers({ library: { timers: 1 }, processes: [] })); // "library: 1 timers"
 * ```
 */
export function describeLeftovers(found: Leftovers): string {
  const parts: string[] = [];
  const kinds = Object.entries(found.library).map(([kind, count]) => `${count} ${kind}`);
  if (kinds.length > 0) {
    const labels = liveResourceLabels();
    parts.push(
      `library: ${kinds.join(", ")}` + (labels.length > 0 ? ` (${labels.join("; ")})` : ""),
    );
  }
  if (found.processes.length > 0) {
    const listed = found.processes.map((p) => `${p.pid} ${p.command} [${p.state}]`);
    parts.push(`processes: ${listed.join(", ")}`);
  }
  return parts.join("; ");
}

/**
 * Waits up to `settleMs` for everything above `baseline` to go (workers and
 * children end asynchronously), then throws an error naming `what` and the
 * leftovers. Processes are checked strictly unless this process is shared
 * with other test files (then a process leftover is only printed).
 *
 * @example
 * ```ts
 * const before = liveSnapshot();
 * await q.shutdown();
 * await assertNothingLeft("test 'shutdown'", before);
 * ```
 */
export async function assertNothingLeft(
  what: string,
  baseline: LiveSnapshot,
  options: { settleMs?: number; extraGroups?: Iterable<number>; strictProcesses?: boolean } = {},
): Promise<void> {
  const settleMs = options.settleMs ?? 1_000;
  const extraGroups = [...(options.extraGroups ?? [])];
  const strictProcesses = options.strictProcesses ?? !sharesProcessWithOtherTests();
  const deadline = performance.now() + settleMs;
  let found = leftovers(baseline, extraGroups);
  while (!isClean(found) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    found = leftovers(baseline, extraGroups);
  }
  if (isClean(found, strictProcesses)) {
    if (found.processes.length > 0) {
      console.warn(
        `${what}: processes alive (advisory, shared test process): ${describeLeftovers(found)}`,
      );
    }
    return;
  }
  throw new Error(`${what} left resources alive after ${settleMs}ms: ${describeLeftovers(found)}`);
}
