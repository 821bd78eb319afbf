import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  absolutePath,
  checkChildPermissions,
  type ChildPermissionName,
  type HeldPermission,
} from "../../src/runtime/child_contract.ts";

/** A process that holds `read` in full and `net` for one host only. */
const held: HeldPermission = (name: ChildPermissionName, item?: string) =>
  name === "read" || (name === "net" && item === "api.example.com");

describe("checkChildPermissions", () => {
  it("returns a valid value unchanged", () => {
    const scoped = { read: true, net: ["api.example.com"], env: false, run: "inherit" } as const;
    assert.equal(checkChildPermissions("inherit", held), "inherit");
    assert.equal(checkChildPermissions("none", held), "none");
    assert.equal(checkChildPermissions(scoped, held), scoped);
  });

  it("names every unknown permission, sorted, in one message", () => {
    assert.throws(
      () => checkChildPermissions({ zz: true, read: true, aa: 1 }),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message === "Unknown permission name(s): aa, zz",
    );
  });

  it("rejects a malformed value with the house message", () => {
    assert.throws(
      () => checkChildPermissions(["read"]),
      /^TypeError: Cannot create queue as 'permissions' must be 'inherit', 'none' or an object: current value is /,
    );
    assert.throws(
      () => checkChildPermissions({ write: ["/tmp", 3] }),
      /^TypeError: Cannot create queue as 'permissions\.write' must be 'inherit', a boolean or an array of strings/,
    );
  });

  it("without what this process holds (Bun), checks the shape only", () => {
    const wide = { write: true, net: ["anywhere.example"] };
    assert.equal(checkChildPermissions(wide), wide);
  });

  it("refuses a grant this process lacks with a RangeError", () => {
    assert.throws(
      () => checkChildPermissions({ write: true }, held),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message ===
          "Cannot create queue as 'permissions.write' must be within this process's own permissions: current value is true",
    );
    assert.throws(
      () => checkChildPermissions({ net: ["api.example.com", "other.example"] }, held),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message.includes(`'"other.example" (not granted here, or granted with exceptions`),
    );
  });

  it("with what this process holds, resolves relative paths against the child's cwd", () => {
    const paths: string[] = [];
    const recording: HeldPermission = (name, item) => {
      if (item !== undefined) paths.push(`${name}:${item}`);
      return true;
    };
    const checked = checkChildPermissions(
      { read: [".", "/etc/hosts"], write: ["../out"], run: ["./bin/tool", "git"], env: ["."] },
      recording,
      "/srv/app",
    );
    assert.deepEqual(checked, {
      read: ["/srv/app", "/etc/hosts"],
      write: ["/srv/out"],
      run: ["/srv/app/bin/tool", "git"],
      env: ["."],
    });
    assert.deepEqual(paths, [
      "read:/srv/app",
      "read:/etc/hosts",
      "write:/srv/out",
      "env:.",
      "run:/srv/app/bin/tool",
      "run:git",
    ]);
  });

  it("checks permissions in a fixed order, whatever the object's key order", () => {
    assert.throws(
      () => checkChildPermissions({ net: 5, read: ["x"], write: true }, held),
      (error: unknown) =>
        error instanceof RangeError && error.message.includes("'permissions.write'"),
    );
  });
});

describe("absolutePath", () => {
  it("resolves against an absolute base and normalises . and ..", () => {
    assert.equal(absolutePath("/srv/app", "data"), "/srv/app/data");
    assert.equal(absolutePath("/srv/app", "./a/../b/"), "/srv/app/b");
    assert.equal(absolutePath("/srv/app", "../../../etc"), "/etc");
    assert.equal(absolutePath("/srv/app", "/tmp//x/."), "/tmp/x");
  });

  it("resolves a relative or missing base against the current directory", () => {
    const here = (globalThis as unknown as { process: { cwd(): string } }).process.cwd();
    assert.equal(absolutePath(undefined, "x"), `${here}/x`);
    assert.equal(absolutePath("sub", "x"), `${here}/sub/x`);
  });
});
