// The progress line of a real queue as a person sees it: a ProcessQueue run
// draws on its real stderr inside a pseudo-terminal (tmux) with the default
// progress option, and the test reads the screen while it runs and after.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

import { stderrProgressBoard } from "../../src/backends/progress.ts";
import { PseudoTerminal } from "../helpers/pty.ts";

const PROGRAM = fileURLToPath(
  new URL("../fixtures/progress_queue_program.ts", import.meta.url),
);
const isDeno = "Deno" in globalThis;

/** The command that runs a program file on this runtime. */
function commandFor(program: string): string[] {
  return isDeno
    ? [Deno.execPath(), "run", "-A", program]
    : [(globalThis as unknown as { process: { execPath: string } }).process.execPath, program];
}

describe("a real queue's progress line on a terminal", () => {
  it(
    "appears after 2 s with live counts, then leaves only the program's output",
    { timeout: 60_000 },
    async () => {
      // 24 tasks of 250 ms on 2 children: about 3 s, one task failing after a retry.
      const term = PseudoTerminal.start(commandFor(PROGRAM), { columns: 100, rows: 8 }, {
        PROGRESS_BACKEND: "process",
        PROGRESS_MODE: "auto",
        PROGRESS_TASK_MS: "250",
      });
      try {
        const started = performance.now();
        const during = await term.waitFor((screen) => /\/24 \d+%/.test(screen));
        assert.ok(performance.now() - started >= 2_000, "auto waits 2 s before drawing");
        const lines = during.split("\n");
        assert.equal(lines.length, 1, during);
        assert.match(
          lines[0],
          /^(\d+)\/24 \d+% \[#*-*\] \| [01] failed \| [01] retrying \| [\d.]+\/s \| ETA (\d+s|--) \| [0-2] active$/,
        );
        const done = Number(lines[0].split("/")[0]);
        assert.ok(done >= 12 && done < 24, `about half done after 2 s: ${lines[0]}`);
        const after = await term.waitFor((screen) => screen.includes("[exit"));
        assert.equal(after, "finished 24 tasks, 1 failed\n[exit 0]");
      } finally {
        term.close();
      }
    },
  );

  it("is one board per process, shared by every queue", () => {
    assert.equal(stderrProgressBoard(), stderrProgressBoard());
  });
});
