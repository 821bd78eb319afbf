// The progress line as a person sees it: a program draws on its real stderr
// inside a pseudo-terminal (tmux), and the test reads the screen; the same
// program with stderr piped must print nothing there.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

import { stderrTerminal } from "../../src/runtime/terminal.ts";
import { PseudoTerminal } from "../helpers/pty.ts";
import { runProgram } from "../helpers/subprocess.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const PROGRAM = fileURLToPath(new URL("../fixtures/progress_program.ts", import.meta.url));
const isDeno = "Deno" in globalThis;

/** The command that runs a program file on this runtime. */
function commandFor(program: string): string[] {
  return isDeno
    ? [Deno.execPath(), "run", "-A", program]
    : [(globalThis as unknown as { process: { execPath: string } }).process.execPath, program];
}

/** Runs the progress program in a 90 × 10 terminal; returns the screen mid-run and at the end. */
async function screensOf(env: Record<string, string>): Promise<{ during: string; after: string }> {
  return await withTempDir("osiiso-progress-", async (dir) => {
    const goFile = join(dir, "go");
    const term = PseudoTerminal.start(commandFor(PROGRAM), { columns: 90, rows: 10 }, {
      ...env,
      PROGRESS_GO_FILE: goFile,
    });
    try {
      const during = await term.waitFor((screen) => screen.includes("7/10"));
      writeFileSync(goFile, "");
      const after = await term.waitFor((screen) => screen.includes("[exit"));
      return { during, after };
    } finally {
      term.close();
    }
  });
}

describe("stderr progress on a real terminal", () => {
  it(
    "shows the line on a terminal after 2 s, then leaves a clean screen",
    { timeout: 60_000 },
    async () => {
      const started = performance.now();
      const { during, after } = await screensOf({ PROGRESS_MODE: "auto", PROGRESS_QUEUES: "1" });
      assert.ok(performance.now() - started >= 2_000, "auto waits 2 s before drawing");
      assert.match(
        during,
        /^7\/10 70% \[#{14}-{6}\] \| 1 failed \| 2 retrying \| [\d.]+\/s \| ETA \d+s \| 3 active$/,
      );
      assert.equal(after, "finished on a terminal of 90 columns\n[exit 0]");
    },
  );

  it("stacks one labelled line per queue and erases both", { timeout: 60_000 }, async () => {
    const { during, after } = await screensOf({ PROGRESS_MODE: "true", PROGRESS_QUEUES: "2" });
    const lines = during.split("\n");
    assert.equal(lines.length, 2, during);
    assert.match(lines[0], /^fetch \| 7\/10 70% \[#+-+\] \| 1 failed \| 2 retrying \| /);
    assert.match(
      lines[1],
      /^parse \| 21 done \| 0 failed \| 0 retrying \| [\d.]+\/s \| \d+s \| 1 active$/,
    );
    assert.ok(lines.every((line) => line.length <= 89), "no line reaches the last column");
    assert.equal(after, "finished on a terminal of 90 columns\n[exit 0]");
  });

  it("prints nothing on stderr when it is piped", { timeout: 60_000 }, async () => {
    await withTempDir("osiiso-progress-", async (dir) => {
      const goFile = join(dir, "go");
      // Past the 2 s after which a terminal would show the line.
      const go = setTimeout(() => writeFileSync(goFile, ""), 2_600);
      try {
        const outcome = await runProgram(PROGRAM, [], {
          PROGRESS_MODE: "auto",
          PROGRESS_QUEUES: "2",
          PROGRESS_GO_FILE: goFile,
        });
        assert.deepEqual(outcome, {
          code: 0,
          stdout: "finished on a pipe of 80 columns\n",
          stderr: "",
        });
      } finally {
        clearTimeout(go);
      }
    });
  });

  it("takes stderr redirected to a file or to /dev/null for no terminal", async () => {
    await withTempDir("osiiso-progress-", async (dir) => {
      const goFile = join(dir, "go");
      writeFileSync(goFile, ""); // the program finishes as soon as it has counted 7 tasks
      // A file is told apart by fstat alone; /dev/null is a character device, so node:tty is asked.
      for (const target of [join(dir, "stderr.txt"), "/dev/null"]) {
        const fd = openSync(target, "w");
        try {
          const [command, ...args] = commandFor(PROGRAM);
          const outcome = spawnSync(command, args, {
            env: { ...process.env, PROGRESS_MODE: "auto", PROGRESS_GO_FILE: goFile },
            stdio: ["ignore", "pipe", fd],
            encoding: "utf8",
            timeout: 30_000,
          });
          assert.equal(outcome.stdout, "finished on a pipe of 80 columns\n", target);
          assert.equal(outcome.status, 0, target);
        } finally {
          closeSync(fd);
        }
      }
      assert.equal(readFileSync(join(dir, "stderr.txt"), "utf8"), "");
    });
  });

  it("gives one writer per process, so its queues share one board", () => {
    assert.equal(stderrTerminal(), stderrTerminal());
  });
});
