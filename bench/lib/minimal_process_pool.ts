/**
 * The `minimal` subprocess pool of W5: the least a hand-written pool of
 * persistent children needs on each runtime, so the tables show how far
 * osiiso's ProcessQueue is from the floor. Each task is one message
 * `[id, exportName, args]` answered by `[id, ok, value]`, an export of
 * `bench/tasks.ts`; up to `window` tasks are in flight per child
 * (pipelined), the rest wait in order.
 *
 * - Bun: `Bun.spawn` with an IPC channel (JSON), one `send` per task.
 * - Deno: `Deno.Command` with length-prefixed JSON frames on stdin/stdout;
 *   frames written in the same tick go out as one write.
 *
 * @module
 */

type Resolvers = { resolve: (value: unknown) => void; reject: (error: unknown) => void };
type Request = [id: number, name: string, args: unknown[]];
type Reply = [id: number, ok: boolean, value: unknown];

/** One child process as the pool sees it. */
interface Channel {
  send(message: Request): void;
  close(): Promise<void>;
}

interface BunSubprocess {
  send(message: unknown): void;
  kill(): void;
  readonly exited: Promise<number>;
}

interface BunGlobal {
  spawn(options: {
    cmd: string[];
    stdio: ["ignore", "inherit", "inherit"];
    serialization: "json";
    ipc(message: unknown): void;
  }): BunSubprocess;
}

const bun = (globalThis as { Bun?: BunGlobal }).Bun;
const nodeProcess = (globalThis as unknown as { process: { execPath: string } }).process;

function scriptPath(name: string): string {
  return decodeURIComponent(new URL(name, import.meta.url).pathname);
}

function bunChannel(onReply: (reply: Reply) => void): Channel {
  const child = (bun as BunGlobal).spawn({
    cmd: [nodeProcess.execPath, scriptPath("./minimal_bun_child.ts")],
    stdio: ["ignore", "inherit", "inherit"],
    serialization: "json",
    ipc: (message) => onReply(message as Reply),
  });
  return {
    send: (message) => child.send(message),
    close: async () => {
      child.kill();
      await child.exited;
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Length-prefixed JSON: 4 bytes big-endian length, then the UTF-8 text. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = encoder.encode(JSON.stringify(message));
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Splits complete frames off `buffer`; returns the messages and the unread rest. */
export function decodeFrames(buffer: Uint8Array): [unknown[], Uint8Array] {
  const messages: unknown[] = [];
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let offset = 0;
  while (buffer.length - offset >= 4) {
    const length = view.getUint32(offset);
    if (buffer.length - offset - 4 < length) break;
    messages.push(JSON.parse(decoder.decode(buffer.subarray(offset + 4, offset + 4 + length))));
    offset += 4 + length;
  }
  return [messages, buffer.subarray(offset)];
}

/** Joins chunks into one buffer. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function denoChannel(onReply: (reply: Reply) => void): Channel {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", scriptPath("./minimal_deno_child.ts")],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  let outbox: Uint8Array[] = [];
  let writing = false;
  // One write per tick at most: frames queued meanwhile travel together.
  const flush = async (): Promise<void> => {
    while (outbox.length > 0) {
      const chunk = concat(outbox);
      outbox = [];
      await writer.write(chunk);
    }
    writing = false;
  };
  const reading = (async () => {
    let rest: Uint8Array = new Uint8Array(0);
    for await (const chunk of child.stdout) {
      const [messages, left] = decodeFrames(rest.length === 0 ? chunk : concat([rest, chunk]));
      rest = left.length === 0 ? new Uint8Array(0) : left.slice();
      for (const message of messages) onReply(message as Reply);
    }
  })();
  return {
    send: (message) => {
      outbox.push(encodeFrame(message));
      if (!writing) {
        writing = true;
        queueMicrotask(flush);
      }
    },
    close: async () => {
      // EOF on its stdin tells the child to end.
      await writer.close();
      await reading;
      await child.status;
    },
  };
}

/** N children of this runtime running exports of `bench/tasks.ts`; no retries, no timeouts. */
export class MinimalProcessPool {
  readonly #channels: Channel[] = [];
  readonly #inFlight: number[] = [];
  readonly #pending = new Map<number, Resolvers>();
  readonly #backlog: Request[] = [];
  readonly #window: number;
  #backlogHead = 0;
  #nextId = 0;
  #cursor = 0;

  constructor(size: number, window: number) {
    this.#window = window;
    for (let index = 0; index < size; index++) {
      const onReply = (reply: Reply): void => this.#receive(index, reply);
      this.#channels.push(bun === undefined ? denoChannel(onReply) : bunChannel(onReply));
      this.#inFlight.push(0);
    }
  }

  /** Runs export `name` of bench/tasks.ts with `args` in some child. */
  run(name: string, args: unknown[]): Promise<unknown> {
    const id = this.#nextId++;
    const promise = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    const request: Request = [id, name, args];
    for (let tried = 0; tried < this.#channels.length; tried++) {
      const index = this.#cursor;
      this.#cursor = (this.#cursor + 1) % this.#channels.length;
      if (this.#inFlight[index] < this.#window) {
        this.#send(index, request);
        return promise;
      }
    }
    this.#backlog.push(request);
    return promise;
  }

  /** Ends every child and waits for it to exit. */
  async close(): Promise<void> {
    await Promise.all(this.#channels.map((channel) => channel.close()));
  }

  #send(index: number, request: Request): void {
    this.#inFlight[index]++;
    this.#channels[index].send(request);
  }

  #receive(index: number, [id, ok, value]: Reply): void {
    this.#inFlight[index]--;
    const resolvers = this.#pending.get(id);
    this.#pending.delete(id);
    if (this.#backlogHead < this.#backlog.length) {
      this.#send(index, this.#backlog[this.#backlogHead]);
      this.#backlog[this.#backlogHead++] = undefined as unknown as Request;
    }
    if (ok) resolvers?.resolve(value);
    else resolvers?.reject(new Error(String(value)));
  }
}
