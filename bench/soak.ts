/**
 * `deno task soak`: the fault suite's long mode. Each registered backend
 * (AsyncQueue 1,000,000 tasks; ThreadQueue 100,000 and ProcessQueue 20,000
 * once they exist) runs its soak size on Deno and on Bun, each in a fresh
 * child process, with 10 % failures, 5 % timeouts, 2 % flaky tasks, 1 %
 * cancellations and random priorities (`tests/fault/load_driver.ts`); then
 * a bounded producer run (size 1,000, a quarter of the tasks). Prints one
 * table: tasks, settled, lost, peak RSS, bytes retained per task, seconds.
 * Exits 1 if any handle was lost, settled twice or had the wrong outcome,
 * if a summary count differs from the injected one, or if more than 1 KiB
 * was retained per finished task (the package's memory target).
 *
 * Flags: `--runtimes deno,bun`, `--backends async,thread,process`,
 * `--tasks N` (same size for every backend), `--no-bounded`, `--help`.
 *
 * @module
 */

const RESULT_PREFIX = "SOAK_RESULT ";
const CHILD_TIMEOUT_MS = 15 * 60_000;
const BOUNDED_SIZE = 1_000;
const REPO_ROOT = new URL("../", import.meta.url);
// Spawned, never imported: the bench is type-checked with
// --node-modules-dir=manual, where the driver's node: imports have no types.
const CHILD = new URL("tests/fault/soak_child.ts", REPO_ROOT).pathname;

const USAGE = "Usage: deno task soak [--runtimes deno,bun] [--backends async,thread,process] " +
  "[--tasks N] [--no-bounded]";

interface Options {
  readonly runtimes: readonly string[];
  readonly backends: readonly string[] | undefined;
  readonly tasks: number | undefined;
  readonly bounded: boolean;
}

/** The fields of the driver's `LoadReport` this table reads. */
interface LoadReport {
  readonly tasks: number;
  readonly settled: number;
  readonly lost: number;
  readonly repeated: number;
  readonly wrong: number;
  readonly expected: {
    readonly succeeded: number;
    readonly failed: number;
    readonly cancelled: number;
  };
  readonly summary: {
    readonly total: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly cancelled: number;
  };
  readonly peakRss: number;
  readonly bytesPerTask: number;
  readonly seconds: number;
}

function parseOptions(args: readonly string[]): Options | undefined {
  let runtimes = ["deno", "bun"];
  let backends: string[] | undefined;
  let tasks: number | undefined;
  let bounded = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const list = () => (args[++i] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (arg === "--runtimes") runtimes = list();
    else if (arg === "--backends") backends = list();
    else if (arg === "--tasks") tasks = Number(args[++i]);
    else if (arg === "--no-bounded") bounded = false;
    else if (arg === "--help") return undefined;
    else throw new Error(`unknown flag ${arg}\n${USAGE}`);
  }
  if (tasks !== undefined && !(Number.isInteger(tasks) && tasks > 0)) {
    throw new Error(`--tasks must be a positive integer\n${USAGE}`);
  }
  return { runtimes, backends, tasks, bounded };
}

/** Runs the child script on `runtime`; returns its parsed result line, or an error text. */
async function runChild(runtime: string, childArgs: string[]): Promise<unknown> {
  const binary = new URL(`node_modules/.bin/${runtime}`, REPO_ROOT).pathname;
  const args = runtime === "deno"
    ? ["run", "-A", "--v8-flags=--expose-gc", CHILD, ...childArgs]
    : [CHILD, ...childArgs];
  const child = new Deno.Command(binary, { args, stdout: "piped", stderr: "piped" }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, CHILD_TIMEOUT_MS);
  const output = await child.output();
  clearTimeout(timer);
  const stdout = new TextDecoder().decode(output.stdout);
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (line !== undefined) return JSON.parse(line.slice(RESULT_PREFIX.length));
  const stderr = new TextDecoder().decode(output.stderr);
  return `exit ${output.code}: ${(stderr || stdout).trim().split("\n").slice(-3).join(" | ")}`;
}

function problems(report: LoadReport): string[] {
  const found: string[] = [];
  if (report.lost > 0) found.push(`${report.lost} lost`);
  if (report.repeated > 0) found.push(`${report.repeated} settled twice`);
  if (report.wrong > 0) found.push(`${report.wrong} wrong outcomes`);
  const s = report.summary;
  const e = report.expected;
  if (
    s.total !== report.tasks || s.succeeded !== e.succeeded || s.failed !== e.failed ||
    s.cancelled !== e.cancelled
  ) {
    found.push(
      `summary ${s.succeeded}/${s.failed}/${s.cancelled} ≠ injected ${e.succeeded}/${e.failed}/${e.cancelled}`,
    );
  }
  if (report.bytesPerTask > 1_024) found.push(`${report.bytesPerTask.toFixed(0)} B/task > 1 KiB`);
  return found;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: readonly string[]) =>
    row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)]
    .join("\n");
}

async function main(): Promise<number> {
  const options = parseOptions(Deno.args);
  if (options === undefined) {
    console.log(USAGE);
    return 0;
  }
  const listed = await runChild("deno", ["--list"]);
  if (typeof listed === "string") throw new Error(`cannot list the backends: ${listed}`);
  const backends = (listed as { name: string; soak: number }[]).filter((b) =>
    options.backends === undefined || options.backends.includes(b.name)
  );
  const header = [
    "runtime",
    "backend",
    "mode",
    "tasks",
    "settled",
    "lost",
    "peak RSS",
    "bytes/task",
    "seconds",
    "tasks/s",
  ];
  const rows: string[][] = [header];
  const failures: string[] = [];
  for (const runtime of options.runtimes) {
    for (const backend of backends) {
      const size = options.tasks ?? backend.soak;
      const modes = options.bounded ? [false, true] : [false];
      for (const bounded of modes) {
        const tasks = bounded ? Math.ceil(size / 4) : size;
        const mode = bounded ? `bounded ${BOUNDED_SIZE}` : "all at once";
        console.error(`soak: ${runtime} ${backend.name} ${mode}, ${tasks} tasks …`);
        const outcome = await runChild(runtime, [
          backend.name,
          String(tasks),
          bounded ? "bounded" : "all",
        ]);
        if (typeof outcome === "string") {
          failures.push(`${runtime} ${backend.name} ${mode}: ${outcome}`);
          rows.push([runtime, backend.name, mode, String(tasks), "-", "-", "-", "-", "-", "-"]);
          continue;
        }
        const report = outcome as LoadReport;
        for (const problem of problems(report)) {
          failures.push(`${runtime} ${backend.name} ${mode}: ${problem}`);
        }
        rows.push([
          runtime,
          backend.name,
          mode,
          report.tasks.toLocaleString("en-US"),
          report.settled.toLocaleString("en-US"),
          String(report.lost),
          `${(report.peakRss / 1024 / 1024).toFixed(0)} MiB`,
          report.bytesPerTask.toFixed(0),
          report.seconds.toFixed(1),
          Math.round(report.tasks / report.seconds).toLocaleString("en-US"),
        ]);
      }
    }
  }
  console.log(table(rows));
  if (failures.length > 0) {
    console.log(`\nFAILED:\n  ${failures.join("\n  ")}`);
    return 1;
  }
  console.log("\nevery handle settled exactly once with its injected outcome; summaries exact");
  return 0;
}

Deno.exit(await main());
