/**
 * The live progress line on stderr: how one line is worded to fit the
 * terminal, and the board that redraws the lines of the running queues.
 * Runtime-free: the terminal comes in as a {@linkcode TerminalWriter} and
 * time as a {@linkcode Clock}, so tests drive both.
 *
 * Several queues at once get one line each, stacked in the order they
 * started, drawn by one board: each queue's numbers stay readable (a
 * pipeline's stages finish at different times), and one writer owns the
 * lines so two queues never redraw over each other. Each line is cut to
 * the terminal's width minus one column, so no line wraps and moving the
 * cursor back up over the block stays exact.
 *
 * @module
 */

import type { Clock, Timer } from "./clock.ts";

/** What a queue reports to its progress line. */
export interface ProgressCounts {
  /** Tasks finished in any status. */
  readonly done: number;
  /** Tasks submitted so far; `undefined` when the run has no end (counts and rate only). */
  readonly total: number | undefined;
  /** Tasks that failed (a part of `done`). */
  readonly failed: number;
  /** Tasks waiting to retry after a failed attempt. */
  readonly retrying: number;
  /** Attempts running now. */
  readonly active: number;
}

/** Everything one progress line shows. */
export interface ProgressState extends ProgressCounts {
  /** How long the run has lasted. */
  readonly elapsedMs: number;
  /** Tasks finished per second, lately. */
  readonly ratePerSec: number;
}

/** The terminal a progress board draws on (stderr; `src/runtime/terminal.ts` makes one). */
export interface TerminalWriter {
  /** Writes text as it is, escape sequences included. */
  write(text: string): void;
  /** The terminal's width in columns (read again before every redraw). */
  readonly columns: number;
  /** Whether the stream is a terminal (not a pipe or a file). */
  readonly isTerminal: boolean;
}

/** The `progress` option: `true` always draws, `false` never, `"auto"` on a terminal after 2 s. */
export type ProgressMode = boolean | "auto";

/** A queue's line on a {@linkcode ProgressBoard}. */
export interface ProgressSource {
  /** Names the line when more than one is shown. */
  readonly label?: string;
  /** When the line is drawn. */
  readonly mode: ProgressMode;
  /** Reads the queue's counts; called at most 10 times a second. */
  read(): ProgressCounts;
}

/** Options of a {@linkcode ProgressBoard}. */
export interface ProgressBoardOptions {
  /** The shortest time between two redraws, in ms. Default `100` (10 a second). */
  readonly intervalMs?: number;
  /** How long a run lasts before `"auto"` draws its line, in ms. Default `2000`. */
  readonly autoDelayMs?: number;
  /** The span the rate is measured over, in ms. Default `5000`. */
  readonly rateWindowMs?: number;
}

const SEPARATOR = " | ";
const MIN_BAR = 8;
const MAX_BAR = 20;

/** One part of a line; the parts with the lowest `keep` are dropped first when space runs out. */
interface Part {
  readonly text: string;
  readonly keep: number;
  /** Joined to the part before with a space instead of the separator. */
  readonly tight?: boolean;
}

/**
 * Words one progress line from `state`, at most `width` characters (ASCII
 * only, so characters are columns). With a total: `ingest | 1,234/5,000 24%
 * [####------] | 3 failed | 2 retrying | 410/s | ETA 9s | 4 active`; without
 * one: `1,234 done | 3 failed | ... | 12s | 4 active` (elapsed instead of
 * the ETA). When the line is too wide, parts go in this order: bar, active,
 * retrying, rate, ETA or elapsed, failed, label, percent; then the count is
 * cut.
 */
