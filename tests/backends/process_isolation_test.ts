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
