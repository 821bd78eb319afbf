/**
 * The Deno child of {@linkcode MinimalProcessPool}: length-prefixed JSON
 * frames `[id, exportName, args]` on stdin, `[id, ok, value]` on stdout.
 * The replies to everything one read brought are written together; EOF on
 * stdin ends it.
 *
 * @module
 */

import * as tasks from "../tasks.ts";
import { concat, decodeFrames, encodeFrame } from "./minimal_process_pool.ts";

type TaskName = keyof typeof tasks;

function answer(message: unknown): Uint8Array {
  const [id, name, args] = message as [number, TaskName, number[]];
  try {
    return encodeFrame([id, true, (tasks[name] as (...args: number[]) => number)(...args)]);
  } catch (error) {
    return encodeFrame([id, false, String(error)]);
  }
}

const writer = Deno.stdout.writable.getWriter();
let rest: Uint8Array = new Uint8Array(0);
for await (const chunk of Deno.stdin.readable) {
  const [messages, left] = decodeFrames(rest.length === 0 ? chunk : concat([rest, chunk]));
  rest = left.length === 0 ? new Uint8Array(0) : left.slice();
  if (messages.length > 0) await writer.write(concat(messages.map(answer)));
}
