/**
 * Runs a program on a real pseudo-terminal (tmux, from Debian's `tmux`
 * package) and reads what its screen shows, as a person would see it:
 * tmux interprets the escape sequences, so a line that was drawn and then
 * erased is gone from the screen, not just followed by more bytes.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Thrown when tmux is missing; the message says how to install it. */
export const TMUX_INSTALL_HINT = "tmux is not installed: run `apt-get install -y tmux` " +
  "(the terminal tests draw on a real pseudo-terminal; .ci/run installs it)";

/** The size of the terminal, in character cells. */
export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * A program running in a detached tmux session of its own (a private server
 * socket in a temporary directory). After the program exits, the screen
 * stays and its last line reads `[exit <code>]`.
 *
 * @example
 * ```ts
 * const term = PseudoTerminal.start(["echo", "hi"], { columns: 80, rows: 10 });
 * try {
 *   await term.waitFor((screen) => screen.includes("[exit 0]"));
 * } finally {
 *   term.close();
 * }
 * ```
 */
export class PseudoTerminal {
  readonly #dir: string;
  readonly #socket: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#socket = join(dir, "tmux.sock");
  }

  /**
   * Starts `command` (the program and its arguments) with `env` added to
   * this process's environment. Throws {@linkcode TMUX_INSTALL_HINT} when
   * tmux is missing.
   */
  static start(
    command: readonly string[],
    size: TerminalSize,
    env: Readonly<Record<string, string>> = {},
  ): PseudoTerminal {
    try {
      execFileSync("tmux", ["-V"], { stdio: "ignore" });
    } catch {
      throw new Error(TMUX_INSTALL_HINT);
    }
    const term = new PseudoTerminal(mkdtempSync(join(tmpdir(), "osiiso-pty-")));
    const assignments = Object.entries(env).map(([name, value]) => `${name}=${quote(value)}`);
    // The shell keeps the pane open after the program, so its last screen can be read.
    const script = `env ${assignments.join(" ")} ${command.map(quote).join(" ")}; ` +
      `printf '[exit %s]' "$?"; sleep 600`;
    try {
      term.#tmux(
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        String(size.columns),
        "-y",
        String(size.rows),
        script,
      );
    } catch (error) {
      term.close();
      throw error;
    }
    return term;
  }

  #tmux(...args: string[]): string {
    return execFileSync("tmux", ["-S", this.#socket, ...args], { encoding: "utf8" });
  }

  /** The screen now, as text: one string per row, trailing spaces removed. */
  screen(): string {
    return this.#tmux("capture-pane", "-p").split("\n").map((row) => row.trimEnd())
      .join("\n").trimEnd();
  }

  /**
   * Reads the screen every 25 ms until `predicate` holds and returns it;
   * throws with the last screen after `timeoutMs`.
   */
  async waitFor(predicate: (screen: string) => boolean, timeoutMs = 15_000): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (predicate(screen)) return screen;
      if (performance.now() > deadline) {
        throw new Error(`the screen did not show what was expected; it shows:\n${screen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Ends the session and its program, and removes the temporary directory. */
  close(): void {
    try {
      this.#tmux("kill-server");
    } catch {
      // The server is already gone.
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
