/**
 * Runtime detection: which runtime this is, and whether the program runs as
 * a standalone executable (where ProcessQueue cannot start children).
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isStandaloneExecutable, runtimeName } from "../../src/runtime/detect.ts";

const here = "file:///home/user/app/node_modules/osiiso/src/runtime/detect.ts";

describe("runtime detection", () => {
  it("names the runtime by its own global, not by `process`", () => {
    assert.equal(runtimeName, "Deno" in globalThis ? "deno" : "bun");
  });

  it("a program run by the runtime is not a standalone executable", () => {
    assert.equal(isStandaloneExecutable(), false);
  });

  it("deno compile: Deno.build.standalone", () => {
    assert.equal(isStandaloneExecutable({ Deno: { build: { standalone: true } } }, here), true);
    assert.equal(isStandaloneExecutable({ Deno: { build: { standalone: false } } }, here), false);
  });

  it("bun build --compile: Bun.isStandaloneExecutable, or the embedded file system's URLs", () => {
    assert.equal(isStandaloneExecutable({ Bun: { isStandaloneExecutable: true } }, here), true);
    assert.equal(isStandaloneExecutable({ Bun: { isStandaloneExecutable: false } }, here), false);
    assert.equal(isStandaloneExecutable({ Bun: {} }, "file:///$bunfs/root/app"), true);
    assert.equal(isStandaloneExecutable({ Bun: {} }, "file:///B:/~BUN/root/app.exe"), true);
    assert.equal(isStandaloneExecutable({ Bun: {} }, here), false);
    // Those paths mean nothing on another runtime.
    assert.equal(isStandaloneExecutable({}, "file:///$bunfs/root/app"), false);
  });
});
