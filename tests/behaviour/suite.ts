/**
 * The behaviour every queue must show, written once and run against each
 * backend: submitting, validation, the lifecycle (run, join, shutdown,
 * cancel), task outcomes (retries, timeouts, crashes), scheduling, handles,
 * groups, hooks and results, in one file each (imported below).
 *
 * A backend test file calls {@linkcode behaviourSuite} with a
 * {@linkcode BackendUnderTest}. Task bodies come from
 * `tests/fixtures/behaviour_tasks.ts` through `taskModule()` (or are small
 * self-contained arrow functions), so the same tests run in workers and
 * children; hooks run on the main thread and may use closures.
 *
 * @module
 */

import { describe } from "node:test";
import type { BackendUnderTest } from "./backend.ts";
import { useLeakCheck } from "../helpers/leaks.ts";
import { submittingTests } from "./submitting.ts";
import { lifecycleTests } from "./lifecycle.ts";
import { outcomeTests } from "./outcomes.ts";
import { schedulingTests } from "./scheduling.ts";
import { handleTests } from "./handles.ts";
import { groupTests } from "./groups.ts";
import { hookTests } from "./hooks.ts";
import { resultTests } from "./results.ts";
import { validationTests } from "./validation.ts";

export { type BackendUnderTest, type BehaviourTasks, behaviourTasks } from "./backend.ts";

/**
 * Defines the whole behaviour suite for one backend.
 *
 * @example
 * ```ts
 * behaviourSuite({ name: "async", make: (o) => new AsyncQueue(o), tasks: behaviourTasks });
 * ```
 */
export function behaviourSuite(backend: BackendUnderTest): void {
  describe(`${backend.name} queue behaviour`, () => {
    useLeakCheck();
    submittingTests(backend);
    validationTests(backend);
    lifecycleTests(backend);
    outcomeTests(backend);
    schedulingTests(backend);
    handleTests(backend);
    groupTests(backend);
    hookTests(backend);
    resultTests(backend);
  });
}
