/**
 * The leak-counting tools themselves: the process table sees children and
 * grandchildren (from `/proc` and from `ps` alike), follows a process group
 * after its leader is gone, and the checks fail with the test's name when a
 * child process or a library timer is left alive.
 */

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { describe, it } from "node:test";
import { AsyncQueue } from "../../mod.ts";
import {
  assertNothingLeft,
  defaultProcessTableSource,
  descendantsOf,
  leftovers,
  liveSnapshot,
  parseProcStat,
  processTable,
  selfPid,
} from "../helpers/process_table.ts";
import { waitFor } from "../helpers/timing.ts";
import { guarded } from "./harness.ts";

function start(command: string, detached = false): ChildProcess {
  return spawn("sh", ["-c", command], { stdio: ["ignore", "pipe", "ignore"], detached });
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once("exit", resolve));
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

const hasPs = (() => {
  try {
    processTable("ps");
    return true;
  } catch {
    return false;
  }
})();

describe("process table", () => {
  it("parses a stat line whose command holds spaces and parentheses", () => {
    const entry = parseProcStat("4242 (odd) name)) S 17 4242 17 0 -1 4194560 0 0");
    assert.deepEqual(entry, { pid: 4242, ppid: 17, pgid: 4242, state: "S", command: "odd) name)" });
    assert.equal(parseProcStat("garbage"), undefined);
  });

  it("finds this process in the table", () => {
    const me = processTable().find((entry) => entry.pid === selfPid);
    assert.ok(me, `pid ${selfPid} not in the ${defaultProcessTableSource()} table`);
    assert.equal(me.pid, process.pid);
  });

  it("counts a child and its grandchild, from /proc and from ps alike, until they end", async () => {
    const child = start("sleep 30 & echo $!; wait");
    try {
      const grandchild = await new Promise<number>((resolve) =>
        child.stdout?.once("data", (chunk) => resolve(Number(String(chunk).trim())))
      );
      const sources = hasPs ? (["proc", "ps"] as const) : ([defaultProcessTableSource()] as const);
      for (const source of sources) {
        const found = descendantsOf(selfPid, processTable(source));
        const pids = found.map((entry) => entry.pid);
        assert.ok(pids.includes(child.pid as number), `${source}: child ${child.pid} in ${pids}`);
        assert.ok(pids.includes(grandchild), `${source}: grandchild ${grandchild} in ${pids}`);
        const viaChain = found.find((entry) => entry.pid === grandchild);
        assert.equal(viaChain?.ppid, child.pid, `${source}: the grandchild's parent`);
      }
      process.kill(grandchild, "SIGKILL");
      child.kill("SIGKILL");
      await exited(child);
      await waitFor(
        () => !descendantsOf().some((e) => e.pid === grandchild || e.pid === child.pid),
        5_000,
        "the processes gone",
      );
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("follows a process group after its leader is killed (an escaped grandchild)", async () => {
    const before = liveSnapshot();
    // A detached child leads its own group; its grandchild stays in that group.
    const child = start("sleep 30 & echo $!; wait", true);
    const pgid = child.pid as number;
    try {
      const grandchild = await new Promise<number>((resolve) =>
        child.stdout?.once("data", (chunk) => resolve(Number(String(chunk).trim())))
      );
      const during = liveSnapshot();
      assert.ok(during.groups.includes(pgid), `group ${pgid} seen while it was a descendant`);
      child.kill("SIGKILL");
      await exited(child);
      // The grandchild is re-parented away from us: only its group still ties it to the test.
      await waitFor(
        () => !descendantsOf().some((e) => e.pid === grandchild || e.pid === pgid),
        5_000,
        "the leader reaped and its child re-parented",
      );
      const found = leftovers(before, during.groups);
      assert.deepEqual(found.processes.map((entry) => entry.pid), [grandchild]);
      await assert.rejects(
        assertNothingLeft("test 'escaped grandchild'", before, {
          settleMs: 50,
          extraGroups: during.groups,
          strictProcesses: true,
        }),
        (error: Error) => {
          assert.match(error.message, /^test 'escaped grandchild' left resources alive/);
          assert.match(error.message, new RegExp(`processes: ${grandchild} sleep`));
          return true;
        },
      );
    } finally {
      killGroup(pgid);
    }
    await assertNothingLeft("the group kill", before, {
      extraGroups: [pgid],
      strictProcesses: true,
    });
  });

  it("fails, naming the test, when a child process is left running", async () => {
    const before = liveSnapshot();
    const child = start("exec sleep 30");
    try {
      await assert.rejects(
        assertNothingLeft("test 'leaky child'", before, { settleMs: 50, strictProcesses: true }),
        (error: Error) => {
          assert.match(error.message, /^test 'leaky child' left resources alive after 50ms/);
          assert.match(error.message, new RegExp(`processes: ${child.pid} sleep`));
          return true;
        },
      );
    } finally {
      child.kill("SIGKILL");
      await exited(child);
    }
    await assertNothingLeft("after the kill", before, { strictProcesses: true });
  });

  it("fails, naming the test, when a library timer is left alive", async () => {
    const before = liveSnapshot();
    const q = new AsyncQueue().start();
    q.submit(() => 1, { delay: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      await assert.rejects(
        assertNothingLeft("test 'leaky timer'", before, { settleMs: 50 }),
        /^Error: test 'leaky timer' left resources alive after 50ms: library: 1 timers/,
      );
    } finally {
      await q.shutdown({ force: true });
    }
    await assertNothingLeft("after the shutdown", before);
  });

  it("makes the fault suite's test fail by its own name when it leaks", async () => {
    let leaked: AsyncQueue | undefined;
    try {
      await assert.rejects(
        guarded("forgets to shut down", async () => {
          leaked = new AsyncQueue().start();
          leaked.submit(() => 1, { delay: 60_000 });
          await new Promise((resolve) => setTimeout(resolve, 0));
        }, { settleMs: 50 }),
        /^Error: test 'forgets to shut down' left resources alive after 50ms: library: 1 timers/,
      );
      await guarded("shuts down", async () => {
        const q = new AsyncQueue().start();
        q.submit(() => 1, { delay: 60_000 });
        await q.shutdown({ force: true });
      });
    } finally {
      await leaked?.shutdown({ force: true });
    }
  });
});
