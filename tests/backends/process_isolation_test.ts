/**
 * What a ProcessQueue child can reach: never more than its parent (Deno
 * permissions, with their exceptions), and what it inherits of the parent's
 * environment and files.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";

import { ProcessQueue } from "../../src/backends/process_queue.ts";
import { TaskSerializationError, WorkerCrashedError } from "../../src/core/errors.ts";
import { useLeakCheck, withQueue } from "../helpers/leaks.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

const isDeno = "Deno" in globalThis;

/** What each case of `process_denies_main.ts` reported: probe answers or `error`. */
type Outcome = Record<string, Record<string, string>>;

/**
 * Runs `process_denies_main.ts` under `flags` in a directory holding
 * `open.txt` and `secret.txt` (`@SECRET@` in a flag stands for its path, `@DIR@` for the directory), with
 * `SECRET_TOKEN` set, and program arguments that look like permission flags.
 */
function deniesOutcome(flags: readonly string[]): Promise<Outcome> {
  return withTempDir("osiiso-denies-", (dir) => {
    writeFileSync(`${dir}/open.txt`, "open");
    writeFileSync(`${dir}/secret.txt`, "secret");
    const program = new URL("../fixtures/process_denies_main.ts", import.meta.url).pathname;
    const resolved = flags.map((flag) =>
      flag.replaceAll("@SECRET@", `${dir}/secret.txt`).replaceAll("@DIR@", dir)
    );
    const result = spawnSync(
      process.execPath,
      ["run", ...resolved, program, dir, "--allow-write", "-A", "--allow-all"],
      {
        cwd: dir,
        encoding: "utf8",
        timeout: 60_000,
        env: { ...process.env, SECRET_TOKEN: "token", NO_COLOR: "1" },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout.trim()) as Outcome;
  });
}

if (isDeno) {
  describe("Deno children never hold what their parent lacks", () => {
    it("partial denies pass on to 'inherit', 'true' and path lists; program arguments are not flags", async () => {
      const outcome = await deniesOutcome([
        "--allow-run",
        "--allow-read",
        "--deny-read=@SECRET@",
        "--allow-env",
        "--deny-env=SECRET_TOKEN",
      ]);
      for (const name of ["inherit", "readTrue", "readDirectory"]) {
        const child = outcome[name];
        assert.equal(child.open, "open", `${name}: ${JSON.stringify(child)}`);
        assert.equal(child.secret, "NotCapable", `${name}: the denied file stays denied`);
        assert.equal(child.token, "NotCapable", `${name}: the denied variable stays denied`);
      }
      assert.equal(outcome.inherit.home, "set", "the rest of env is inherited");
      assert.equal(outcome.inherit.write, "prompt", "'--allow-write' after the script is no flag");
      assert.equal(outcome.afterRevoke.home, "NotCapable", "a revoked permission is not passed on");
      assert.equal(outcome.afterRevoke.secret, "NotCapable");
    });

    it("under --allow-all with denies a child gets every permission but not --allow-all", async () => {
      const outcome = await deniesOutcome([
        "-A",
        "--deny-read=@SECRET@",
        "--deny-env=SECRET_TOKEN",
      ]);
      assert.equal(outcome.inherit.secret, "NotCapable", JSON.stringify(outcome.inherit));
      assert.equal(outcome.inherit.token, "NotCapable");
      assert.equal(outcome.inherit.write, "granted");
      assert.equal(outcome.inherit.readPartial, "true");
      assert.equal(outcome.readTrue.secret, "NotCapable");
    });

    it("exceptions that cannot be read fail closed, telling the user to pass 'permissions'", async () => {
      const deno = process.execPath;
      const outcome = await deniesOutcome([
        `--allow-run=${deno}`,
        "--allow-read",
        "--deny-read=@SECRET@",
        "--allow-env",
      ]);
      assert.match(
        outcome.inherit.error,
        /^InvalidStateError: Cannot start a child with this process's read permission: it has exceptions .* Pass the queue's 'permissions' option/,
      );
      assert.match(
        outcome.readTrue.error,
        /^RangeError: Cannot create queue as 'permissions\.read'/,
      );
      assert.match(outcome.readDirectory.error, /^RangeError: .*'permissions\.read'/);
    });

    it("relative paths in 'permissions' resolve against the child's cwd", async () => {
      const outcome = await deniesOutcome(["--allow-run", "--allow-read=@DIR@", "--allow-env"]);
      assert.equal(outcome.inherit.open, "open", "a scoped grant is inherited");
      assert.equal(outcome.inherit.readPartial, "false");
      assert.equal(outcome.readHere.relative, "open", JSON.stringify(outcome.readHere));
      assert.match(
        outcome.readHereFromRoot.error,
        /^RangeError: Cannot create queue as 'permissions\.read' must be within this process's own permissions: current value is '"\/"/,
      );
    });
  });
}

describe("ProcessQueue: what a child may send and receive", () => {
  useLeakCheck();

  it("a value too large for the channel fails its task, naming the limit, and nothing hangs", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      const started = performance.now();
      // Bun's IPC channel takes 256 MiB of JSON; Deno's frames take 4 GiB, so
      // there the argument crosses and the child's reply is what is checked.
      const size = isDeno ? 16 : 270 * 1024 * 1024;
      const big = q.submit((text: string) => text.length, ["x".repeat(size)]);
      const bigResult = q.submit((n: number) => "y".repeat(n), [270 * 1024 * 1024]);
      const after = q.submit(() => "after");
      await q.run();
      if (!isDeno) {
        assert.ok(big.result().exception instanceof TaskSerializationError, big.result().message);
        assert.match(big.result().message, /over the limit of 256 MiB/);
        assert.ok(bigResult.result().exception instanceof TaskSerializationError);
        assert.match(bigResult.result().message, /over the limit of 256 MiB/);
      } else {
        assert.equal(big.value(), 16);
        assert.equal(bigResult.value().length, 270 * 1024 * 1024);
      }
      assert.equal(after.value(), "after");
      assert.ok(performance.now() - started < 30_000, "no task waited for a timeout");
    });
  });
});

