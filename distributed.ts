/**
 * `@osiiso/osiiso/distributed`: the same queue API past one machine, over
 * BullMQ (Redis or Valkey). A {@linkcode DistributedQueue} submits tasks as
 * jobs; {@linkcode serveQueue} (or the `worker` command) runs them on any
 * number of machines. This entry, unlike `mod.ts`, depends on the npm
 * packages `bullmq` and `ioredis`.
 *
 * @example
 * ```ts ignore
 * import { DistributedQueue, serveQueue } from "@osiiso/osiiso/distributed";
 * const connection = "redis://127.0.0.1:6379";
 * const worker = await serveQueue({ name: "sums", connection, backend: "async", workers: 4 });
 * await using q = new DistributedQueue({ name: "sums", connection });
 * q.map((n: number) => n + 1, [1, 2, 3]);
 * console.log((await q.run()).succeeded); // 3
 * await worker.close();
 * ```
 *
 * @module
 */

export {
  DistributedQueue,
  type DistributedQueueOptions,
} from "./src/distributed/distributed_queue.ts";
export {
  type QueueWorker,
  serveQueue,
  type ServeQueueOptions,
  type WorkerBackend,
} from "./src/distributed/serve_queue.ts";
export {
  type RedisConnection,
  type RedisConnectionOptions,
  RedisUnavailableError,
} from "./src/distributed/connection.ts";
