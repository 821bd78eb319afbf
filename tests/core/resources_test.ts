import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  abandonedLabels,
  countTimer,
  forgetAbandoned,
  liveResourceLabels,
  liveResources,
  recordAbandoned,
  releaseResource,
  type ResourceKind,
  trackResource,
} from "../../src/core/resources.ts";

const KINDS: ResourceKind[] = ["timers", "workers", "children", "listeners"];

/** Counts now minus `baseline`, per kind. */
function grownSince(
  baseline: Readonly<Record<ResourceKind, number>>,
): Record<ResourceKind, number> {
  const now = liveResources();
  return Object.fromEntries(KINDS.map((kind) => [kind, now[kind] - baseline[kind]])) as Record<
    ResourceKind,
    number
  >;
}

const NONE = { timers: 0, workers: 0, children: 0, listeners: 0 };

describe("resource ledger", () => {
  it("liveResources() has a count for each kind", () => {
    assert.deepEqual(Object.keys(liveResources()).sort(), [...KINDS].sort());
    for (const count of Object.values(liveResources())) assert.ok(Number.isInteger(count));
  });

  it("liveResources() returns a snapshot, not the live ledger", () => {
    const snapshot = liveResources();
    const before = snapshot.workers;
    const token = trackResource("workers", "snapshot test");
    try {
      assert.equal(snapshot.workers, before);
      assert.equal(liveResources().workers, before + 1);
    } finally {
      releaseResource(token);
    }
    (snapshot as Record<ResourceKind, number>).workers = 999;
    assert.equal(liveResources().workers, before);
  });

  it("trackResource() counts by kind and releaseResource() uncounts", () => {
    const baseline = liveResources();
    const tokens = [
      trackResource("workers", "worker 1"),
      trackResource("workers", "worker 2"),
      trackResource("children", "child 42"),
      trackResource("listeners", "SIGINT"),
      trackResource("timers", "idle timer"),
    ];
    try {
      assert.deepEqual(grownSince(baseline), { timers: 1, workers: 2, children: 1, listeners: 1 });
      releaseResource(tokens[0]);
      assert.deepEqual(grownSince(baseline), { timers: 1, workers: 1, children: 1, listeners: 1 });
    } finally {
      for (const token of tokens) releaseResource(token);
    }
    assert.deepEqual(grownSince(baseline), NONE);
  });

  it("gives a different token for every resource", () => {
    const tokens = Array.from({ length: 10 }, (_, i) => trackResource("children", `child ${i}`));
    try {
      assert.equal(new Set(tokens).size, 10);
    } finally {
      for (const token of tokens) releaseResource(token);
    }
  });

  it("releasing a token twice, or an unknown token, is harmless", () => {
    const baseline = liveResources();
    const kept = trackResource("workers", "kept");
    const token = trackResource("workers", "released twice");
    try {
      releaseResource(token);
      releaseResource(token);
      releaseResource(-1);
      releaseResource(123_456_789);
      assert.deepEqual(grownSince(baseline), { ...NONE, workers: 1 });
    } finally {
      releaseResource(kept);
    }
    assert.deepEqual(grownSince(baseline), NONE);
  });

  it("liveResourceLabels() names each tracked resource until it is released", () => {
    const token = trackResource("children", "child pid 4242");
    try {
      assert.ok(liveResourceLabels().includes("children: child pid 4242"));
    } finally {
      releaseResource(token);
    }
    assert.equal(liveResourceLabels().includes("children: child pid 4242"), false);
  });

  it("countTimer() moves the timer count without a label", () => {
    const baseline = liveResources();
    const labels = liveResourceLabels().length;
    countTimer(1);
    countTimer(1);
    try {
      assert.deepEqual(grownSince(baseline), { ...NONE, timers: 2 });
      assert.equal(liveResourceLabels().length, labels);
    } finally {
      countTimer(-1);
      countTimer(-1);
    }
    assert.deepEqual(grownSince(baseline), NONE);
  });
});

describe("abandoned workers", () => {
  it("recordAbandoned() lists a label until forgetAbandoned()", () => {
    const before = abandonedLabels().length;
    const a = recordAbandoned("worker 3 stuck in task 'spin'");
    const b = recordAbandoned("worker 4 stuck in task 'loop'");
    try {
      assert.notEqual(a, b);
      const labels = abandonedLabels();
      assert.equal(labels.length, before + 2);
      assert.ok(labels.includes("worker 3 stuck in task 'spin'"));
      assert.ok(labels.includes("worker 4 stuck in task 'loop'"));
      forgetAbandoned(a);
      assert.equal(abandonedLabels().includes("worker 3 stuck in task 'spin'"), false);
      assert.equal(abandonedLabels().length, before + 1);
    } finally {
      forgetAbandoned(a);
      forgetAbandoned(b);
    }
    assert.equal(abandonedLabels().length, before);
  });

  it("forgetting twice, or an unknown token, is harmless", () => {
    const before = abandonedLabels().length;
    const token = recordAbandoned("gone");
    forgetAbandoned(token);
    forgetAbandoned(token);
    forgetAbandoned(-5);
    assert.equal(abandonedLabels().length, before);
  });

  it("does not count abandoned workers as live resources", () => {
    const baseline = liveResources();
    const token = recordAbandoned("not counted");
    try {
      assert.deepEqual(grownSince(baseline), NONE);
    } finally {
      forgetAbandoned(token);
    }
  });

  it("abandonedLabels() returns a copy", () => {
    const token = recordAbandoned("copy test");
    try {
      const labels = abandonedLabels();
      labels.length = 0;
      assert.ok(abandonedLabels().includes("copy test"));
    } finally {
      forgetAbandoned(token);
    }
  });
});
