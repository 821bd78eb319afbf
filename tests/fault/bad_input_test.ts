/**
 * The bad-input table: every public entry of a queue fed wrong values,
 * wrong types, unknown names, bad states and huge arguments. Each row
 * expects, at the call site, the exact error class (`TypeError`,
 * `RangeError`, an `OsiisoError` subclass) and message, or a failed
 * `TaskResult` with a clear message. Bad input throws `TypeError` (wrong
 * type, unknown name) or `RangeError` (out of range) at the call, in one
 * form: `Cannot <action> as '<name>' must be <requirement>: current value
 * is <value>`. After every row the queue still works (a follow-up task
 * succeeds, and its run holds only that task: a bad batch submitted
 * nothing), and nothing is left alive.
 *
 * Rows are built per backend ({@linkcode faultBackends}), so a new backend
 * gets the whole table by being registered.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, it } from "node:test";
import {
  amap,
  asCompleted,
  ClosedError,
  InvalidStateError,
  QueueFullError,
  type TaskHandle,
  taskModule,
  type TaskQueue,
} from "../../mod.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { type BackendName, type FaultBackend, faultBackends } from "./backends.ts";
import { faultTest } from "./harness.ts";

type ErrorName =
  | "TypeError"
  | "RangeError"
  | "Error"
  | "ClosedError"
  | "InvalidStateError"
  | "QueueFullError";

const CLASSES: Record<ErrorName, abstract new (...args: never[]) => Error> = {
  TypeError,
  RangeError,
  Error,
  ClosedError,
  InvalidStateError,
  QueueFullError,
};

/** The call throws (or, for an async entry, rejects) with this error. */
interface Throws {
  readonly kind: "throws";
  readonly error: ErrorName;
  readonly message: string | RegExp;
  /** An async entry (`run`, `shutdown`, …): a rejection is the call-site error. */
  readonly async?: boolean;
}

/** The call returns a handle whose task fails with this message. */
interface Fails {
  readonly kind: "fails";
  readonly message: string | RegExp;
}

/** The call returns a handle whose task succeeds with this value (huge but valid input). */
interface Succeeds {
  readonly kind: "succeeds";
  readonly value: unknown;
}

type Expectation = Throws | Fails | Succeeds;

interface Row {
  readonly area: string;
  readonly label: string;
  /** Backends the row applies to (default: all). */
  readonly only?: readonly BackendName[];
  /** Options of the row's queue. */
  readonly queueOptions?: () => Record<string, unknown>;
  /** The bad call makes its own queue (constructor rows): no queue is passed. */
  readonly noQueue?: boolean;
  /** Puts the queue in the state the row needs; its result is passed on. */
  arrange?(q: TaskQueue): unknown;
  /** The bad call. */
  act(q: TaskQueue, arranged: unknown): unknown;
  readonly expect: Expectation;
  /** Makes the queue usable again where the row closed it (reset) or left work (drain). */
  recover?(q: TaskQueue, arranged: unknown): Promise<void> | void;
}

const throws = (error: ErrorName, message: string | RegExp): Throws => ({
  kind: "throws",
  error,
  message,
});
const rejects = (error: ErrorName, message: string | RegExp): Throws => ({
  kind: "throws",
  error,
  message,
  async: true,
});
const fails = (message: string | RegExp): Fails => ({ kind: "fails", message });
const succeeds = (value: unknown): Succeeds => ({ kind: "succeeds", value });

/** The one message form of every bad-input error: `Cannot submit task as 'retries' must be …`. */
const house = (action: string, name: string, requirement: string, value: string): string =>
  `Cannot ${action} as '${name}' must be ${requirement}: current value is ${value}`;
/** The start of a house message, when the rest is not the point of the row. */
const houseStart = (action: string, name: string): RegExp =>
  new RegExp(
    `^Cannot ${action} as '${name.replace(/[[\]]/g, "\\$&")}' must be .+: current value is `,
  );

