/**
 * The `minimal` Web Worker pool of W3/W4: the least a hand-written pool
 * needs (N workers, one message per task carrying an id, a Map of pending
 * resolvers), so the tables show how far osiiso's ThreadQueue is from the
 * floor. `window` is how many tasks each worker may hold at once: 1 is the
 * classic one-round-trip pool, more pipelines tasks so a worker never waits
 * for the main thread between two of them.
 *
 * @module
 */

type Resolvers = { resolve: (value: unknown) => void; reject: (error: unknown) => void };
type Message = [id: number, name: string, args: unknown[]];

/** N module workers running exports of `bench/tasks.ts`; no retries, no timeouts. */
export class MinimalWorkerPool {
  readonly #workers: Worker[] = [];
  readonly #inFlight: number[] = [];
  readonly #pending = new Map<number, Resolvers>();
  readonly #backlog: Message[] = [];
  readonly #window: number;
  #backlogHead = 0;
  #nextId = 0;
  #cursor = 0;

  constructor(size: number, window = 1) {
    this.#window = window;
    const url = new URL("./minimal_worker.ts", import.meta.url);
    for (let index = 0; index < size; index++) {
      const worker = new Worker(url, { type: "module" });
      worker.addEventListener("message", (event) => this.#receive(index, event.data));
      worker.addEventListener("error", (event) => {
        event.preventDefault();
        this.#failAll(event.error ?? new Error(event.message));
      });
      this.#workers.push(worker);
      this.#inFlight.push(0);
    }
  }

  /** Runs export `name` of bench/tasks.ts with `args` on some worker. */
  run(name: string, args: unknown[]): Promise<unknown> {
    const id = this.#nextId++;
    const promise = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    const message: Message = [id, name, args];
    // Round robin over the workers that have room; the rest waits in order.
    for (let tried = 0; tried < this.#workers.length; tried++) {
      const index = this.#cursor;
      this.#cursor = (this.#cursor + 1) % this.#workers.length;
      if (this.#inFlight[index] < this.#window) {
        this.#post(index, message);
        return promise;
      }
    }
    this.#backlog.push(message);
    return promise;
  }

  /** Ends every worker now. */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
  }

  #post(index: number, message: Message): void {
    this.#inFlight[index]++;
    this.#workers[index].postMessage(message);
  }

  #receive(index: number, [id, ok, value]: [number, boolean, unknown]): void {
    this.#inFlight[index]--;
    const resolvers = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#backlogHead < this.#backlog.length) {
      this.#post(index, this.#backlog[this.#backlogHead]);
      this.#backlog[this.#backlogHead++] = undefined as unknown as Message;
    }
    if (ok) resolvers?.resolve(value);
    else resolvers?.reject(value);
  }

  #failAll(error: unknown): void {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}
