/**
 * Frames on a byte stream: reassembly across any chunking, zero-copy for
 * whole frames, stray bytes between frames set aside, and the builder that
 * batches frames into one write.
 *
 * @module
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  concatBytes,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FrameBuilder,
  FrameDecoder,
  sealFrame,
  writeFrameHeader,
} from "../../src/runtime/framing.ts";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytesOf = (value: string): Uint8Array => new TextEncoder().encode(value);

/** Feeds `stream` in chunks of `size` bytes; returns the frames (copied) and the stray text. */
function decodeInChunks(stream: Uint8Array, size: number): { frames: string[]; stray: string } {
  const frames: string[] = [];
  let stray = "";
  const decoder = new FrameDecoder(
    (payload) => frames.push(text(payload)),
    (bytes) => stray += text(bytes),
  );
  for (let offset = 0; offset < stream.length; offset += size) {
    decoder.push(stream.subarray(offset, offset + size));
  }
  assert.equal(decoder.partial, false, "no frame left half-read");
  return { frames, stray };
}

describe("framing", () => {
  it("writes an 8-byte header with magic bytes and a big-endian length", () => {
    const frame = encodeFrame(bytesOf("hey"));
    assert.equal(frame.length, FRAME_HEADER_BYTES + 3);
    assert.deepEqual([...frame.subarray(0, 8)], [0x00, 0x6f, 0x73, 0x01, 0, 0, 0, 3]);
    assert.equal(text(frame.subarray(8)), "hey");
    const big = new Uint8Array(8);
    writeFrameHeader(big, 0, 0x01020304);
    assert.deepEqual([...big.subarray(4)], [1, 2, 3, 4]);
  });

  it("refuses a payload longer than a u32 can say", () => {
    assert.throws(() => writeFrameHeader(new Uint8Array(8), 0, 2 ** 32), RangeError);
    assert.throws(() => writeFrameHeader(new Uint8Array(8), 0, -1), RangeError);
  });

  it("seals a frame in place without copying the payload", () => {
    const buffer = new Uint8Array(FRAME_HEADER_BYTES + 2);
    buffer.set([7, 9], FRAME_HEADER_BYTES);
    const frame = sealFrame(buffer);
    assert.equal(frame, buffer);
    let seen: number[] = [];
    new FrameDecoder((payload) => seen = [...payload]).push(frame);
    assert.deepEqual(seen, [7, 9]);
  });

  it("reassembles frames split at every possible chunk size", () => {
    const messages = ["", "a", "hello world", "x".repeat(300), "ünïcödé ✓"];
    const stream = concatBytes(messages.map((message) => encodeFrame(bytesOf(message))));
    for (let size = 1; size <= stream.length; size++) {
      const { frames, stray } = decodeInChunks(stream, size);
      assert.deepEqual(frames, messages, `chunk size ${size}`);
      assert.equal(stray, "", `chunk size ${size}`);
    }
  });

  it("hands a frame that lies whole in one chunk over without copying it", () => {
    const stream = concatBytes([encodeFrame(bytesOf("one")), encodeFrame(bytesOf("two"))]);
    const payloads: Uint8Array[] = [];
    new FrameDecoder((payload) => payloads.push(payload)).push(stream);
    assert.equal(payloads.length, 2);
    for (const payload of payloads) assert.equal(payload.buffer, stream.buffer);
  });

  it("assembles a large frame spread over many chunks once", () => {
    const payload = new Uint8Array(1 << 20).map((_, i) => i % 256);
    const frame = encodeFrame(payload);
    const got: Uint8Array[] = [];
    const decoder = new FrameDecoder((bytes) => got.push(bytes));
    for (let offset = 0; offset < frame.length; offset += 65_536) {
      decoder.push(frame.subarray(offset, offset + 65_536));
    }
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], payload);
  });

  it("passes stray output before, between and after frames to onStray", () => {
    const stream = concatBytes([
      bytesOf("printed before\n"),
      encodeFrame(bytesOf("first")),
      bytesOf("printed between\n"),
      encodeFrame(bytesOf("second")),
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
      encodeFrame(bytesOf("after noise")),
    ]);
    for (let size = 1; size <= stream.length; size++) {
      const frames: string[] = [];
      const stray: number[] = [];
      const decoder = new FrameDecoder(
        (payload) => frames.push(text(payload)),
        (bytes) => stray.push(...bytes),
      );
      for (let offset = 0; offset < stream.length; offset += size) {
        decoder.push(stream.subarray(offset, offset + size));
      }
      assert.deepEqual(frames, ["after noise"], `chunk size ${size}`);
      assert.deepEqual(stray, [0x00, 0x41, 0x00, 0x6f, 0x42], `chunk size ${size}`);
    }
  });

  it("reports a stream cut inside a frame as partial", () => {
    const decoder = new FrameDecoder(() => {});
    const frame = encodeFrame(bytesOf("cut short"));
    decoder.push(frame.subarray(0, 5));
    assert.equal(decoder.partial, true);
    decoder.push(frame.subarray(5, 12));
    assert.equal(decoder.partial, true);
    decoder.push(frame.subarray(12));
    assert.equal(decoder.partial, false);
  });
});

describe("FrameBuilder", () => {
  function appendFrame(builder: FrameBuilder, payload: string): void {
    const start = builder.beginFrame();
    const bytes = bytesOf(payload);
    builder.room(bytes.length).set(bytes, builder.length);
    builder.advance(bytes.length);
    builder.endFrame(start);
  }

  it("collects frames for one write, growing as needed", () => {
    const builder = new FrameBuilder(16);
    const messages = ["a", "b".repeat(100), "c"];
    for (const message of messages) appendFrame(builder, message);
    const { frames } = decodeInChunks(builder.take(), 5);
    assert.deepEqual(frames, messages);
    assert.equal(builder.length, 0, "take() empties it");
  });

  it("take() returns bytes the builder no longer writes to", () => {
    const builder = new FrameBuilder(64);
    appendFrame(builder, "first");
    const taken = builder.take();
    appendFrame(builder, "second");
    const { frames } = decodeInChunks(taken, taken.length);
    assert.deepEqual(frames, ["first"]);
  });

  it("truncate() drops a frame begun and not finished", () => {
    const builder = new FrameBuilder();
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