const drain = async (q: TaskQueue): Promise<void> => void await q.run();
const reopen = (q: TaskQueue): void => q.reset();

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** Resolves with `promise`, or rejects naming `what` after `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms}ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function badInputRows(b: FaultBackend): Row[] {
  const t = b.tasks;
  const rows: Row[] = [];
  const add = (row: Row) => rows.push(row);

  // ------------------------------------------------------------ constructors
  const ctor = (label: string, options: unknown, error: ErrorName, message: string | RegExp) =>
    add({
      area: "constructor",
      label,
      noQueue: true,
      act: () => b.make(options as Record<string, unknown>),
      expect: throws(error, message),
    });
  const create = (name: string, requirement: string, value: string) =>
    house("create queue", name, requirement, value);
  ctor("workers: -1", { workers: -1 }, "RangeError", create("workers", "a positive integer", "-1"));
  ctor(
    "workers: NaN",
    { workers: NaN },
    "RangeError",
    create("workers", "a positive integer", "NaN"),
  );
  ctor(
    "workers: Infinity",
    { workers: Infinity },
    "RangeError",
    create("workers", "a positive integer", "Infinity"),
  );
  ctor(
    "workers: '4'",
    { workers: "4" },
    "TypeError",
    create("workers", "a positive integer", "'4'"),
  );
  ctor(
    "workers: 2.5",
    { workers: 2.5 },
    "RangeError",
    create("workers", "a positive integer", "2.5"),
  );
  ctor("size: -1", { size: -1 }, "RangeError", create("size", "a non-negative integer", "-1"));
  ctor("size: 1.5", { size: 1.5 }, "RangeError", create("size", "a non-negative integer", "1.5"));
  ctor(
    "size: Infinity",
    { size: Infinity },
    "RangeError",
    create("size", "a non-negative integer", "Infinity"),
  );
  ctor("size: '10'", { size: "10" }, "TypeError", create("size", "a non-negative integer", "'10'"));
  ctor("timeout: 0", { timeout: 0 }, "RangeError", create("timeout", "a positive number", "0"));
  ctor(
    "timeout: NaN",
    { timeout: NaN },
    "RangeError",
    create("timeout", "a positive number", "NaN"),
  );
  ctor(
    "timeout: -Infinity",
    { timeout: -Infinity },
    "RangeError",
    create("timeout", "a positive number", "-Infinity"),
  );
  ctor(
    "timeout: '1s'",
    { timeout: "1s" },
    "TypeError",
    create("timeout", "a positive number", "'1s'"),
  );
  ctor("rate: -5", { rate: -5 }, "RangeError", create("rate", "a positive number", "-5"));
  ctor(
    "rate: Infinity",
    { rate: Infinity },
    "RangeError",
    create("rate", "a positive number", "Infinity"),
  );
  ctor(
    "rate: 'fast'",
    { rate: "fast" },
    "TypeError",
    create("rate", "a positive number", "'fast'"),
  );
  ctor("burst: 0.5", { burst: 0.5 }, "RangeError", create("burst", "a positive integer", "0.5"));
  ctor("burst: NaN", { burst: NaN }, "RangeError", create("burst", "a positive integer", "NaN"));
  ctor(
    "mode: 'forever'",
    { mode: "forever" },
    "RangeError",
    create("mode", "one of 'finite' or 'infinite'", "'forever'"),
  );
  ctor("mode: 1", { mode: 1 }, "TypeError", create("mode", "one of 'finite' or 'infinite'", "1"));
  ctor(
    "failPolicy: 'fail_first'",
    { failPolicy: "fail_first" },
    "RangeError",
    create("failPolicy", "one of 'continue' or 'failFirst'", "'fail_first'"),
  );
  ctor(
    "onTimeout: null",
    { onTimeout: null },
    "TypeError",
    create("onTimeout", "one of 'complete' or 'cancel'", "null"),
  );
  ctor(
    "onStart: a string",
    { onStart: "log" },
    "TypeError",
    create("onStart", "a function", "'log'"),
  );
  ctor(
    "onComplete: an object",
    { onComplete: {} },
    "TypeError",
    create("onComplete", "a function", "an object"),
  );
  ctor("onRetry: a number", { onRetry: 1 }, "TypeError", create("onRetry", "a function", "1"));
  ctor(
    "onHookError: true",
    { onHookError: true },
    "TypeError",
    create("onHookError", "a function", "true"),
  );
  ctor(
    "signal: a plain object",
    { signal: {} },
    "TypeError",
    create("signal", "an AbortSignal", "an object"),
  );
  ctor(
    "signal: the AbortController itself",
    { signal: new AbortController() },
    "TypeError",
    houseStart("create queue", "signal"),
  );
  ctor(
    "clock: a plain object",
    { clock: {} },
    "TypeError",
    create("clock", "a Clock", "an object"),
  );
  ctor("clock: Date.now", { clock: Date.now }, "TypeError", houseStart("create queue", "clock"));
  ctor("unknown option name", { worker: 4 }, "TypeError", "Unknown queue option(s): worker");
  ctor(
    "task options given to a queue",
    { retries: 1, priority: 2 },
    "TypeError",
    "Unknown queue option(s): priority, retries",
  );
  ctor("options: a number", 4, "TypeError", create("options", "an object", "4"));
  ctor("options: null", null, "TypeError", create("options", "an object", "null"));
  ctor("options: an array", [], "TypeError", create("options", "an object", "array(0)"));
  ctor(
    "options: a string",
    "workers=4",
    "TypeError",
    create("options", "an object", "'workers=4'"),
  );
  for (const [label, options, error, message] of b.badOptions) {
    ctor(label, options, error as ErrorName, message);
  }

  // ------------------------------------------------------------------ submit
  const submitRow = (label: string, act: (q: TaskQueue) => unknown, expect: Expectation) =>
    add({ area: "submit", label, act, expect });
  const option = (label: string, options: unknown, error: ErrorName, message: string | RegExp) =>
    submitRow(label, (q) => q.submit(t.increment, [1], options as never), throws(error, message));
  const sub = (name: string, requirement: string, value: string) =>
    house("submit task", name, requirement, value);
  const taskRequirement = "a function or a task reference";
  submitRow(
    "task: a number",
    (q) => q.submit(42 as never),
    throws("TypeError", sub("task", taskRequirement, "42")),
  );
  submitRow(
    "task: null",
    (q) => q.submit(null as never),
    throws("TypeError", sub("task", taskRequirement, "null")),
  );
  submitRow(
    "task: undefined",
    (q) => q.submit(undefined as never),
    throws("TypeError", sub("task", taskRequirement, "undefined")),
  );
  submitRow(
    "task: a function's name",
    (q) => q.submit("increment" as never, [1]),
    throws("TypeError", sub("task", taskRequirement, "'increment'")),
  );
  submitRow("task: a promise", (q) => {
    const running = Promise.resolve(1);
    return q.submit(running as never);
  }, throws("TypeError", /^Cannot submit task as 'task' must be a function, not a promise/));
  submitRow(
    "task: a thenable",
    (q) => q.submit({ then() {} } as never),
    throws("TypeError", /^Cannot submit task as 'task' must be a function, not a promise/),
  );
  submitRow(
    "task: a forged { url, exportName } object",
    (q) =>
      q.submit(
        {
          url: new URL("./fault_tasks.ts", import.meta.url).href,
          exportName: "increment",
        } as never,
      ),
    throws("TypeError", sub("task", taskRequirement, "an object")),
  );
  submitRow(
    "args: a string",
    (q) => q.submit(t.increment, "abc" as never),
    throws("TypeError", sub("args", "an array", "'abc'")),
  );
  submitRow(
    "args: a number, with options",
    (q) => q.submit(t.increment, 5 as never, {}),
    throws("TypeError", sub("args", "an array", "5")),
  );
  submitRow(
    "args: null",
    (q) => q.submit(t.increment, null as never),
    throws("TypeError", houseStart("submit task", "options")),
  );
  submitRow(
    "args: an array-like object",
    (q) => q.submit(t.increment, { length: 1, 0: 1 } as never),
    throws("TypeError", "Unknown task option(s): 0, length"),
  );
  option("options: a string", "fast", "TypeError", sub("options", "an object", "'fast'"));
  option("options: an array", [], "TypeError", sub("options", "an object", "array(0)"));
  option(
    "priority: NaN",
    { priority: NaN },
    "RangeError",
    sub("priority", "a finite number", "NaN"),
  );
  option(
    "priority: '1'",
    { priority: "1" },
    "TypeError",
    sub("priority", "a finite number", "'1'"),
  );
  option(
    "priority: Infinity",
    { priority: Infinity },
    "RangeError",
    sub("priority", "a finite number", "Infinity"),
  );
  option(
    "priority: -Infinity",
    { priority: -Infinity },
    "RangeError",
    sub("priority", "a finite number", "-Infinity"),
  );
  option("timeout: 0", { timeout: 0 }, "RangeError", sub("timeout", "a positive number", "0"));
  option("timeout: -5", { timeout: -5 }, "RangeError", sub("timeout", "a positive number", "-5"));
  option("timeout: '5'", { timeout: "5" }, "TypeError", sub("timeout", "a positive number", "'5'"));
  option(
    "timeout: NaN",
    { timeout: NaN },
    "RangeError",
    sub("timeout", "a positive number", "NaN"),
  );
  option(
    "retries: -1",
    { retries: -1 },
    "RangeError",
    sub("retries", "a non-negative integer", "-1"),
  );
  option(
    "retries: 1.5",
    { retries: 1.5 },
    "RangeError",
    sub("retries", "a non-negative integer", "1.5"),
  );
  option(
    "retries: Infinity",
    { retries: Infinity },
    "RangeError",
    sub("retries", "a non-negative integer", "Infinity"),
  );
  option(
    "retries: '3'",
    { retries: "3" },
    "TypeError",
    sub("retries", "a non-negative integer", "'3'"),
  );
  option(
    "retryDelay: -1",
    { retryDelay: -1 },
    "RangeError",
    sub("retryDelay", "a non-negative number", "-1"),
  );
  option(
    "retryDelay: Infinity",
    { retryDelay: Infinity },
    "RangeError",
    sub("retryDelay", "a non-negative number", "Infinity"),
  );
  option("backoff: 0", { backoff: 0 }, "RangeError", sub("backoff", "a positive number", "0"));
  option(
    "backoff: NaN",
    { backoff: NaN },
    "RangeError",
    sub("backoff", "a positive number", "NaN"),
  );
  option(
    "maxRetryDelay: -1",
    { maxRetryDelay: -1 },
    "RangeError",
    sub("maxRetryDelay", "a non-negative number", "-1"),
  );
  option(
    "maxRetryDelay: NaN",
    { maxRetryDelay: NaN },
    "RangeError",
    sub("maxRetryDelay", "a non-negative number", "NaN"),
  );
  option("delay: -1", { delay: -1 }, "RangeError", sub("delay", "a non-negative number", "-1"));
  option("delay: NaN", { delay: NaN }, "RangeError", sub("delay", "a non-negative number", "NaN"));
  option(
    "delay: '10'",
    { delay: "10" },
    "TypeError",
    sub("delay", "a non-negative number", "'10'"),
  );
  option(
    "runAt: an invalid Date",
    { runAt: new Date(NaN) },
    "RangeError",
    /^Cannot submit task as 'runAt' must be a valid Date or epoch ms: current value is /,
  );
  option(
    "runAt: a date string",
    { runAt: "2030-01-01" },
    "TypeError",
    sub("runAt", "a Date or epoch ms", "'2030-01-01'"),
  );
  option("runAt: NaN", { runAt: NaN }, "RangeError", sub("runAt", "a finite number", "NaN"));
  option(
    "runAt: Infinity",
    { runAt: Infinity },
    "RangeError",
    sub("runAt", "a finite number", "Infinity"),
  );
  option(
    "delay and runAt together",
    { delay: 10, runAt: Date.now() + 1_000 },
    "RangeError",
    /^Cannot submit task as 'delay' and 'runAt' are mutually exclusive/,
  );
  option("name: a number", { name: 42 }, "TypeError", sub("name", "a string", "42"));
  option("groupId: a number", { groupId: 7 }, "TypeError", sub("groupId", "a string", "7"));
  option(
    "detached: 'yes'",
    { detached: "yes" },
    "TypeError",
    sub("detached", "a boolean", "'yes'"),
  );
  option(
    "mustComplete: 1",
    { mustComplete: 1 },
    "TypeError",
    sub("mustComplete", "a boolean", "1"),
  );
  option("bind: 'true'", { bind: "true" }, "TypeError", sub("bind", "a boolean", "'true'"));
  option(
    "retryOn: a string",
    { retryOn: "always" },
    "TypeError",
    sub("retryOn", "a function", "'always'"),
  );
  option(
    "transfer: an object",
    { transfer: {} },
    "TypeError",
    sub("transfer", "an array", "an object"),
  );
  option("unknown option name", { retry: 2 }, "TypeError", "Unknown task option(s): retry");
  option(
    "misspelt option names",
    { Priority: 1, timeOut: 5 },
    "TypeError",
    "Unknown task option(s): Priority, timeOut",
  );
  option(
    "a queue option given to a task",
    { workers: 2 },
    "TypeError",
    "Unknown task option(s): workers",
  );

  // ------------------------------------------------------------- batch calls
  const batch = (
    area: string,
    label: string,
    act: (q: TaskQueue) => unknown,
    expect: Expectation,
    extra: Partial<Row> = {},
  ) => add({ area, label, act, expect, ...extra });
  batch(
    "map",
    "items: a number",
    (q) => q.map(t.increment, 42 as never),
    throws("TypeError", /^Cannot map tasks as 'items' must be iterable: current value is /),
  );
  batch(
    "map",
    "items: a string",
    (q) => q.map(t.increment, "abc" as never),
    throws("TypeError", /^Cannot map tasks as 'items' must be iterable/),
  );
  batch(
    "map",
    "task: a number",
    (q) => q.map(42 as never, [1, 2]),
    throws("TypeError", house("map tasks", "task", taskRequirement, "42")),
  );
  batch(
    "map",
    "options: retries -1",
    (q) => q.map(t.increment, [1, 2, 3], { retries: -1 }),
    throws("RangeError", sub("retries", "a non-negative integer", "-1")),
  );
  batch("map", "items: a generator that throws part-way", (q) => {
    function* items(): Generator<number> {
      yield 1;
      yield 2;
      throw new Error("generator broke");
    }
    return q.map(t.increment, items());
  }, throws("Error", "generator broke"));
  batch(
    "map",
    "more items than the queue's size allows",
    (q) => q.map(t.increment, [1, 2]),
    throws("QueueFullError", "queue is full (1 tasks outstanding)"),
    {
      queueOptions: () => ({ size: 2 }),
      arrange: (q) => void q.submit(t.increment, [0]),
      recover: drain,
    },
  );
  batch(
    "starmap",
    "an argument list that is not an array",
    (q) => q.starmap(t.increment, [[1], 2, [3]] as never),
    throws(
      "TypeError",
      /^Cannot starmap tasks as 'argLists\[1\]' must be an array: current value is /,
    ),
  );
  batch(
    "starmap",
    "argLists: null",
    (q) => q.starmap(t.increment, null as never),
    throws("TypeError", /^Cannot starmap tasks as 'argLists' must be iterable/),
  );
  batch(
    "starmap",
    "unknown option name",
    (q) => q.starmap(t.increment, [[1], [2]], { bogus: true } as never),
    throws("TypeError", "Unknown task option(s): bogus"),
  );
  batch(
    "group",
    "an entry whose task is a number",
    (q) => q.group([[t.increment, 1], [42, 2]] as never),
    throws("TypeError", house("submit group", "task", taskRequirement, "42")),
  );
  batch(
    "group",
    "an empty entry",
    (q) => q.group([[t.increment, 1], []] as never),
    throws("TypeError", houseStart("submit group", "entries[1]")),
  );
  batch(
    "group",
    "an entry that is a string",
    (q) => q.group([[t.increment, 1], "x"] as never),
    throws("TypeError", houseStart("submit group", "entries[1]")),
  );
  batch(
    "group",
    "items: a number",
    (q) => q.group(t.increment, 42 as never),
    throws("TypeError", /^Cannot submit group as 'items' must be iterable/),
  );
  batch(
    "group",
    "options: priority 'high'",
    (q) => q.group(t.increment, [1, 2], { priority: "high" } as never),
    throws("TypeError", sub("priority", "a finite number", "'high'")),
  );
  batch(
    "group",
    "groupId: a number",
    (q) => q.group([[t.increment, 1]], { groupId: 5 } as never),
    throws("TypeError", sub("groupId", "a string", "5")),
  );
  batch(
    "group",
    "an entry whose task is a promise",
    (q) => q.group([[t.increment, 1], [Promise.resolve(1)]] as never),
    throws("TypeError", /^Cannot submit group as 'task' must be a function, not a promise/),
  );
  batch(
    "group",
    "more entries than the queue's size allows",
    (q) => q.group([[t.increment, 1], [t.increment, 2]]),
    throws("QueueFullError", "queue is full (1 tasks outstanding)"),
    {
      queueOptions: () => ({ size: 2 }),
      arrange: (q) => void q.submit(t.increment, [0]),
      recover: drain,
    },
  );
  batch(
    "task",
    "task: a number",
    (q) => q.task(42 as never),
    throws("TypeError", house("bind task", "task", taskRequirement, "42")),
  );
  batch(
    "task",
    "options: timeout -1",
    (q) => q.task(t.increment, { timeout: -1 }),
    throws("RangeError", sub("timeout", "a positive number", "-1")),
  );
  batch(
    "task",
    "withOptions: retries '2'",
    (q) => q.task(t.increment).withOptions({ retries: "2" } as never),
    throws("TypeError", sub("retries", "a non-negative integer", "'2'")),
  );
  batch(
    "task",
    "map: items a number",
    (q) => q.task(t.increment).map(42 as never),
    throws("TypeError", /^Cannot map tasks as 'items' must be iterable/),
  );
  batch(
    "task",
    "submit: args a string",
    (q) => q.task(t.increment).submit("x" as never),
    throws("TypeError", sub("args", "an array", "'x'")),
  );
  batch(
    "task",
    "map: unknown override name",
    (q) => q.task(t.increment).map([1, 2], { bogus: 1 } as never),
    throws("TypeError", "Unknown task option(s): bogus"),
  );
  batch(
    "task",
    "group: delay -1",
    (q) => q.task(t.increment).group([1, 2], { delay: -1 }),
    throws("RangeError", sub("delay", "a non-negative number", "-1")),
  );

  // -------------------------------------------------------- run and shutdown
  const runRow = (label: string, act: (q: TaskQueue) => unknown, expect: Throws) =>
    add({ area: "run/shutdown", label, act, expect });
  const runMsg = (name: string, requirement: string, value: string) =>
    house("run queue", name, requirement, value);
  runRow(
    "run timeout: -1",
    (q) => q.run({ timeout: -1 }),
    rejects("RangeError", runMsg("timeout", "a positive number", "-1")),
  );
  runRow(
    "run timeout: NaN",
    (q) => q.run({ timeout: NaN }),
    rejects("RangeError", runMsg("timeout", "a positive number", "NaN")),
  );
  runRow(
    "run strict: 'yes'",
    (q) => q.run({ strict: "yes" } as never),
    rejects("TypeError", runMsg("strict", "a boolean", "'yes'")),
  );
  runRow(
    "run failPolicy: 'stop'",
    (q) => q.run({ failPolicy: "stop" } as never),
    rejects("RangeError", runMsg("failPolicy", "one of 'continue' or 'failFirst'", "'stop'")),
  );
  runRow(
    "run: unknown option name",
    (q) => q.run({ bogus: 1 } as never),
    rejects("TypeError", "Unknown run option(s): bogus"),
  );
  runRow(
    "run options: a number",
    (q) => q.run(5 as never),
    rejects("TypeError", runMsg("options", "an object", "5")),
  );
  runRow(
    "shutdown force: 'yes'",
    (q) => q.shutdown({ force: "yes" } as never),
    rejects("TypeError", /^Cannot shut down queue as 'force' must be a boolean: current value is /),
  );
  runRow(
    "shutdown: unknown option name",
    (q) => q.shutdown({ forced: true } as never),
    rejects("TypeError", "Unknown shutdown option(s): forced"),
  );
  runRow(
    "shutdown options: true",
    (q) => q.shutdown(true as never),
    rejects("TypeError", house("shut down queue", "options", "an object", "true")),
  );
  runRow(
    "scope body: a number",
    (q) => q.scope(42 as never),
    rejects(
      "TypeError",
      /^Cannot open queue scope as 'body' must be a function: current value is /,
    ),
  );

  // --------------------------------------------------- handles and helpers
  const misc = (
    label: string,
    act: (q: TaskQueue, arranged: unknown) => unknown,
    expect: Expectation,
    extra: Partial<Row> = {},
  ) => add({ area: "handles/helpers", label, act, expect, ...extra });
  // The handle is made by `arrange`, so the bad call itself submits nothing.
  const onPending: Partial<Row> = {
    arrange: (q) => ({ handle: q.submit(t.increment, [1]) }),
    recover: drain,
  };
  const handleOf = (arranged: unknown) => (arranged as { handle: TaskHandle<number> }).handle;
  misc(
    "onDone: a number",
    (_q, arranged) => handleOf(arranged).onDone(42 as never),
    throws(
      "TypeError",
      /^Cannot add done callback as 'callback' must be a function: current value is /,
    ),
    onPending,
  );
  misc(
    "result() while pending",
    (_q, arranged) => handleOf(arranged).result(),
    throws("InvalidStateError", "result not ready"),
    onPending,
  );
  misc(
    "value() while pending",
    (_q, arranged) => handleOf(arranged).value(),
    throws("InvalidStateError", "result not ready"),
    onPending,
  );
  misc(
    "exception() while pending",
    (_q, arranged) => handleOf(arranged).exception(),
    throws("InvalidStateError", "result not ready"),
    onPending,
  );
  misc(
    "asCompleted: a number",
    () => asCompleted(42 as never),
    throws("TypeError", /^Cannot .+ as 'handles' must be .+: current value is /),
  );
  misc(
    "asCompleted: numbers instead of handles",
    () => asCompleted([1, 2] as never),
    throws("TypeError", /^Cannot .+ as 'handles\[0\]' must be .+: current value is 1$/),
  );
  misc(
    "taskModule: a relative path",
    () => taskModule("./tasks.ts"),
    throws("TypeError", house("create task module", "url", "an absolute URL", "'./tasks.ts'")),
  );
  misc(
    "taskModule: a number",
    () => taskModule(42 as never),
    throws("TypeError", house("create task module", "url", "an absolute URL", "42")),
  );
  if (b.name === "async") {
    misc(
      "amap: task a number",
      () => amap(42 as never, [1]),
      rejects(
        "TypeError",
        /^Cannot .+ as 'task' must be a function or a task reference: current value is 42$/,
      ),
    );
    misc(
      "amap: workers 0",
      () => amap(t.increment, [1], { workers: 0 }),
      rejects("RangeError", create("workers", "a positive integer", "0")),
    );
    misc(
      "amap: items a number",
      () => amap(t.increment, 5 as never),
      rejects("TypeError", /^Cannot .+ as 'items' must be iterable/),
    );
  }

  // ------------------------------------------------------------------ states
  const state = (label: string, row: Omit<Row, "area" | "label">) =>
    add({ area: "state", label, ...row });
  const shutDown = async (q: TaskQueue) => await q.shutdown();
  const notAccepting = throws("ClosedError", "queue is not accepting tasks");
  state("submit after shutdown", {
    arrange: shutDown,
    act: (q) => q.submit(t.increment, [1]),
    expect: notAccepting,
    recover: reopen,
  });
  state("map after shutdown", {
    arrange: shutDown,
    act: (q) => q.map(t.increment, [1, 2]),
    expect: notAccepting,
    recover: reopen,
  });
  state("group after shutdown", {
    arrange: shutDown,
    act: (q) => q.group(t.increment, [1, 2]),
    expect: notAccepting,
    recover: reopen,
  });
  state("a bound task called after shutdown", {
    arrange: async (q) => {
      const bound = q.task(t.increment);
      await q.shutdown();
      return bound;
    },
    act: (_q, bound) => (bound as (i: number) => unknown)(1),
    expect: notAccepting,
    recover: reopen,
  });
  state("run after shutdown", {
    arrange: shutDown,
    act: (q) => q.run(),
    expect: rejects("ClosedError", "queue has been shut down"),
    recover: reopen,
  });
  state("start after shutdown", {
    arrange: shutDown,
    act: (q) => q.start(),
    expect: throws("ClosedError", "queue has been shut down"),
    recover: reopen,
  });
  state("join after shutdown", {
    arrange: shutDown,
    act: (q) => q.join(),
    expect: rejects("ClosedError", "queue has been shut down"),
    recover: reopen,
  });
  state("submit during a graceful shutdown", {
    arrange: (q) => {
      q.submit(t.sleepThen, [100, "x"]);
      q.start();
      return { closing: q.shutdown() };
    },
    act: (q) => q.submit(t.increment, [1]),
    expect: notAccepting,
    recover: async (q, arranged) => {
      await (arranged as { closing: Promise<void> }).closing;
      q.reset();
    },
  });
  state("double run", {
    arrange: (q) => {
      q.submit(t.sleepThen, [200, "first"]);
      return { first: q.run() };
    },
    act: (q) => q.run(),
    expect: rejects("InvalidStateError", "run() is already in progress"),
    recover: async (_q, arranged) => {
      const summary = await (arranged as { first: ReturnType<TaskQueue["run"]> }).first;
      assert.deepEqual(summary.values, ["first"], "the first run is unaffected");
    },
  });
  if (b.name === "async") {
    state("re-entrant run from inside a task", {
      act: (q) => q.submit(() => q.run()),
      expect: fails("run() is already in progress"),
    });
  }
  state("reset during run", {
    arrange: (q) => {
      q.submit(t.sleepThen, [200, "x"]);
      return { running: q.run() };
    },
    act: (q) => q.reset(),
    expect: throws("InvalidStateError", "cannot reset during run()"),
    recover: async (_q, arranged) => void await (arranged as { running: Promise<unknown> }).running,
  });
  state("reset while started", {
    arrange: (q) => q.start(),
    act: (q) => q.reset(),
    expect: throws(
      "InvalidStateError",
      "cannot reset while workers are running — call shutdown() first",
    ),
  });
  state("submit beyond the queue's size", {
    queueOptions: () => ({ size: 2 }),
    arrange: (q) => q.map(t.increment, [1, 2]),
    act: (q) => q.submit(t.increment, [3]),
    expect: throws("QueueFullError", "queue is full (2 tasks outstanding)"),
    recover: drain,
  });
  state("submit to a queue made with an aborted signal", {
    queueOptions: () => ({ signal: AbortSignal.abort() }),
    act: (q) => q.submit(t.increment, [1]),
    expect: notAccepting,
    recover: reopen,
  });
  {
    let controller = new AbortController();
    state("submit after the queue's signal aborted", {
      queueOptions: () => ({ signal: (controller = new AbortController()).signal }),
      arrange: async () => {
        controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 0));
      },
      act: (q) => q.submit(t.increment, [1]),
      expect: notAccepting,
      recover: reopen,
    });
  }

  // --------------------------------------------------- bad tasks and values
  const task = (
    label: string,
    act: (q: TaskQueue) => unknown,
    expect: Expectation,
    only?: BackendName[],
  ) => add({ area: "task", label, act, expect, only });
  task("throws null", (q) => q.submit(t.throwValue, [null]), fails("null"));
  task("throws undefined", (q) => q.submit(t.throwValue, [undefined]), fails("undefined"));
  task("throws a string", (q) => q.submit(t.throwValue, ["plain words"]), fails("plain words"));
  task(
    "throws a plain object",
    (q) => q.submit(t.throwValue, [{ code: 7 }]),
    fails("[object Object]"),
  );
  task("a class constructor as the task", (q) => {
    class NotCallable {
      value = 1;
    }
    return q.submit(NotCallable as never);
  }, fails(/class/i));
  task(
    "a module that does not exist",
    (q) =>
      q.submit(
        taskModule<{ run(): void }>(new URL("./no_such_module.ts", import.meta.url)).run,
        [],
      ),
    fails(/no_such_module\.ts/),
  );
  task(
    "an export that does not exist",
    (q) =>
      q.submit(
        taskModule<{ notAnExport(): void }>(new URL("./fault_tasks.ts", import.meta.url))
          .notAnExport,
        [],
      ),
    fails(/notAnExport/),
  );
  task(
    "returns a thenable that rejects",
    (q) =>
      q.submit(() =>
        ({
          then: (_: unknown, reject: (e: unknown) => void) =>
            reject(new Error("thenable rejected")),
        }) as never
      ),
    fails("thenable rejected"),
    ["async"],
  );

  // ----------------------------------------------------------- huge inputs
  task(
    "2,000,000 arguments spread into the call",
    (q) => q.submit(t.countArgs, new Array(2_000_000).fill(0)),
    fails(/maximum call stack|too many arguments/i),
  );
  const hugeLength = (b.name === "async" ? 64 : 16) * 1024 * 1024;
  task(
    "a 64 MiB (16 MiB pooled) string argument",
    (q) => q.submit(t.lengthOf, ["x".repeat(hugeLength)]),
    succeeds(hugeLength),
  );
  task(
    "a 1,000,000-element array argument",
    (q) => q.submit(t.lengthOf, [new Array(1_000_000).fill(1)]),
    succeeds(1_000_000),
  );
  task("a cyclic object argument", (q) => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    return q.submit(t.countArgs, [cyclic]);
  }, succeeds(1));
  add({
    area: "task",
    label: "an argument that cannot be cloned (a function)",
    act: (q) => q.submit(t.countArgs, [() => 1]),
    expect: b.pooled ? fails(/clone|serializ|cannot be sent/i) : succeeds(1),
  });
  add({
    area: "task",
    label: "a Symbol argument",
    act: (q) => q.submit(t.countArgs, [Symbol("s")]),
    expect: b.pooled ? fails(/clone|serializ|cannot be sent|symbol/i) : succeeds(1),
  });

  return rows.filter((row) => row.only === undefined || row.only.includes(b.name));
}

function queueCounts(q: TaskQueue): Record<string, unknown> {
  const { pending, active, scheduled, completed, closed } = q.stats;
  return { pending, active, scheduled, completed, closed, results: q.results.length };
}

async function expectThrows(call: () => unknown, expected: Throws): Promise<void> {
  let thrown: unknown;
  let threw = false;
  let synchronous = false;
  let returned: unknown;
  try {
    returned = call();
    synchronous = true;
  } catch (error) {
    thrown = error;
    threw = true;
    synchronous = true;
  }
  if (!threw && isThenable(returned)) {
    synchronous = false;
    try {
      await withDeadline(Promise.resolve(returned), 10_000, "the call");
    } catch (error) {
      thrown = error;
      threw = true;
    }
  }
  assert.ok(threw, `expected ${expected.error} but the call succeeded`);
  if (!expected.async) {
    assert.ok(synchronous, `expected a synchronous ${expected.error}, got a rejected promise`);
  }
  const error = thrown as Error;
  assert.ok(
    error instanceof CLASSES[expected.error] && error.name === expected.error,
    `expected ${expected.error}, got ${error?.name}: ${error?.message}`,
  );
  if (typeof expected.message === "string") assert.equal(error.message, expected.message);
  else assert.match(error.message, expected.message);
}

async function followUp(q: TaskQueue, b: FaultBackend): Promise<void> {
  const handle = q.submit(b.tasks.increment, [41]);
  const summary = await withDeadline(q.run(), 30_000, "the follow-up run");
  assert.equal(handle.value(), 42, "a follow-up task succeeds");
  assert.equal(summary.totalSubmitted, 1, "the follow-up run holds only the follow-up task");
}

/**
 * On a pooled backend every queue that runs starts a pool (tens of ms on
 * Deno), so the pure validation rows (a synchronous throw on an idle queue)
 * share one queue that never starts: each row still checks that its bad
 * call submitted nothing, and leaves a follow-up task there; the table's
 * last test runs that queue and checks every follow-up succeeded and that
 * it ran nothing else.
 */
class SharedQueue {
  #queue: TaskQueue | undefined;
  readonly followUps: TaskHandle<number>[] = [];

  constructor(readonly backend: FaultBackend) {}

  static eligible(b: FaultBackend, row: Row): boolean {
    return b.pooled && !row.noQueue && row.arrange === undefined &&
      row.queueOptions === undefined && row.recover === undefined &&
      row.expect.kind === "throws" && row.expect.async !== true;
  }

  get queue(): TaskQueue {
    return this.#queue ??= this.backend.make();
  }

  async runFollowUps(): Promise<void> {
    const q = this.queue;
    try {
      const summary = await withDeadline(q.run(), 30_000, "the shared follow-up run");
      assert.deepEqual(this.followUps.map((h) => h.value()), this.followUps.map(() => 42));
      assert.equal(summary.totalSubmitted, this.followUps.length, "only the follow-ups ran");
    } finally {
      await q.shutdown({ force: true });
    }
  }
}

async function runRow(b: FaultBackend, row: Row, shared: SharedQueue): Promise<void> {
  if (SharedQueue.eligible(b, row)) {
    const q = shared.queue;
    const before = queueCounts(q);
    await expectThrows(() => row.act(q, undefined), row.expect as Throws);
    assert.deepEqual(queueCounts(q), before, "the bad call submitted nothing");
    shared.followUps.push(q.submit(b.tasks.increment, [41]));
    return;
  }
  if (row.noQueue) {
    assert.equal(row.expect.kind, "throws");
    await expectThrows(() => row.act(undefined as never, undefined), row.expect as Throws);
    // A failed construction must not disturb the next queue. Checked where a
    // queue is cheap; a pool start per row would cost more than it proves.
    if (b.pooled) return;
    const fresh = b.make();
    try {
      await followUp(fresh, b);
    } finally {
      await fresh.shutdown({ force: true });
    }
    return;
  }
  const q = b.make(row.queueOptions?.());
  try {
    const arranged = await row.arrange?.(q);
    const expect = row.expect;
    if (expect.kind === "throws") {
      const before = queueCounts(q);
      await expectThrows(() => row.act(q, arranged), expect);
      assert.deepEqual(queueCounts(q), before, "the bad call submitted nothing");
    } else {
      const handle = row.act(q, arranged) as TaskHandle<unknown>;
      await withDeadline(q.run(), b.pooled ? 15_000 : 5_000, "the run of the bad task");
      const result = handle.result();
      if (expect.kind === "fails") {
        assert.equal(result.status, "failed", `expected a failed task, got ${result.status}`);
        if (typeof expect.message === "string") assert.equal(result.message, expect.message);
        else assert.match(result.message, expect.message);
      } else {
        assert.equal(result.status, "succeeded", `expected success, got: ${result.message}`);
        assert.deepEqual(result.value, expect.value);
      }
    }
    await row.recover?.(q, arranged);
    await followUp(q, b);
  } finally {
    await q.shutdown({ force: true });
  }
}

/** Runs a program on this runtime; resolves with its exit code and output. */
function runProgram(url: URL): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const isDeno = "Deno" in globalThis;
  const args = isDeno ? ["run", "-A", url.pathname] : [url.pathname];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

for (const backend of faultBackends()) {
  describe(`bad input on ${backend.name}`, () => {
    useLeakCheck();
    const rows = badInputRows(backend);
    const shared = new SharedQueue(backend);
    for (const row of rows) {
      faultTest(`${row.area}: ${row.label}`, () => runRow(backend, row, shared));
    }
    if (backend.pooled) {
      faultTest("the follow-ups of the validation rows all succeed", () => shared.runFollowUps());
    }
    if (backend.name === "async") {
      // In a child process: an escaping throw would end the test process.
      faultTest("task: returns a thenable whose then() throws", async () => {
        const outcome = await runProgram(new URL("./bad_thenable_program.ts", import.meta.url));
        assert.equal(outcome.code, 0, `the program crashed:\n${outcome.stderr}`);
        assert.deepEqual(JSON.parse(outcome.stdout.trim().split("\n").at(-1) ?? "{}"), {
          ended: "ran",
          bad: { status: "failed", message: "bad thenable" },
          good: "succeeded",
        });
      });
    }
    it(`tries at least 50 bad inputs (${rows.length + (backend.name === "async" ? 1 : 0)})`, () => {
      assert.ok(rows.length >= 50, `only ${rows.length} rows`);
    });
    after(() => console.log(`bad input rows tried on ${backend.name}: ${rows.length}`));
  });
}
