/**
 * A private `redis-server` for one test file: its own free port and its own
 * directory, stopped and removed at the end. Tests never share an instance.
 * Needs Debian's `redis-server` package (`.ci/run` installs it); without it
 * the tests fail with a message saying how to install it.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A running private Redis. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** Stops it (SIGTERM: it writes its append-only file first) and starts it again, same port. */
  restart(downMs?: number): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

/** Options of {@linkcode startRedis}. */
export interface RedisServerOptions {
  /** `maxmemory-policy`; BullMQ needs `noeviction` (the default here). */
  maxmemoryPolicy?: string;
  /** More configuration, as `--name value` pairs. */
  extraArgs?: readonly string[];
}

const INSTALL_HINT =
  "redis-server is not installed; the distributed tests need Debian's package: " +
  "run `apt-get update && apt-get install -y redis-server` as root (.ci/run does this in CI)";

/** Throws with the install command when `redis-server` cannot be run. */
export function requireRedisServer(): void {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(INSTALL_HINT);
}

/** A TCP port nobody listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private `redis-server` with append-only persistence (so a
 * restart keeps the jobs) and resolves once it accepts connections.
 *
 * @example
 * ```ts
 * const redis = await startRedis();
 * try {
 *   console.log(redis.url);
 * } finally {
 *   await redis.stop();
 * }
 * ```
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  requireRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "osiiso-redis-"));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--maxmemory-policy",
    options.maxmemoryPolicy ?? "noeviction",
    ...(options.extraArgs ?? []),
  ];
  let child: ChildProcess | undefined;
  try {
    child = await launch(args);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    async restart(downMs = 300) {
      await terminate(child);
      await new Promise((resolve) => setTimeout(resolve, downMs));
      child = await launch(args);
    },
    async stop() {
      await terminate(child);
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function launch(args: string[]): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        child.stdout!.off("data", onData);
        // Keep draining, so a chatty server never blocks on a full pipe.
        child.stdout!.resume();
        child.off("exit", onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null) => {
      reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", onExit);
    child.on("error", (error) => reject(error));
  });
}

function terminate(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
