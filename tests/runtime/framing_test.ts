/**
 * Frames on a byte stream: reassembly across any chunking, zero-copy for
 * whole frames, stray bytes between frames set aside, foreign bytes (forged,
 * spliced or oversized frames) refused, and the builder that batches frames
 * into one write.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TaskSerializationError } from "../../src/core/errors.ts";
import { decodeValue } from "../../src/core/codec.ts";
import {
  appendMessageFrame,
  concatBytes,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_TRAILER_BYTES,
  FrameBuilder,
  FrameDecoder,
  type FrameHandlers,
  newFrameKey,
  writeFrameHeader,
} from "../../src/runtime/framing.ts";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytesOf = (value: string): Uint8Array => new TextEncoder().encode(value);

const KEY = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const frame = (payload: string | Uint8Array): Uint8Array =>
  encodeFrame(typeof payload === "string" ? bytesOf(payload) : payload, KEY);

/** Handlers that collect frames (copied) and stray text, and fail on foreign bytes. */
function collecting(): FrameHandlers & { frames: string[]; stray: string; foreign: Error[] } {
  const seen = {
    frames: [] as string[],
    stray: "",
    foreign: [] as Error[],
    onFrame: (payload: Uint8Array) => seen.frames.push(text(payload)),
    onStray: (bytes: Uint8Array) => seen.stray += text(bytes),
    onForeign: (error: Error) => seen.foreign.push(error),
  };
  return seen;
}

/** Feeds `stream` in chunks of `size` bytes; returns the frames, the stray text and foreign reports. */
function decodeInChunks(
  stream: Uint8Array,
  size: number,
): { frames: string[]; stray: string; foreign: Error[]; decoder: FrameDecoder } {
  const seen = collecting();
  const decoder = new FrameDecoder(KEY, seen);
  for (let offset = 0; offset < stream.length; offset += size) {
    decoder.push(stream.subarray(offset, offset + size));
  }
  return { frames: seen.frames, stray: seen.stray, foreign: seen.foreign, decoder };
}

