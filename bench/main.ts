/**
 * `deno task bench`: runs every workload on Deno and on Bun, each measurement
 * in a fresh child process (`bench/run_workload.ts`), and prints one table
 * per workload with medians and the ratio of ours to each peer measured in
 * the same run. Raw figures go to `.bench-out/` as JSON (and a Markdown table).
 *
 * Flags: `--runs N` (default 3), `--only W1,W2` (a name also selects its `-` variants:
 * `CP` runs CP and CP-map), `--runtimes deno,bun`,
 * `--markdown` (also print the Markdown table), `--help`.
 *
 * @module
 */

import { loadAllWorkloads } from "./registry.ts";
import { RESULT_PREFIX } from "./run_workload.ts";
import {
  type CellRuns,
  columns,
  formatCell,
  formatRatio,
  formatValue,
  ratio,
  type Runtime,
  RUNTIMES,
  summarize,
} from "./lib/report.ts";
import type { Workload } from "./types.ts";

const workloads = await loadAllWorkloads();

const REPO_ROOT = new URL("../", import.meta.url);
const CHILD_SCRIPT = "bench/run_workload.ts";
const DEFAULT_TIMEOUT_MS = 300_000;

interface Options {
  readonly runs: number;
  readonly only: readonly string[];
  readonly runtimes: readonly Runtime[];
  readonly markdown: boolean;
}

/** What one child process reported. */
interface ChildResult {
  readonly version?: string;
  readonly value?: number;
  readonly detail?: Record<string, number | string>;
  readonly error?: string;
}

/** Every run of one workload: impl → runtime → runs. */
type WorkloadRuns = Record<string, Record<Runtime, CellRuns>>;

const USAGE = `Usage: deno task bench [--runs N] [--only W1,W2] [--runtimes deno,bun] [--markdown]
Workloads: ${Object.keys(workloads).join(", ")}`;