export function formatProgressLine(state: ProgressState, width: number, label?: string): string {
  const parts: Part[] = [];
  if (label !== undefined && label !== "") parts.push({ text: label, keep: 7 });
  const { done, total } = state;
  if (total === undefined) {
    parts.push({ text: `${grouped(done)} done`, keep: 9 });
  } else {
    parts.push({ text: `${grouped(done)}/${grouped(total)}`, keep: 9 });
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    parts.push({ text: `${Math.floor(fraction * 100)}%`, keep: 8, tight: true });
  }
  parts.push({ text: `${grouped(state.failed)} failed`, keep: 6 });
  parts.push({ text: `${grouped(state.retrying)} retrying`, keep: 3 });
  parts.push({ text: `${rate(state.ratePerSec)}/s`, keep: 4 });
  if (total === undefined) {
    parts.push({ text: clockTime(state.elapsedMs), keep: 5 });
  } else {
    const left = Math.max(0, total - done);
    const eta = left === 0
      ? "0s"
      : state.ratePerSec > 0
      ? clockTime(left / state.ratePerSec * 1000)
      : "--";
    parts.push({ text: `ETA ${eta}`, keep: 5 });
  }
  parts.push({ text: `${grouped(state.active)} active`, keep: 1 });

  let line = join(parts);
  while (line.length > width && parts.length > 1) {
    const lowest = parts.reduce((low, part) => (part.keep < low.keep ? part : low));
    parts.splice(parts.indexOf(lowest), 1);
    line = join(parts);
  }
  // A bar fills the room that is left, up to MAX_BAR, when a total gives it a meaning.
  if (total !== undefined && width - line.length >= MIN_BAR + 3) {
    const room = Math.min(MAX_BAR, width - line.length - 3);
    const filled = Math.round((total > 0 ? Math.min(1, done / total) : 1) * room);
    const bar = `[${"#".repeat(filled)}${"-".repeat(room - filled)}]`;
    const at = parts.findIndex((part) => part.keep === 8);
    parts.splice(at + 1, 0, { text: bar, keep: 0, tight: true });
    line = join(parts);
  }
  return line.length > width ? line.slice(0, Math.max(0, width)) : line;
}

function join(parts: readonly Part[]): string {
  let line = "";
  parts.forEach((part, index) => {
    line += index === 0 ? part.text : `${part.tight ? " " : SEPARATOR}${part.text}`;
  });
  return line;
}

/** `1234567` → `1,234,567`. By hand: the first `toLocaleString` loads ICU, about 11 ms on Deno. */
function grouped(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  let text = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) text += ",";
    text += digits[i];
  }
  return n < 0 ? `-${text}` : text;
}

function rate(perSecond: number): string {
  return perSecond < 10 ? perSecond.toFixed(1) : grouped(Math.round(perSecond));
}

