/**
 * The worker side of a pool, driven in-process through a fake channel: the
 * order it runs tasks in, how it batches replies, aborts, initializer
 * failures, uncloneable results, fatal errors.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TaskHost } from "../../src/runtime/task_host.ts";
import {
  type MainMessage,
  type Reply,
  ReplyOutcome,
  RunFlags,
  type SourceDescriptor,
  type WorkerMessage,
} from "../../src/runtime/protocol.ts";
import {
  deserializeThrown,
  type SerializedThrown,
  serializeThrown,
} from "../../src/core/error_codec.ts";
import { TaskSerializationError, TaskTimeoutError } from "../../src/core/errors.ts";
import * as threadTasks from "../fixtures/thread_tasks.ts";

// The same module the host imports from this URL: one instance, so its counters are shared.
const tasksUrl = new URL("../fixtures/thread_tasks.ts", import.meta.url).href;

/** A host wired to a channel that structured-clones (as postMessage does) and records. */
function makeHost(): { host: TaskHost; sent: WorkerMessage[]; exits: number[] } {
  const sent: WorkerMessage[] = [];
  const exits: number[] = [];
  const host = new TaskHost({
    post(message) {
      sent.push(structuredClone(message));
      (globalThis as { __hostPosts?: number }).__hostPosts = sent.length;
    },
    exit(code) {
      exits.push(code);
    },
  });
  return { host, sent, exits };
}

function init(host: TaskHost, extra: Partial<Extract<MainMessage, { type: "init" }>> = {}): void {
  host.receive({
    type: "init",
    worker: 0,
    initializer: null,
    initArgs: [],
    replyBatch: 64,
    ...extra,
  });
}