/**
 * A task (self-contained, sent as source) that runs `script` in `sh` with
 * the child's own stdin, stdout and stderr, as any subprocess of a task
 * would have them, then returns `value`.
 */
function viaSubprocess(script: string, value: string): string {
  const { spawnSync } = (globalThis as unknown as {
    process: { getBuiltinModule(name: string): typeof import("node:child_process") };
  }).process.getBuiltinModule("node:child_process");
  spawnSync("sh", ["-c", script], { stdio: "inherit" });
  return value;
}

describe("ProcessQueue: a task's subprocesses cannot forge, corrupt or stall replies", () => {
  useLeakCheck();

  /** On Deno the channel is the child's stdio: what was foreign ends the child instead. */
  function assertNotForged(
    result: { status: string; value?: unknown; exception?: unknown; message: string },
    real: string,
  ): void {
    if (result.status === "succeeded") {
      assert.equal(result.value, real, "a reply that succeeded is the task's own");
    } else {
      assert.ok(isDeno, `Bun's channel is not the child's stdio: ${result.message}`);
      assert.ok(result.exception instanceof WorkerCrashedError, result.message);
      assert.match(result.message, /foreign bytes on the channel/);
    }
  }

  it("a grandchild printing a forged frame to the inherited stdout", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      const forged = "\\000os\\002\\000\\000\\000\\005KKKKKKKKforgeKKKKKKKK";
      const h = q.submit(viaSubprocess, [`printf '${forged}'; sleep 0.2`, "real"]);
      await q.run();
      assertNotForged(h.result(), "real");
      if (isDeno) assert.equal(h.status, "failed");
    });
  });

  it("a grandchild writing a header that claims 2 GiB does not stall run()", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      const started = performance.now();
      const h = q.submit(viaSubprocess, [
        "printf '\\000os\\002\\200\\000\\000\\000'; sleep 0.2",
        "real",
      ]);
      const after = q.submit(() => "after");
      await q.run();
      assertNotForged(h.result(), "real");
      assert.equal(after.value(), "after");
      assert.ok(performance.now() - started < 15_000, "run() returned");
    });
  });

  it("a background subprocess spraying the inherited stdout never corrupts a result", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      // `yes` keeps writing while the child writes large replies: on Deno its
      // bytes land between frames (copied to stderr) or inside one (caught).
      q.submit(viaSubprocess, ["yes yes | head -c 150000 &", "started"]);
      const big = Array.from(
        { length: 20 },
        (_, i) => q.submit((n: number) => String(n % 10).repeat(200_000), [i]),
      );
      await q.run();
      for (const [i, h] of big.entries()) {
        assertNotForged(h.result(), String(i % 10).repeat(200_000));
      }
    });
  });

  it("a grandchild reading the inherited stdin ends the child instead of hanging it", async () => {
    await withQueue(() => new ProcessQueue({ workers: 1 }), async (q) => {
      const started = performance.now();
      const reader = q.submit(viaSubprocess, ["head -c 40 > /dev/null", "read"], {
        timeout: 2_000,
      });
      const later = Array.from(
        { length: 5 },
        (_, i) => q.submit((n: number) => n * 2, [i], { retries: 1 }),
      );
      await q.run();
      assert.ok(performance.now() - started < 15_000, "run() returned");
      for (const [i, h] of later.entries()) {
        if (h.status === "succeeded") assert.equal(h.value(), i * 2);
      }
      assert.notEqual(reader.status, "pending");
    });
  });
});