/** `9s`, `2m05s`, `1h02m`. */
function clockTime(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** Cursor to the start of the line, then erase to the end of the screen. */
const ERASE_BELOW = "\r\x1b[J";

interface Line {
  readonly source: ProgressSource;
  readonly startedAt: number;
  /** Recent (time, done) samples for the rate, oldest first. */
  readonly samples: { time: number; done: number }[];
}

/**
 * Draws the progress lines of the queues running at the same time on one
 * terminal: at most once per `intervalMs` (a timer that runs only while a
 * line may be drawn), stacked one line per queue, and erased when the last
 * queue is removed. A source in `"auto"` mode is drawn only when the writer
 * is a terminal and the source has run for `autoDelayMs` (until then one
 * timer waits and the writer is not asked anything); with `true` it is
 * drawn at once, even on a pipe; with `false` never. A failing write (a
 * closed stderr) stops the board.
 */
export class ProgressBoard {
  private readonly writer: TerminalWriter;
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly autoDelayMs: number;
  private readonly rateWindowMs: number;
  private readonly lines: Line[] = [];
  private timer: Timer | undefined;
  /** How many lines are on the screen now. */
  private drawn = 0;
  private lastFrame = "";
  private broken = false;
  /** When the pending timer is due; {@linkcode ProgressBoard.tick} redraws once it has passed. */
  private dueAt = Infinity;
  /** Whether the writer is a terminal; read once, when an `"auto"` line first comes due. */
  private terminal: boolean | undefined;

  /** A board drawing on `writer`, timed by `clock`. */
  constructor(writer: TerminalWriter, clock: Clock, options: ProgressBoardOptions = {}) {
    this.writer = writer;
    this.clock = clock;
    this.intervalMs = options.intervalMs ?? 100;
    this.autoDelayMs = options.autoDelayMs ?? 2000;
    this.rateWindowMs = options.rateWindowMs ?? 5000;
  }

  /** How many lines are on the screen now. */
  get drawnLines(): number {
    return this.drawn;
  }

  /**
   * Adds a queue's line and returns the function that removes it (call it
   * when the run ends). A source that can never be drawn (mode `false`, or
   * `"auto"` once the writer is known not to be a terminal) costs nothing:
   * no timer runs.
   */
  add(source: ProgressSource): () => void {
    if (this.broken || source.mode === false) return noop;
    if (source.mode === "auto" && this.terminal === false) return noop;
    const now = this.clock.now();
    const line: Line = { source, startedAt: now, samples: [{ time: now, done: 0 }] };
    this.lines.push(line);
    this.schedule();
    return () => this.remove(line);
  }

  private remove(line: Line): void {
    const index = this.lines.indexOf(line);
    if (index === -1) return;
    this.lines.splice(index, 1);
    if (this.lines.length > 0) return; // the next redraw drops its line
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
    if (this.drawn > 0) this.write(this.up() + ERASE_BELOW);
    this.drawn = 0;
    this.lastFrame = "";
  }

  /**
   * Redraws now if the next redraw is due by `now` (the clock's time, which
   * the caller has at hand). A run of tasks that never yield to the event
   * loop (trivial async tasks) starves the timer; the engine calls this as
   * tasks finish so the line still moves. Costs one comparison otherwise.
   */
  tick(now: number): void {
    if (now < this.dueAt) return;
    this.fire();
  }

  /** The next redraw: in `intervalMs`, or when the first `"auto"` line comes due. */
  private schedule(): void {
    if (this.timer !== undefined || this.broken || this.lines.length === 0) return;
    const now = this.clock.now();
    let wait = Infinity;
    for (const { source, startedAt } of this.lines) {
      wait = Math.min(wait, source.mode === true ? 0 : startedAt + this.autoDelayMs - now);
    }
    wait = Math.max(this.intervalMs, wait);
    this.dueAt = now + wait;
    this.timer = this.clock.setTimer(() => this.fire(), wait);
  }

  private fire(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.dueAt = Infinity;
    this.redraw();
    this.schedule();
  }

  private redraw(): void {
    const now = this.clock.now();
    const due = (line: Line): boolean =>
      line.source.mode === true || now - line.startedAt >= this.autoDelayMs;
    // Asked only once an "auto" line is due: on Bun the first look at
    // process.stderr costs about 9 ms, which a run shorter than 2 s never pays.
    if (
      this.terminal === undefined &&
      this.lines.some((line) => line.source.mode === "auto" && due(line))
    ) {
      this.terminal = this.writer.isTerminal;
    }
    if (this.terminal === false) {
      for (let i = this.lines.length - 1; i >= 0; i--) {
        if (this.lines[i].source.mode === "auto") this.lines.splice(i, 1);
      }
    }
    const shown = this.lines.filter(due);
    if (shown.length === 0 && this.drawn === 0) return;
    const width = Math.max(1, this.writer.columns - 1);
    const texts = shown.map((line) => {
      const counts = line.source.read();
      return formatProgressLine(
        {
          ...counts,
          elapsedMs: now - line.startedAt,
          ratePerSec: this.rate(line, now, counts.done),
        },
        width,
        shown.length > 1 ? line.source.label : undefined,
      );
    });
    const frame = texts.join("\n");
    if (frame === this.lastFrame && texts.length === this.drawn) return;
    this.write(this.up() + ERASE_BELOW + frame);
    this.drawn = texts.length;
    this.lastFrame = frame;
  }

  /** Finished tasks per second over the last `rateWindowMs` (since the start, early on). */
  private rate(line: Line, now: number, done: number): number {
    const samples = line.samples;
    samples.push({ time: now, done });
    while (samples.length > 2 && now - samples[1].time >= this.rateWindowMs) samples.shift();
    const oldest = samples[0];
    const seconds = (now - oldest.time) / 1000;
    return seconds > 0 ? (done - oldest.done) / seconds : 0;
  }

  /** Moves the cursor from the last drawn line up to the first. */
  private up(): string {
    return this.drawn > 1 ? `\x1b[${this.drawn - 1}A` : "";
  }

  private write(text: string): void {
    if (this.broken) return;
    try {
      this.writer.write(text);
    } catch {
      // A closed or broken stderr: stop drawing rather than fail the run.
      this.broken = true;
      this.lines.length = 0;
      if (this.timer !== undefined) this.clock.clearTimer(this.timer);
      this.timer = undefined;
      this.dueAt = Infinity;
    }
  }
}

function noop(): void {}
