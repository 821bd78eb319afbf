/**
 * The timeline picture of a run: a self-contained HTML page with an inline
 * SVG (no script, no network), one lane per worker and one bar per attempt.
 * Pure: it reads attempt records and returns a string, so it renders the
 * same on every runtime and is tested without a queue.
 *
 * @module
 */

import type { EndedBy } from "./executor.ts";

/**
 * One attempt of one task, as the engine records it for the timeline and
 * the timings. Times are milliseconds on the queue's clock.
 */
export interface AttemptRecord {
  /** The task's id. */
  readonly taskId: string;
  /** The task's name. */
  readonly name: string;
  /** The attempt's number, from 1. */
  readonly attempt: number;
  /** The lane that ran it: an AsyncQueue slot, a thread index or a child pid. */
  readonly worker: number | string;
  /** When the attempt started. */
  readonly startedAt: number;
  /** When the attempt ended. */
  readonly finishedAt: number;
  /** How the attempt ended. */
  readonly endedBy: EndedBy;
  /** The error's message for an attempt that did not return; `""` otherwise. */
  readonly message: string;
}

/** How many tasks ended in each status, for the totals under the title. */
export interface TimelineTotals {
  /** Tasks that succeeded. */
  readonly succeeded: number;
  /** Tasks that failed. */
  readonly failed: number;
  /** Tasks that were cancelled. */
  readonly cancelled: number;
}

/** Options of {@linkcode renderTimeline}. */
export interface TimelineOptions {
  /** The page's title and heading. Default `"Run timeline"`. */
  readonly title?: string;
  /** The width of the time axis in CSS pixels. Default `1000`. */
  readonly width?: number;
  /** The time at the left edge (the run's start). Default: the first attempt's start. */
  readonly start?: number;
  /** The time at the right edge (the run's end). Default: the last attempt's end. */
  readonly end?: number;
  /** The text beside a lane. Default: the lane key itself. */
  readonly laneLabel?: (worker: number | string) => string;
}

/** The pause between two attempts of one task (its retry delay and any queueing). */
export interface RetryWait {
  /** The task's id. */
  readonly taskId: string;
  /** The task's name. */
  readonly name: string;
  /** The attempt that ended before the wait; the next one started after it. */
  readonly afterAttempt: number;
  /** When the earlier attempt ended. */
  readonly from: number;
  /** When the next attempt started. */
  readonly to: number;
  /** The lane of the next attempt, where the wait is drawn. */
  readonly worker: number | string;
}

/** The fill of an attempt bar, by how the attempt ended (the tests read these back). */
export const OUTCOME_COLOURS: Readonly<Record<EndedBy, string>> = {
  returned: "#2f9e44",
  threw: "#e03131",
  timeout: "#f08c00",
  cancelled: "#868e96",
  "worker-crashed": "#9c36b5",
};

const OUTCOMES = Object.keys(OUTCOME_COLOURS) as EndedBy[];
const WAIT_COLOUR = "#4dabf7";

// Layout in CSS pixels.
const GUTTER = 130; // lane labels
const RIGHT_MARGIN = 24;
const AXIS_HEIGHT = 26;
const LANE_HEIGHT = 20;
const BAR_HEIGHT = 14;
const BAR_TOP = 2; // bar offset inside a lane
/** Bars narrower than this merge with their narrow neighbours. */
const MIN_BAR_PX = 1;
/** A merged bar spans at most this, so where in time failures happened stays visible. */
const MAX_MERGED_PX = 3;
/** The smallest slice of a merged bar, so a single failure among thousands still shows. */
const MIN_SLICE_PX = 2;
const MAX_MESSAGE_CHARS = 200;

/**
 * The retry waits of `records`: for each task, the time between the end of
 * attempt n and the start of attempt n + 1 (when both were recorded).
 */
export function retryWaits(records: readonly AttemptRecord[]): RetryWait[] {
  const waits: RetryWait[] = [];
  for (const attempts of groupBy(records, (record) => record.taskId).values()) {
    if (attempts.length < 2) continue;
    attempts.sort((a, b) => a.attempt - b.attempt);
    for (let i = 1; i < attempts.length; i++) {
      const before = attempts[i - 1];
      const after = attempts[i];
      if (after.attempt !== before.attempt + 1) continue;
      waits.push({
        taskId: after.taskId,
        name: after.name,
        afterAttempt: before.attempt,
        from: before.finishedAt,
        to: Math.max(before.finishedAt, after.startedAt),
        worker: after.worker,
      });
    }
  }
  return waits;
}