describe("framing", () => {
  it("writes a header (magic, big-endian length, key), the payload, and the key again", () => {
    const bytes = frame("hey");
    assert.equal(bytes.length, FRAME_HEADER_BYTES + 3 + FRAME_TRAILER_BYTES);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x00, 0x6f, 0x73, 0x02, 0, 0, 0, 3]);
    assert.deepEqual([...bytes.subarray(8, 16)], [...KEY]);
    assert.equal(text(bytes.subarray(16, 19)), "hey");
    assert.deepEqual([...bytes.subarray(19)], [...KEY]);
    const big = new Uint8Array(16);
    writeFrameHeader(big, 0, 0x01020304, KEY);
    assert.deepEqual([...big.subarray(4, 8)], [1, 2, 3, 4]);
  });

  it("refuses a payload longer than a u32 can say", () => {
    assert.throws(() => writeFrameHeader(new Uint8Array(16), 0, 2 ** 32, KEY), RangeError);
    assert.throws(() => writeFrameHeader(new Uint8Array(16), 0, -1, KEY), RangeError);
  });

  it("makes a new random key each time", () => {
    const a = newFrameKey();
    assert.equal(a.length, 8);
    assert.notDeepEqual(a, newFrameKey());
  });

  it("reassembles frames split at every possible chunk size", () => {
    const messages = ["", "a", "hello world", "x".repeat(300), "ünïcödé ✓"];
    const stream = concatBytes(messages.map((message) => frame(message)));
    for (let size = 1; size <= stream.length; size++) {
      const { frames, stray } = decodeInChunks(stream, size);
      assert.deepEqual(frames, messages, `chunk size ${size}`);
      assert.equal(stray, "", `chunk size ${size}`);
    }
  });

  it("hands a frame that lies whole in one chunk over without copying it", () => {
    const stream = concatBytes([frame("one"), frame("two")]);
    const payloads: Uint8Array[] = [];
    new FrameDecoder(KEY, { onFrame: (payload) => payloads.push(payload), onForeign: assert.fail })
      .push(stream);
    assert.equal(payloads.length, 2);
    for (const payload of payloads) assert.equal(payload.buffer, stream.buffer);
  });

  it("assembles a large frame spread over many chunks once", () => {
    const payload = new Uint8Array(1 << 20).map((_, i) => i % 256);
    const bytes = frame(payload);
    const got: Uint8Array[] = [];
    const decoder = new FrameDecoder(KEY, { onFrame: (b) => got.push(b), onForeign: assert.fail });
    for (let offset = 0; offset < bytes.length; offset += 65_536) {
      decoder.push(bytes.subarray(offset, offset + 65_536));
    }
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], payload);
  });

  it("passes stray output before, between and after frames to onStray", () => {
    const stream = concatBytes([
      bytesOf("printed before\n"),
      frame("first"),
      bytesOf("printed between\n"),
      frame("second"),
      bytesOf("trailing"),
    ]);
    for (const size of [1, 3, 7, stream.length]) {
      const { frames, stray } = decodeInChunks(stream, size);
      assert.deepEqual(frames, ["first", "second"], `chunk size ${size}`);
      assert.equal(stray, "printed before\nprinted between\ntrailing", `chunk size ${size}`);
    }
  });

  it("treats a NUL byte that does not start the magic as stray, and resyncs", () => {
    const stream = concatBytes([
      Uint8Array.of(0x00, 0x41),
      Uint8Array.of(0x00, 0x6f, 0x42),
      frame("after noise"),
    ]);
    for (let size = 1; size <= stream.length; size++) {
      const frames: string[] = [];
      const stray: number[] = [];
      const decoder = new FrameDecoder(KEY, {
        onFrame: (payload) => frames.push(text(payload)),
        onStray: (bytes) => stray.push(...bytes),
        onForeign: assert.fail,
      });
      for (let offset = 0; offset < stream.length; offset += size) {
        decoder.push(stream.subarray(offset, offset + size));
      }
      assert.deepEqual(frames, ["after noise"], `chunk size ${size}`);
      assert.deepEqual(stray, [0x00, 0x41, 0x00, 0x6f, 0x42], `chunk size ${size}`);
    }
  });

  it("reports a stream cut inside a frame as partial", () => {
    const decoder = new FrameDecoder(KEY, { onFrame: () => {}, onForeign: assert.fail });
    const bytes = frame("cut short");
    decoder.push(bytes.subarray(0, 5));
    assert.equal(decoder.partial, true);
    decoder.push(bytes.subarray(5, 20));
    assert.equal(decoder.partial, true);
    decoder.push(bytes.subarray(20));
    assert.equal(decoder.partial, false);
  });
});

