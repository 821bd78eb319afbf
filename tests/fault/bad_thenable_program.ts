/**
 * A program whose task returns a thenable whose `then()` throws. Run in a
 * child process by `bad_input_test.ts`, because if the queue lets that throw
 * escape, it is an uncaught exception that ends the whole process (and a
 * test runner would blame whichever test runs next). Prints one JSON line
 * with both tasks' outcomes, then exits 0.
 *
 * @module
 */

import { AsyncQueue } from "../../mod.ts";

const q = new AsyncQueue({ workers: 1 });
const bad = q.submit(() =>
  ({
    then() {
      throw new Error("bad thenable");
    },
  }) as never
);
const good = q.submit(() => "still fine");
const guard = new Promise<string>((resolve) => setTimeout(() => resolve("hung"), 3_000));
const ended = await Promise.race([q.run().then(() => "ran"), guard]);
console.log(JSON.stringify({
  ended,
  bad: bad.done() ? { status: bad.status, message: bad.result().message } : { status: bad.status },
  good: good.done() ? good.status : "pending",
}));
await q.shutdown({ force: true });
process.exit(0);