/**
 * Renders the timeline page of a run.
 *
 * What it contains, for people and for tools:
 * - one `<g data-lane="<worker>">` per worker that ran at least one attempt
 *   (only lanes carry `data-lane`), sorted: numbers ascending, then strings;
 * - one `<rect>` per attempt with `data-task-id`, `data-attempt` and
 *   `data-ended-by`, filled with {@linkcode OUTCOME_COLOURS}, and a `<title>`
 *   naming the task, the attempt, its duration and how it ended;
 * - where consecutive attempts in a lane are each narrower than a pixel, one
 *   merged bar instead, at most 3 px wide: a `<g data-merged-count="<n>">`
 *   with a `<title>` and one `<rect data-merged-ended-by="<outcome>" data-merged-count="<k>">`
 *   slice per outcome (height in proportion, at least 2 px). Counting
 *   `data-ended-by` bars plus the slices' `data-merged-count` gives the exact
 *   number of attempts per outcome;
 * - retry waits as dashed `<line data-retry-wait="<taskId>">` under the
 *   bars of the next attempt's lane (overlapping waits in a lane are drawn
 *   as one line titled with their count); they never carry `data-attempt`;
 * - a time axis with ticks, a legend, and the totals (tasks by status,
 *   attempts by outcome, retry waits, workers, span).
 *
 * Every user string (task names, messages, lane labels, title) is
 * HTML-escaped. The page has no script and loads nothing.
 */
export function renderTimeline(
  records: readonly AttemptRecord[],
  totals: TimelineTotals,
  options: TimelineOptions = {},
): string {
  const title = options.title ?? "Run timeline";
  const plotWidth = options.width ?? 1000;
  const laneLabel = options.laneLabel ?? String;
  let first = Infinity;
  let last = -Infinity;
  for (const record of records) {
    if (record.startedAt < first) first = record.startedAt;
    if (record.finishedAt > last) last = record.finishedAt;
  }
  const start = options.start ?? (records.length > 0 ? first : 0);
  const end = Math.max(options.end ?? (records.length > 0 ? last : start), start + 1);
  const scale = plotWidth / (end - start);
  const toX = (time: number): number => GUTTER + (time - start) * scale;

  const lanes = laneGroups(records);
  const waits = retryWaits(records);
  const waitsByLane = groupBy(waits, (wait) => wait.worker);

  const svgWidth = GUTTER + plotWidth + RIGHT_MARGIN;
  const svgHeight = AXIS_HEIGHT + lanes.length * LANE_HEIGHT + 8;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${svgWidth}" height="${svgHeight}" ` +
      `viewBox="0 0 ${svgWidth} ${svgHeight}" role="img" aria-label="${escapeHtml(title)}">`,
  );
  parts.push(axis(start, end, toX, svgHeight));
  lanes.forEach(([worker, attempts], index) => {
    const top = AXIS_HEIGHT + index * LANE_HEIGHT;
    parts.push(`<g data-lane="${escapeHtml(String(worker))}">`);
    // Every lane has its band (striped), so a reader or a tool can see where it lies.
    parts.push(
      `<rect class="band" x="${GUTTER}" y="${top}" width="${plotWidth}" ` +
        `height="${LANE_HEIGHT}" fill="${index % 2 === 1 ? "#f1f3f5" : "#fcfcfd"}"/>`,
    );
    parts.push(
      `<text x="${GUTTER - 8}" y="${top + 14}" text-anchor="end">` +
        `${escapeHtml(laneLabel(worker))}</text>`,
    );
    for (const bar of attemptBars(attempts, toX, top)) parts.push(bar);
    for (const line of waitLines(waitsByLane.get(worker) ?? [], toX, top)) parts.push(line);
    parts.push("</g>");
  });
  parts.push("</svg>");

  return page(title, totalsText(records, totals, waits.length, lanes.length, end - start), parts);
}

/** Attempts grouped by lane, lanes sorted (numbers first, ascending), attempts by start. */
function laneGroups(records: readonly AttemptRecord[]): [number | string, AttemptRecord[]][] {
  const lanes = [...groupBy(records, (record) => record.worker).entries()];
  lanes.sort(([a], [b]) => compareLanes(a, b));
  for (const [, attempts] of lanes) {
    attempts.sort((a, b) => a.startedAt - b.startedAt || a.finishedAt - b.finishedAt);
  }
  return lanes;
}

/** Items grouped by `key`, each group in the items' order (a new array per group). */
function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const itemKey = key(item);
    const group = groups.get(itemKey);
    if (group === undefined) groups.set(itemKey, [item]);
    else group.push(item);
  }
  return groups;
}

function compareLanes(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "number") return -1;
  if (typeof b === "number") return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The bars of one lane: wide attempts alone, runs of sub-pixel attempts merged. */
