/**
 * stderr as a {@linkcode TerminalWriter} for the progress line, on Deno
 * (`Deno.stderr`, `Deno.consoleSize`) and on Bun (file descriptor 2 through
 * `node:fs` and `node:tty`; `process.stderr` only for a terminal's width).
 * Importing it only defines functions, and nothing is asked of stderr until
 * a progress board needs to know (on Bun the first look at `process.stderr`
 * costs about 9 ms; on Deno asking is cheap).
 *
 * @module
 */

import type { TerminalWriter } from "../core/progress_line.ts";

/** Used when the width cannot be read (not a terminal, or a terminal that does not say). */
const FALLBACK_COLUMNS = 80;
const STDERR_FD = 2;

/** The parts of Node's `process.stderr` that Bun provides and the writer uses. */
interface NodeStderr {
  write(text: string): boolean;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** The parts of `node:fs` that the Bun writer uses. */
interface NodeFs {
  writeSync(fd: number, bytes: Uint8Array): number;
  fstatSync(fd: number): { isCharacterDevice(): boolean };
}

let stderr: TerminalWriter | undefined;

/** The process's stderr; the same writer on every call, so queues share one progress board. */
export function stderrTerminal(): TerminalWriter {
  stderr ??= "Deno" in globalThis ? denoStderr() : nodeStderr();
  return stderr;
}

function denoStderr(): TerminalWriter {
  const encoder = new TextEncoder();
  // Asked once: a stream does not turn from a pipe into a terminal.
  let isTerminal: boolean | undefined;
  return {
    write(text: string): void {
      let bytes = encoder.encode(text);
      // writeSync may write part of the bytes; the line must arrive whole.
      while (bytes.length > 0) bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
    },
    get columns(): number {
      try {
        return Deno.consoleSize().columns || FALLBACK_COLUMNS;
      } catch {
        return FALLBACK_COLUMNS;
      }
    },
    get isTerminal(): boolean {
      isTerminal ??= Deno.stderr.isTerminal();
      return isTerminal;
    },
  };
}

function nodeStderr(): TerminalWriter {
  // Looked up on first use: Bun builds process.stderr lazily, and building it costs about 9 ms
  // of CPU (measured), more than a whole short run. Writes and the terminal check go to file
  // descriptor 2 directly; only a terminal's width needs the stream. node:tty and node:fs are
  // loaded only when first needed too: on Bun, loading node:tty builds Node's streams (about
  // 9 ms of CPU), which a run shorter than the progress line's delay never needs.
  const stream = (): NodeStderr =>
    (globalThis as unknown as { process: { stderr: NodeStderr } }).process.stderr;
  const load = (import.meta as unknown as { require: (id: string) => unknown }).require;
  let fs: NodeFs | undefined;
  let encoder: TextEncoder | undefined;
  let isTerminal: boolean | undefined;
  const terminal = (): boolean => {
    if (isTerminal !== undefined) return isTerminal;
    // A terminal is a character device: a pipe or a file (the usual stderr of a program that
    // another runs) is told apart by one fstat, and only a character device (a terminal,
    // /dev/null) loads node:tty to ask.
    fs ??= load("node:fs") as NodeFs;
    try {
      isTerminal = fs.fstatSync(STDERR_FD).isCharacterDevice() &&
        (load("node:tty") as { isatty(fd: number): boolean }).isatty(STDERR_FD);
    } catch {
      isTerminal = false; // a closed stderr
    }
    return isTerminal;
  };
  return {
    write(text: string): void {
      fs ??= load("node:fs") as NodeFs;
      encoder ??= new TextEncoder();
      let bytes = encoder.encode(text);
      // writeSync may write part of the bytes; the line must arrive whole.
      while (bytes.length > 0) bytes = bytes.subarray(fs.writeSync(STDERR_FD, bytes));
    },
    get columns(): number {
      return terminal() ? stream().columns || FALLBACK_COLUMNS : FALLBACK_COLUMNS;
    },
    get isTerminal(): boolean {
      return terminal();
    },
  };
}