describe("framing: foreign bytes", () => {
  const otherKey = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);

  it("a forged frame (another key) is refused, and nothing after it is read", () => {
    const stream = concatBytes([
      frame("real"),
      encodeFrame(bytesOf("forged"), otherKey),
      frame("x"),
    ]);
    for (const size of [1, 5, stream.length]) {
      const { frames, foreign, decoder } = decodeInChunks(stream, size);
      assert.deepEqual(frames, ["real"], `chunk size ${size}`);
      assert.equal(foreign.length, 1);
      assert.match(foreign[0].message, /does not carry the key/);
      assert.equal(decoder.broken, true);
    }
  });

  it("8 header bytes claiming 2 GiB do not make the reader wait for them", () => {
    const header = Uint8Array.of(0x00, 0x6f, 0x73, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const { frames, foreign } = decodeInChunks(concatBytes([header, frame("late")]), 64);
    assert.deepEqual(frames, []);
    assert.equal(foreign.length, 1);
  });

  it("a header with the key but over the decoder's limit is refused", () => {
    const seen = collecting();
    new FrameDecoder(KEY, seen, 10).push(frame("x".repeat(11)));
    assert.deepEqual(seen.frames, []);
    assert.match(seen.foreign[0].message, /claims 11 bytes, over the limit of 10/);
  });

  it("bytes written into the middle of a frame are caught by its trailer", () => {
    const whole = frame("a long result ".repeat(20));
    const spliced = concatBytes([
      whole.subarray(0, 100),
      bytesOf("y\ny\ny\n"),
      whole.subarray(100),
    ]);
    for (const size of [3, 64, spliced.length]) {
      const { frames, foreign } = decodeInChunks(concatBytes([spliced, frame("next")]), size);
      assert.deepEqual(frames, [], `chunk size ${size}`);
      assert.match(foreign[0].message, /trailer is not the key/);
    }
  });

  it("without onStray, a stream that lost bytes (read by someone else) is caught", () => {
    const stream = concatBytes([frame("first"), frame("second"), frame("third")]);
    const cut = concatBytes([stream.subarray(0, 30), stream.subarray(40)]);
    for (const size of [1, 7, cut.length]) {
      const frames: string[] = [];
      const foreign: Error[] = [];
      const decoder = new FrameDecoder(KEY, {
        onFrame: (payload) => frames.push(text(payload)),
        onForeign: (error) => foreign.push(error),
      });
      for (let offset = 0; offset < cut.length; offset += size) {
        decoder.push(cut.subarray(offset, offset + size));
      }
      assert.deepEqual(frames, ["first"], `chunk size ${size}`);
      assert.equal(foreign.length, 1);
      assert.match(foreign[0].message, /bytes outside a frame/);
    }
  });
});

describe("FrameBuilder", () => {
  it("appendMessageFrame leaves no frame behind for a message over the limit", () => {
    const builder = new FrameBuilder(KEY, 16, 64);
    appendMessageFrame(builder, "small");
    const before = builder.length;
    assert.throws(
      () => appendMessageFrame(builder, "x".repeat(100)),
      (error: unknown) =>
        error instanceof TaskSerializationError &&
        /over the channel's limit of 64 bytes/.test(error.message),
    );
    assert.equal(builder.length, before, "the outbox is as it was");
    appendMessageFrame(builder, { after: true });
    const payloads: unknown[] = [];
    new FrameDecoder(KEY, {
      onFrame: (payload) => payloads.push(decodeValue(payload)),
      onForeign: assert.fail,
    }).push(builder.view());
    assert.deepEqual(payloads, ["small", { after: true }]);
  });

  function appendFrame(builder: FrameBuilder, payload: string): void {
    const start = builder.beginFrame();
    const bytes = bytesOf(payload);
    builder.room(bytes.length).set(bytes, builder.length);
    builder.advance(bytes.length);
    builder.endFrame(start);
  }

  it("collects frames for one write, growing as needed", () => {
    const builder = new FrameBuilder(KEY, 16);
    const messages = ["a", "b".repeat(100), "c"];
    for (const message of messages) appendFrame(builder, message);
    const { frames } = decodeInChunks(builder.take(), 5);
    assert.deepEqual(frames, messages);
    assert.equal(builder.length, 0, "take() empties it");
  });

  it("take() returns bytes the builder no longer writes to", () => {
    const builder = new FrameBuilder(KEY, 64);
    appendFrame(builder, "first");
    const taken = builder.take();
    appendFrame(builder, "second");
    const { frames } = decodeInChunks(taken, taken.length);
    assert.deepEqual(frames, ["first"]);
  });

  it("truncate() drops a frame begun and not finished", () => {
    const builder = new FrameBuilder(KEY);
    appendFrame(builder, "kept");
    const start = builder.beginFrame();
    builder.room(3);
    builder.advance(3);
    builder.truncate(start);
    appendFrame(builder, "also kept");
    const { frames } = decodeInChunks(builder.view(), 4);
    assert.deepEqual(frames, ["kept", "also kept"]);
    builder.clear();
    assert.equal(builder.length, 0);
  });
});