function attemptBars(
  attempts: readonly AttemptRecord[],
  toX: (time: number) => number,
  top: number,
): string[] {
  const bars: string[] = [];
  let group: AttemptRecord[] = [];
  let groupStart = 0;
  let groupEnd = 0;
  const flush = (): void => {
    if (group.length === 1) bars.push(attemptBar(group[0], groupStart, groupEnd, top));
    else if (group.length > 1) bars.push(mergedBar(group, groupStart, groupEnd, top));
    group = [];
  };
  for (const attempt of attempts) {
    const x0 = toX(attempt.startedAt);
    const x1 = toX(Math.max(attempt.startedAt, attempt.finishedAt));
    if (x1 - x0 >= MIN_BAR_PX) {
      flush();
      bars.push(attemptBar(attempt, x0, x1, top));
    } else if (
      group.length > 0 && x0 <= groupEnd + MIN_BAR_PX && x1 - groupStart <= MAX_MERGED_PX
    ) {
      group.push(attempt);
      if (x1 > groupEnd) groupEnd = x1;
    } else {
      flush();
      group = [attempt];
      groupStart = x0;
      groupEnd = x1;
    }
  }
  flush();
  return bars;
}

function attemptBar(attempt: AttemptRecord, x0: number, x1: number, top: number): string {
  const ms = attempt.finishedAt - attempt.startedAt;
  let hover = `${attempt.name} (${attempt.taskId}), attempt ${attempt.attempt}: ` +
    `${formatMs(ms)}, ${attempt.endedBy}`;
  if (attempt.message !== "") hover += `: ${truncate(attempt.message)}`;
  return `<rect x="${round(x0)}" y="${top + BAR_TOP}" width="${round(Math.max(x1 - x0, 1))}" ` +
    `height="${BAR_HEIGHT}" fill="${OUTCOME_COLOURS[attempt.endedBy]}" ` +
    `data-task-id="${escapeHtml(attempt.taskId)}" data-attempt="${attempt.attempt}" ` +
    `data-ended-by="${attempt.endedBy}"><title>${escapeHtml(hover)}</title></rect>`;
}

function mergedBar(group: readonly AttemptRecord[], x0: number, x1: number, top: number): string {
  const counts = new Map<EndedBy, number>();
  for (const attempt of group) counts.set(attempt.endedBy, (counts.get(attempt.endedBy) ?? 0) + 1);
  const present = OUTCOMES.filter((outcome) => counts.has(outcome));
  const heights = sliceHeights(present.map((outcome) => counts.get(outcome)!), group.length);
  const width = round(Math.max(x1 - x0, 1));
  const first = group[0].startedAt;
  const last = group.reduce((latest, a) => Math.max(latest, a.finishedAt), first);
  const breakdown = present.map((outcome) => `${counts.get(outcome)} ${outcome}`).join(", ");
  const hover = `${group.length} attempts merged over ${formatMs(last - first)}: ${breakdown}`;
  let y = top + BAR_TOP;
  let slices = "";
  present.forEach((outcome, index) => {
    slices += `<rect x="${round(x0)}" y="${round(y)}" width="${width}" ` +
      `height="${round(heights[index])}" fill="${OUTCOME_COLOURS[outcome]}" ` +
      `data-merged-ended-by="${outcome}" data-merged-count="${counts.get(outcome)}"/>`;
    y += heights[index];
  });
  return `<g class="merged" data-merged-count="${group.length}">` +
    `<title>${escapeHtml(hover)}</title>${slices}</g>`;
}

/** Splits the bar height among outcomes in proportion, each at least {@linkcode MIN_SLICE_PX}. */
function sliceHeights(counts: readonly number[], total: number): number[] {
  const spare = BAR_HEIGHT - MIN_SLICE_PX * counts.length;
  return counts.map((count) => MIN_SLICE_PX + (spare * count) / total);
}

/** Dashed lines for the retry waits of one lane; overlapping waits are drawn as one. */
function waitLines(
  waits: readonly RetryWait[],
  toX: (time: number) => number,
  top: number,
): string[] {
  const sorted = [...waits].sort((a, b) => a.from - b.from);
  const lines: string[] = [];
  // Below the bars: a lane is usually busy with other tasks while one waits.
  const y = top + BAR_TOP + BAR_HEIGHT + 2.5;
  let run: RetryWait[] = [];
  let runEnd = -Infinity;
  const flush = (): void => {
    if (run.length === 0) return;
    const x0 = toX(run[0].from);
    const x1 = toX(runEnd);
    if (x1 - x0 >= MIN_BAR_PX) {
      const only = run[0];
      const hover = run.length === 1
        ? `${only.name} (${only.taskId}) waited ${formatMs(only.to - only.from)} before attempt ${
          only.afterAttempt + 1
        }`
        : `${run.length} retry waits over ${formatMs(runEnd - run[0].from)}`;
      lines.push(
        `<line x1="${round(x0)}" y1="${y}" x2="${round(x1)}" y2="${y}" stroke="${WAIT_COLOUR}" ` +
          `stroke-width="2" stroke-dasharray="4 3" data-retry-wait="${
            escapeHtml(run.length === 1 ? only.taskId : `${run.length} waits`)
          }"><title>${escapeHtml(hover)}</title></line>`,
      );
    }
    run = [];
  };
  for (const wait of sorted) {
    if (run.length > 0 && wait.from <= runEnd) {
      run.push(wait);
      if (wait.to > runEnd) runEnd = wait.to;
    } else {
      flush();
      run = [wait];
      runEnd = wait.to;
    }
  }
  flush();
  return lines;
}