const inline = (code: string): SourceDescriptor => ({ kind: "inline", code });
const ref = (exportName: string): SourceDescriptor => ({ kind: "ref", url: tasksUrl, exportName });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every reply sent so far, in order. */
function replies(sent: WorkerMessage[]): Reply[] {
  return sent.flatMap((message) => message.type === "replies" ? message.replies : []);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

describe("TaskHost", () => {
  it("says ready, then runs quick tasks in order and answers them in one batch", async () => {
    const { host, sent } = makeHost();
    init(host);
    host.receive({
      type: "runs",
      sources: [[0, inline("(a, b) => a + b")]],
      runs: [[1, 0, [1, 2], 0], [2, 0, [3, 4], 0], [3, 0, [5, 6], 0]],
    });
    await until(() => replies(sent).length === 3, "three replies");
    assert.equal(sent[0].type, "ready");
    assert.deepEqual(replies(sent), [[1, 0, 3], [2, 0, 7], [3, 0, 11]]);
    assert.equal(sent.filter((m) => m.type === "replies").length, 1, "one batch");
  });

  it("sends what it holds before a timed task starts, and right after it ends", async () => {
    const { host, sent } = makeHost();
    init(host);
    await until(() => sent.length === 1, "ready");
    const postsSeen = inline("() => globalThis.__hostPosts");
    host.receive({
      type: "runs",
      sources: [[0, postsSeen]],
      runs: [[1, 0, [], 0], [2, 0, [], RunFlags.timed], [3, 0, [], 0]],
    });
    await until(() => replies(sent).length === 3, "three replies");
    const [first, timed, last] = replies(sent);
    assert.equal(first[2], 1, "untimed: nothing sent since ready");
    assert.equal(timed[2], 2, "the reply before the timed task went out before it started");
    assert.equal(last[2], 3, "the timed task's reply went out right after it");
  });

  it("loads a module export once and awaits async tasks", async () => {
    const { host, sent } = makeHost();
    init(host);
    host.receive({
      type: "runs",
      sources: [[0, ref("echoLater")], [1, ref("add")]],
      runs: [[1, 0, ["later", 10], 0], [2, 1, [2, 2], 0]],
    });
    await until(() => replies(sent).length === 2, "two replies");
    assert.deepEqual(replies(sent), [[1, 0, "later"], [2, 0, 4]]);
  });

  it("passes the bound context and aborts its signal; drops a queued task", async () => {
    const { host, sent } = makeHost();
    init(host);
    const listening = threadTasks.abortWaitsBegun();
    host.receive({
      type: "runs",
      sources: [[0, ref("waitForAbort")], [1, ref("add")]],
      runs: [[1, 0, [], RunFlags.bind, "task-1", 2, "waiter"], [2, 1, [1, 1], 0]],
    });
    // The host imports the module first: abort only once the task listens.
    await until(() => threadTasks.abortWaitsBegun() > listening, "the waiter listening");
    host.receive({ type: "abort", call: 2, reason: serializeThrown(new Error("not needed")) });
    host.receive({
      type: "abort",
      call: 1,
      reason: serializeThrown(new TaskTimeoutError("waiter", 10)),
    });
    await until(() => replies(sent).length === 2, "two replies");
    assert.deepEqual(replies(sent), [[2, ReplyOutcome.dropped], [1, ReplyOutcome.ok, "stopped"]]);
    assert.ok(sent.some((m) => m.type === "abortSeen" && m.call === 1));
    host.receive({ type: "runs", sources: [[2, ref("lastAbortSeen")]], runs: [[3, 2, [], 0]] });
    await until(() => replies(sent).length === 3, "a third reply");
    assert.deepEqual(replies(sent)[2], [3, 0, "TaskTimeoutError"]);
  });

  it("fails the tasks with the initializer's error when it throws", async () => {
    const { host, sent } = makeHost();
    init(host, { initializer: ref("failingSetup") });
    host.receive({ type: "runs", sources: [[0, ref("add")]], runs: [[1, 0, [1, 1], 0]] });
    await until(() => replies(sent).length === 1, "a reply");
    const ready = sent[0];
    assert.equal(ready.type, "ready");
    assert.ok(ready.type === "ready" && ready.error !== undefined);
    const reply = replies(sent)[0];
    assert.equal(reply[1], ReplyOutcome.error);
    assert.match(
      (deserializeThrown(reply[2] as SerializedThrown) as Error).message,
      /setup failed/,
    );
  });

  it("fails only a task whose result cannot be cloned", async () => {
    const { host, sent } = makeHost();
    init(host);
    host.receive({
      type: "runs",
      sources: [[0, ref("returnFunction")], [1, ref("add")]],
      runs: [[1, 0, [], 0], [2, 1, [1, 2], 0]],
    });
    await until(() => replies(sent).length === 2, "two replies");
    const [bad, good] = replies(sent);
    assert.equal(bad[1], ReplyOutcome.error);
    const error = deserializeThrown(bad[2] as SerializedThrown);
    assert.ok(error instanceof TaskSerializationError);
    assert.match(error.message, /could not be cloned/);
    assert.deepEqual(good, [2, 0, 3]);
  });

  it("reports a fatal error with the replies it held, then exits", async () => {
    const { host, sent, exits } = makeHost();
    init(host);
    host.receive({ type: "runs", sources: [[0, ref("add")]], runs: [[1, 0, [1, 1], 0]] });
    await until(() => replies(sent).length === 1, "a reply");
    host.fatal(new Error("boom"));
    host.fatal(new Error("again"));
    const fatal = sent.at(-1)!;
    assert.ok(fatal.type === "fatal");
    assert.equal((deserializeThrown(fatal.error) as Error).message, "boom");
    assert.deepEqual(exits, [1], "once");
    host.exiting(0, "process.exit()");
    assert.equal(sent.at(-1), fatal, "nothing after the end");
  });

  it("preloads task modules by URL; one that fails is reported by the task that needs it", async () => {
    const { host, sent } = makeHost();
    const missing = new URL("../fixtures/no_such_module.ts", import.meta.url).href;
    let unhandled = 0;
    const count = () => unhandled++;
    globalThis.addEventListener("unhandledrejection", count);
    try {
      host.preload([tasksUrl + "?preloaded", missing, "not a url"]);
      init(host);
      host.receive({
        type: "runs",
        sources: [[0, { kind: "ref", url: missing, exportName: "gone" }], [
          1,
          { kind: "ref", url: tasksUrl + "?preloaded", exportName: "add" },
        ]],
        runs: [[1, 0, [], 0], [2, 1, [2, 3], 0]],
      });
      await until(() => replies(sent).length === 2, "two replies");
      const [failed, added] = replies(sent);
      assert.equal(failed[1], ReplyOutcome.error);
      const error = deserializeThrown(failed[2] as SerializedThrown) as Error;
      assert.match(error.message, /cannot import task module '.*no_such_module\.ts'/);
      assert.deepEqual(added, [2, 0, 5]);
      await sleep(20);
      assert.equal(unhandled, 0, "a failed preload is not an unhandled rejection");
    } finally {
      globalThis.removeEventListener("unhandledrejection", count);
    }
  });

  it("does not call a task aborted while its module is still loading", async () => {
    const { host, sent } = makeHost();
    init(host);
    host.receive({
      type: "runs",
      sources: [[0, { kind: "ref", url: tasksUrl + "?fresh", exportName: "countCall" }]],
      runs: [[1, 0, [], 0]],
    });
    host.receive({ type: "abort", call: 1, reason: serializeThrown(new Error("stop")) });
    await until(() => replies(sent).length === 1, "a reply");
    assert.deepEqual(replies(sent), [[1, ReplyOutcome.dropped]]);
    host.receive({ type: "runs", runs: [[2, 0, [], 0]] });
    await until(() => replies(sent).length === 2, "a second reply");
    assert.deepEqual(replies(sent)[1], [2, 0, 1], "its first call");
  });
});