describe("ProcessQueue: what a child inherits", () => {
  useLeakCheck();

  it("inheritEnv: false starts children with only 'env' plus PATH", async () => {
    process.env.OSIISO_PARENT_SECRET = "secret";
    try {
      for (const inheritEnv of [true, false]) {
        await withQueue(
          () => new ProcessQueue({ workers: 1, inheritEnv, env: { ONLY: "given" } }),
          async (q) => {
            const h = q.submit(() =>
              Object.keys(
                (globalThis as unknown as { process: { env: Record<string, string> } }).process.env,
              ).sort()
            );
            await q.run();
            const names = h.value();
            assert.ok(names.includes("ONLY") && names.includes("PATH"), names.join(" "));
            if (inheritEnv) {
              assert.ok(names.includes("OSIISO_PARENT_SECRET"), "the default inherits everything");
            } else {
              assert.deepEqual(names, ["ONLY", "PATH"]);
            }
          },
        );
      }
    } finally {
      delete process.env.OSIISO_PARENT_SECRET;
    }
  });

  it("a child reads no bunfig.toml (preload) and no .env from its cwd", async () => {
    await withTempDir("osiiso-bunfig-", async (dir) => {
      writeFileSync(`${dir}/bunfig.toml`, 'preload = ["./preload.js"]\n');
      writeFileSync(
        `${dir}/preload.js`,
        `require("node:fs").writeFileSync(${JSON.stringify(`${dir}/preloaded`)}, "ran");\n`,
      );
      writeFileSync(`${dir}/.env`, "FROM_DOTENV=loaded\n");
      await withQueue(() => new ProcessQueue({ workers: 1, cwd: dir }), async (q) => {
        const h = q.submit((marker: string) => {
          const { existsSync } = (globalThis as unknown as {
            process: { getBuiltinModule(name: string): typeof import("node:fs") };
          }).process.getBuiltinModule("node:fs");
          const env = (globalThis as unknown as { process: { env: Record<string, string> } })
            .process.env;
          return { dotenv: env.FROM_DOTENV ?? "unset", preloaded: existsSync(marker) };
        }, [`${dir}/preloaded`]);
        await q.run();
        assert.deepEqual(h.value(), { dotenv: "unset", preloaded: false });
      });
    });
  });
});
