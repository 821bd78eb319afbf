/**
 * A program's first run is rehearsed once, by a throwaway queue, and the
 * rehearsal can neither fail nor leave anything behind.
 *
 * @module
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rehearseFirstRun, setFirstRunRehearsal } from "../../src/core/first_run.ts";
import { runProgram } from "../helpers/subprocess.ts";

const program = new URL("../fixtures/first_run_program.ts", import.meta.url).pathname;

/** The fixture's one JSON line, after checking it exited cleanly. */
async function runFixture(mode: string): Promise<Record<string, unknown>> {
  const outcome = await runProgram(program, [], { MODE: mode });
  assert.equal(outcome.code, 0, outcome.stderr);
  return JSON.parse(outcome.stdout.trim());
}

describe("first run rehearsal", () => {
  it("runs the rehearsal that was set once, and then nothing", async () => {
    let calls = 0;
    setFirstRunRehearsal(() => {
      calls++;
      return Promise.resolve();
    });
    const first = rehearseFirstRun();
    assert.ok(first instanceof Promise);
    await first;
    assert.equal(rehearseFirstRun(), undefined);
    assert.equal(calls, 1);
  });

  it("never fails, whether the rehearsal rejects or throws", async () => {
    setFirstRunRehearsal(() => Promise.reject(new Error("rejected")));
    assert.equal(await rehearseFirstRun(), undefined);
    setFirstRunRehearsal(() => {
      throw new Error("thrown");
    });
    assert.equal(rehearseFirstRun(), undefined);
  });

  it("the async backend's rehearsal runs a queue and leaves none live", async () => {
    assert.deepEqual(await runFixture("rehearsal"), {
      started: true,
      liveDuring: 1,
      liveAfter: 0,
      again: true,
    });
  });

  it("a program's first run starts it before its first task ends, and its results are untouched", async () => {
    assert.deepEqual(await runFixture("run"), {
      values: [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22],
      succeeded: 12,
      startedByFirstEnd: true,
      liveAfter: 0,
    });
  });
});