function parseOptions(args: readonly string[]): Options {
  let runs = 3;
  let only: string[] = Object.keys(workloads);
  let runtimes: Runtime[] = [...RUNTIMES];
  let markdown = false;
  for (let index = 0; index < args.length; index++) {
    const [flag, inline] = args[index].split("=", 2);
    const value = (): string => {
      const next = inline ?? args[++index];
      if (next === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return next;
    };
    switch (flag) {
      case "--runs":
        runs = Number(value());
        if (!Number.isInteger(runs) || runs < 1) {
          throw new Error(`--runs must be a positive integer\n${USAGE}`);
        }
        break;
      case "--only":
        only = [
          ...new Set(value().split(",").flatMap((name) => resolveWorkloadNames(name.trim()))),
        ];
        break;
      case "--runtimes":
        runtimes = value().split(",").map((name) => {
          const runtime = RUNTIMES.find((known) => known === name.trim().toLowerCase());
          if (runtime === undefined) throw new Error(`unknown runtime '${name}'\n${USAGE}`);
          return runtime;
        });
        break;
      case "--markdown":
        markdown = true;
        break;
      case "--help":
      case "-h":
        console.log(USAGE);
        Deno.exit(0);
        break;
      default:
        throw new Error(`unknown argument '${args[index]}'\n${USAGE}`);
    }
  }
  return { runs, only, runtimes, markdown };
}

function resolveWorkloadNames(name: string): string[] {
  const wanted = name.toLowerCase();
  const found = Object.keys(workloads).filter((known) => {
    const lower = known.toLowerCase();
    return lower === wanted || lower.startsWith(`${wanted}-`);
  });
  if (found.length === 0) throw new Error(`unknown workload '${name}'\n${USAGE}`);
  return found;
}

/** The command line that runs one measurement on `runtime`. */
function childCommand(runtime: Runtime, workload: Workload, args: string[]): [string, string[]] {
  if (runtime === "deno") {
    return [Deno.execPath(), [
      "run",
      "-A",
      "--node-modules-dir=manual",
      ...(workload.denoFlags ?? []),
      CHILD_SCRIPT,
      ...args,
    ]];
  }
  return [bunBinary(), [...(workload.bunFlags ?? []), CHILD_SCRIPT, ...args]];
}

let bunPath: string | undefined;

// Prefer the pinned Bun from `npm ci`; fall back to whatever is on PATH.
function bunBinary(): string {
  if (bunPath === undefined) {
    const local = new URL("node_modules/.bin/bun", REPO_ROOT);
    try {
      Deno.statSync(local);
      bunPath = decodeURIComponent(local.pathname);
    } catch {
      bunPath = "bun";
    }
  }
  return bunPath;
}

async function runChild(
  runtime: Runtime,
  workloadName: string,
  implName: string,
): Promise<ChildResult> {
  const workload = workloads[workloadName];
  const [binary, args] = childCommand(runtime, workload, [workloadName, implName]);
  const timeoutMs = workload.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(binary, {
      args,
      cwd: REPO_ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { error: `could not run ${binary}: ${message}` };
  }
  const stdout = new TextDecoder().decode(output.stdout);
  const line = stdout.split("\n").findLast((text) => text.startsWith(RESULT_PREFIX));
  if (line !== undefined) {
    return JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult;
  }
  if (output.signal !== null) {
    return { error: `killed by ${output.signal} (timeout ${timeoutMs / 1000} s?)` };
  }
  const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").slice(-3).join(" | ");
  return { error: `exit code ${output.code} without a result: ${stderr}` };
}

function emptyCell(): CellRuns {
  return { values: [], details: [], errors: [] };
}

function progress(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

async function measureWorkload(
  name: string,
  options: Options,
  versions: Partial<Record<Runtime, string>>,
): Promise<WorkloadRuns> {
  const workload = workloads[name];
  const runs: WorkloadRuns = {};
  for (const impl of Object.keys(workload.impls)) {
    runs[impl] = { deno: emptyCell(), bun: emptyCell() };
  }
  progress(`${name}: `);
  // Runs are interleaved (all impls on all runtimes, then again) so a slow
  // spell on the machine is spread over every cell instead of one.
  for (let run = 0; run < options.runs; run++) {
    for (const runtime of options.runtimes) {
      for (const impl of Object.keys(workload.impls)) {
        const result = await runChild(runtime, name, impl);
        const cell = runs[impl][runtime];
        if (result.version !== undefined) versions[runtime] = result.version;
        if (result.error === undefined && typeof result.value === "number") {
          cell.values.push(result.value);
          cell.details.push(result.detail ?? {});
          progress(".");
        } else {
          cell.errors.push(result.error ?? "no value reported");
          progress("x");
        }
      }
    }
  }
  progress("\n");
  return runs;
}

function renderTable(name: string, runs: WorkloadRuns, options: Options): string {
  const workload = workloads[name];
  const lines: string[] = [];
  const better = workload.better === "higher" ? "higher is better" : "lower is better";
  lines.push(`${name} · ${workload.describe}`);
  lines.push(
    `${workload.unit}, ${better} · median of ${options.runs} fresh process(es), ` +
      `± half the min–max range`,
  );
  lines.push("");
  const header = ["impl", ...options.runtimes];
  const rows = Object.keys(workload.impls).map((impl) => [
    impl,
    ...options.runtimes.map((runtime) => formatCell(workload, runs[impl][runtime])),
  ]);
  const peers = Object.keys(workload.impls).filter((impl) => impl !== workload.ours);
  const ratioRows = peers.map((peer) => [
    `${workload.ours} vs ${peer}`,
    ...options.runtimes.map((runtime) =>
      formatRatio(
        ratio(
          workload,
          summarize(runs[workload.ours]?.[runtime] ?? emptyCell()).median,
          summarize(runs[peer][runtime]).median,
        ),
      )
    ),
  ]);
  lines.push(columns([header, ...rows, ...(ratioRows.length > 0 ? [[""], ...ratioRows] : [])]));
  if (ratioRows.length > 0) lines.push(`(ratio > 1: ${workload.ours} is better)`);
  if (workload.target !== undefined) lines.push(`target: ${workload.target}`);
  for (const impl of Object.keys(workload.impls)) {
    for (const runtime of options.runtimes) {
      for (const error of new Set(runs[impl][runtime].errors)) {
        lines.push(`n/a ${impl} on ${runtime}: ${error}`);
      }
    }
  }
  return lines.join("\n");
}

function renderMarkdown(results: Record<string, WorkloadRuns>, options: Options): string {
  const runtimeTitles = options.runtimes.map((runtime) => runtime === "deno" ? "Deno" : "Bun");
  const lines = [
    `| workload | impl | ${runtimeTitles.join(" | ")} |`,
    `| --- | --- | ${options.runtimes.map(() => "---:").join(" | ")} |`,
  ];
  for (const [name, runs] of Object.entries(results)) {
    const workload = workloads[name];
    for (const impl of Object.keys(workload.impls)) {
      const cells = options.runtimes.map((runtime) => {
        const median = summarize(runs[impl][runtime]).median;
        return median === null ? "n/a" : formatValue(workload, median);
      });
      lines.push(`| ${name} (${workload.unit}) | ${impl} | ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

function toJson(
  results: Record<string, WorkloadRuns>,
  options: Options,
  versions: Partial<Record<Runtime, string>>,
  startedAt: Date,
): unknown {
  const out: Record<string, unknown> = {};
  for (const [name, runs] of Object.entries(results)) {
    const workload = workloads[name];
    const impls: Record<string, unknown> = {};
    for (const impl of Object.keys(workload.impls)) {
      const perRuntime: Record<string, unknown> = {};
      for (const runtime of options.runtimes) {
        perRuntime[runtime] = { ...summarize(runs[impl][runtime]), ...runs[impl][runtime] };
      }
      impls[impl] = perRuntime;
    }
    const ratios: Record<string, unknown> = {};
    for (const peer of Object.keys(workload.impls).filter((impl) => impl !== workload.ours)) {
      ratios[peer] = Object.fromEntries(options.runtimes.map((runtime) => [
        runtime,
        ratio(
          workload,
          summarize(runs[workload.ours]?.[runtime] ?? emptyCell()).median,
          summarize(runs[peer][runtime]).median,
        ),
      ]));
    }
    out[name] = {
      describe: workload.describe,
      unit: workload.unit,
      better: workload.better,
      ours: workload.ours,
      target: workload.target ?? null,
      impls,
      ratios,
    };
  }
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    runsPerCell: options.runs,
    host: {
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
    },
    versions,
    workloads: out,
  };
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const startedAt = new Date();
  const versions: Partial<Record<Runtime, string>> = {};
  const results: Record<string, WorkloadRuns> = {};
  for (const name of options.only) {
    results[name] = await measureWorkload(name, options, versions);
    console.log(`\n${renderTable(name, results[name], options)}`);
  }
  const runtimeLine = options.runtimes.map((runtime) => `${runtime} ${versions[runtime] ?? "?"}`);
  console.log(
    `\n${runtimeLine.join(", ")} · ${Deno.build.os}/${Deno.build.arch}, ` +
      `${navigator.hardwareConcurrency} CPUs`,
  );

  const markdown = renderMarkdown(results, options);
  if (options.markdown) console.log(`\n${markdown}`);
  const outDir = new URL(".bench-out/", REPO_ROOT);
  await Deno.mkdir(outDir, { recursive: true });
  const stamp = startedAt.toISOString().replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
  const json = JSON.stringify(toJson(results, options, versions, startedAt), null, 2) + "\n";
  await Deno.writeTextFile(new URL(`bench-${stamp}.json`, outDir), json);
  await Deno.writeTextFile(new URL("latest.json", outDir), json);
  await Deno.writeTextFile(new URL("latest.md", outDir), markdown + "\n");
  console.log(`wrote .bench-out/bench-${stamp}.json (and latest.json, latest.md)`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    Deno.exit(2);
  }
}