/** The time axis: a baseline at the top, ticks at a 1-2-5 step, labels, and grid lines. */
function axis(
  start: number,
  end: number,
  toX: (time: number) => number,
  svgHeight: number,
): string {
  const step = tickStep(end - start);
  let ticks = "";
  for (let offset = 0; offset <= end - start + step * 1e-9; offset += step) {
    const x = round(toX(start + offset));
    ticks += `<line x1="${x}" y1="${AXIS_HEIGHT - 6}" x2="${x}" y2="${svgHeight - 8}" ` +
      `stroke="#dee2e6"/><text x="${x}" y="${AXIS_HEIGHT - 10}" text-anchor="middle">` +
      `${formatTick(offset, step, end - start)}</text>`;
  }
  return `<g class="axis">${ticks}<line x1="${GUTTER}" y1="${AXIS_HEIGHT - 6}" ` +
    `x2="${round(toX(end))}" y2="${AXIS_HEIGHT - 6}" stroke="#495057"/></g>`;
}

/** The 1, 2 or 5 × 10^k step that gives at most ten ticks over `span` ms. */
export function tickStep(span: number): number {
  const rough = span / 10;
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= rough) return factor * power;
  }
  return 10 * power;
}

/** A tick label: in ms for a span under a second, else in s, with the decimals the step needs. */
function formatTick(offset: number, step: number, span: number): string {
  const decimals = (unit: number): number => Math.max(0, -Math.floor(Math.log10(step / unit)));
  if (span < 1000) return `${+offset.toFixed(decimals(1))} ms`;
  return `${+(offset / 1000).toFixed(decimals(1000))} s`;
}

function totalsText(
  records: readonly AttemptRecord[],
  totals: TimelineTotals,
  waitCount: number,
  laneCount: number,
  span: number,
): string {
  const byOutcome = new Map<EndedBy, number>();
  for (const r of records) byOutcome.set(r.endedBy, (byOutcome.get(r.endedBy) ?? 0) + 1);
  const outcomes = OUTCOMES.filter((outcome) => byOutcome.has(outcome))
    .map((outcome) => `${count(byOutcome.get(outcome)!)} ${outcome}`).join(", ");
  const tasks = totals.succeeded + totals.failed + totals.cancelled;
  return `${count(tasks)} tasks: ${count(totals.succeeded)} succeeded, ` +
    `${count(totals.failed)} failed, ${count(totals.cancelled)} cancelled. ` +
    `${count(records.length)} attempts${outcomes === "" ? "" : ` (${outcomes})`}, ` +
    `${count(waitCount)} retry waits, ${count(laneCount)} workers, ${formatMs(span)}.`;
}

function page(title: string, totals: string, svg: readonly string[]): string {
  const legend =
    OUTCOMES.map((outcome) =>
      `<li><span class="swatch" style="background:${
        OUTCOME_COLOURS[outcome]
      }"></span>${outcome}</li>`
    ).join("") +
    `<li><span class="swatch wait"></span>retry wait</li>` +
    `<li><span class="swatch merged"></span>attempts narrower than a pixel, merged ` +
    `(slices by outcome)</li>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font: 13px system-ui, sans-serif; margin: 16px; color: #212529; }
h1 { font-size: 18px; margin: 0 0 6px; }
p.totals { margin: 0 0 8px; }
ul.legend { list-style: none; padding: 0; margin: 0 0 10px; display: flex; flex-wrap: wrap; gap: 14px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -2px; }
.swatch.wait { height: 0; border-top: 2px dashed ${WAIT_COLOUR}; vertical-align: 3px; }
.swatch.merged { background: linear-gradient(${OUTCOME_COLOURS.returned} 70%, ${OUTCOME_COLOURS.threw} 70%); }
svg { font: 11px system-ui, sans-serif; fill: #495057; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="totals">${escapeHtml(totals)}</p>
<ul class="legend">${legend}</ul>
${svg.join("\n")}
</body>
</html>
`;
}

/** A duration for people: `840 µs`, `12.3 ms`, `4.56 s`. */
function formatMs(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${+ms.toFixed(1)} ms`;
  return `${+(ms / 1000).toFixed(2)} s`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

/** Escapes the five characters that matter in HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
