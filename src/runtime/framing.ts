/**
 * Length-prefixed binary frames for a byte stream (a child's stdin/stdout),
 * keyed so that bytes from anyone else cannot pass for a frame, and an
 * incremental decoder.
 *
 * A frame is a 16-byte header, the payload, and an 8-byte trailer:
 *
 * ```text
 * 0x00 'o' 's' 0x02 | payload length, u32 big-endian | key (8 bytes) | payload | key (8 bytes)
 * ```
 *
 * The key is 8 random bytes per child, which the parent writes first on the
 * child's stdin, before the child runs any task (so no subprocess of a task
 * has seen it). The channel is the child's stdin and stdout, which every
 * subprocess a task starts inherits: such a process may write to it (text,
 * stray bytes, a forged frame, a header claiming 2 GiB) or read from it.
 *
 * - Bytes that do not start with the magic at a frame boundary (a task's
 *   subprocess printing to the inherited stdout) are handed to `onStray`:
 *   text output never contains a NUL byte, so the scan for the next frame is
 *   a plain `indexOf(0)`.
 * - A header with the magic but not the key, or a length over the decoder's
 *   limit, a frame whose trailer is not the key (bytes written into the
 *   middle of a frame shift it), and on a stream only frames are written to
 *   (a child's stdin) any byte outside a frame (bytes went missing) are
 *   foreign: `onForeign` is told once and
 *   the decoder reads nothing more. The parent then fails that child; a
 *   child whose input was read by one of its subprocesses fails itself.
 *
 * The decoder copies as little as it can: a frame that lies whole inside one
 * chunk is passed on as a `subarray` of that chunk (no copy); a frame split
 * across chunks is assembled once into a buffer of exactly its size.
 *
 * @module
 */

import { TaskSerializationError } from "../core/errors.ts";
import { messageOf } from "../core/_util.ts";
import { encodeValueInto } from "../core/codec.ts";

/** Size of a frame key in bytes. */
export const FRAME_KEY_BYTES = 8;

/** Size of a frame header in bytes: four magic bytes, a u32 length and the key. */
export const FRAME_HEADER_BYTES = 8 + FRAME_KEY_BYTES;

/** Size of a frame trailer in bytes: the key again. */
export const FRAME_TRAILER_BYTES = FRAME_KEY_BYTES;

/** Largest payload a frame can carry (the length field is a u32). */
export const MAX_FRAME_BYTES = 0xffff_ffff;

const MAGIC_0 = 0x00;
const MAGIC_1 = 0x6f; // "o"
const MAGIC_2 = 0x73; // "s"
const MAGIC_3 = 0x02; // version 2: keyed frames

/** A new random frame key. */
export function newFrameKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(FRAME_KEY_BYTES));
}

/**
 * Writes a frame header for `payloadLength` bytes, keyed with `key`, into
 * `target` at `offset`.
 */
export function writeFrameHeader(
  target: Uint8Array,
  offset: number,
  payloadLength: number,
  key: Uint8Array,
): void {
  if (!(payloadLength >= 0 && payloadLength <= MAX_FRAME_BYTES)) {
    throw new RangeError(`frame payload of ${payloadLength} bytes exceeds ${MAX_FRAME_BYTES}`);
  }
  target[offset] = MAGIC_0;
  target[offset + 1] = MAGIC_1;
  target[offset + 2] = MAGIC_2;
  target[offset + 3] = MAGIC_3;
  target[offset + 4] = payloadLength >>> 24;
  target[offset + 5] = (payloadLength >>> 16) & 0xff;
  target[offset + 6] = (payloadLength >>> 8) & 0xff;
  target[offset + 7] = payloadLength & 0xff;
  target.set(key, offset + 8);
}

/** Frames `payload` with `key` (one copy; the builder below frames without one). */
export function encodeFrame(payload: Uint8Array, key: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length + FRAME_TRAILER_BYTES);
  writeFrameHeader(frame, 0, payload.length, key);
  frame.set(payload, FRAME_HEADER_BYTES);
  frame.set(key, FRAME_HEADER_BYTES + payload.length);
  return frame;
}

/**
 * Concatenates several byte arrays into one (used to write many small frames
 * with one system call).
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (const part of parts) total += part.length;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** What a {@linkcode FrameDecoder} calls. */
export interface FrameHandlers {
  /** Each complete payload (a view into the chunk when possible: consume or copy it at once). */
  readonly onFrame: (payload: Uint8Array) => void;
  /**
   * Bytes found between frames. Without it, such bytes are foreign: a
   * stream only frames are written to (a child's stdin) that holds any has
   * lost bytes to another reader.
   */
  readonly onStray?: (bytes: Uint8Array) => void;
  /** Bytes that claim to be a frame and are not one; called once, then the decoder stops. */
  readonly onForeign: (error: Error) => void;
}

/**
 * Reassembles frames keyed with `key` from a byte stream delivered in
 * arbitrary chunks (see the module documentation for what is foreign).
 */
export class FrameDecoder {
  private readonly key: Uint8Array;
  private readonly maxPayload: number;
  private readonly onFrame: (payload: Uint8Array) => void;
  private readonly onStray: (bytes: Uint8Array) => void;
  private readonly onForeign: (error: Error) => void;
  /** Header bytes (or magic candidates) carried over from the previous chunk. */
  private header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** The payload and trailer being assembled across chunks, and how much has arrived. */
  private payload: Uint8Array | null = null;
  private payloadFill = 0;
  private isBroken = false;

  /**
   * @param key The key every frame must carry.
   * @param handlers Where frames, stray bytes and foreign bytes go.
   * @param maxPayloadBytes Longest payload a header may claim.
   */
  constructor(key: Uint8Array, handlers: FrameHandlers, maxPayloadBytes = MAX_FRAME_BYTES) {
    this.key = key;
    this.maxPayload = maxPayloadBytes;
    this.onFrame = handlers.onFrame;
    this.onStray = handlers.onStray ?? (() => this.foreign("is missing: bytes outside a frame"));
    this.onForeign = handlers.onForeign;
  }

  /** Whether the decoder holds part of a frame (a stream that ends now was cut short). */
  get partial(): boolean {
    return !this.isBroken && (this.headerFill > 0 || this.payload !== null);
  }

  /** Whether foreign bytes were found (the decoder reads nothing more). */
  get broken(): boolean {
    return this.isBroken;
  }

  /**
   * Feeds the next chunk of the stream.
   */
  push(chunk: Uint8Array): void {
    let offset = 0;
    const end = chunk.length;
    while (offset < end && !this.isBroken) {
      if (this.payload !== null) {
        offset = this.fillPayload(chunk, offset);
        continue;
      }
      if (this.headerFill === 0) {
        // Fast path: a whole header, and often the whole frame, in this chunk.
        if (end - offset >= FRAME_HEADER_BYTES && isMagicAt(chunk, offset)) {
          const length = this.checkHeader(chunk, offset);
          if (length < 0) return;
          const start = offset + FRAME_HEADER_BYTES;
          const trailer = start + length;
          if (end - trailer >= FRAME_TRAILER_BYTES) {
            if (!this.keyAt(chunk, trailer)) return this.foreign("its trailer is not the key");
            this.onFrame(chunk.subarray(start, trailer));
            offset = trailer + FRAME_TRAILER_BYTES;
          } else {
            this.payload = new Uint8Array(length + FRAME_TRAILER_BYTES);
            this.payloadFill = 0;
            offset = this.fillPayload(chunk, start);
          }
          continue;
        }
        offset = this.skipStray(chunk, offset);
        if (offset >= end) break;
      }
      offset = this.fillHeader(chunk, offset);
    }
  }

  private keyAt(bytes: Uint8Array, offset: number): boolean {
    const key = this.key;
    for (let index = 0; index < FRAME_KEY_BYTES; index++) {
      if (bytes[offset + index] !== key[index]) return false;
    }
    return true;
  }

  private foreign(why: string): void {
    if (this.isBroken) return;
    this.isBroken = true;
    this.payload = null;
    this.headerFill = 0;
    this.onForeign(new Error(`foreign bytes on the channel: a frame ${why}`));
  }

  /** The payload length of the header at `offset`, or -1 (and foreign) if it is not ours. */
  private checkHeader(bytes: Uint8Array, offset: number): number {
    if (!this.keyAt(bytes, offset + 8)) {
      this.foreign("header does not carry the key");
      return -1;
    }
    const length = readLength(bytes, offset + 4);
    if (length > this.maxPayload) {
      this.foreign(`header claims ${length} bytes, over the limit of ${this.maxPayload}`);
      return -1;
    }
    return length;
  }

  /** Passes bytes up to the next possible frame start to `onStray`; returns that offset. */
  private skipStray(chunk: Uint8Array, offset: number): number {
    if (chunk[offset] === MAGIC_0) return offset;
    let next = chunk.indexOf(MAGIC_0, offset + 1);
    if (next < 0) next = chunk.length;
    this.onStray(chunk.subarray(offset, next));
    return next;
  }

  /** Collects header bytes (which may span chunks); returns the new offset. */
  private fillHeader(chunk: Uint8Array, offset: number): number {
    const header = this.header;
    while (this.headerFill < FRAME_HEADER_BYTES && offset < chunk.length) {
      const byte = chunk[offset++];
      const at = this.headerFill;
      if (at < 4 && byte !== MAGIC[at]) {
        // Not a frame after all: what was held is stray output. A NUL here may
        // still begin the real frame, so it is kept as a new candidate.
        const held = header.slice(0, at);
        this.headerFill = 0;
        if (byte === MAGIC_0) {
          if (held.length > 0) this.onStray(held);
          header[0] = byte;
          this.headerFill = 1;
        } else {
          this.onStray(concatBytes([held, Uint8Array.of(byte)]));
          return offset;
        }
        continue;
      }
      header[this.headerFill++] = byte;
    }
    if (this.headerFill === FRAME_HEADER_BYTES) {
      this.headerFill = 0;
      const length = this.checkHeader(header, 0);
      if (length >= 0) {
        this.payload = new Uint8Array(length + FRAME_TRAILER_BYTES);
        this.payloadFill = 0;
      }
    }
    return offset;
  }

  /** Copies payload and trailer bytes into the frame being assembled; returns the new offset. */
  private fillPayload(chunk: Uint8Array, offset: number): number {
    const payload = this.payload as Uint8Array;
    const take = Math.min(payload.length - this.payloadFill, chunk.length - offset);
    payload.set(chunk.subarray(offset, offset + take), this.payloadFill);
    this.payloadFill += take;
    if (this.payloadFill === payload.length) {
      this.payload = null;
      this.payloadFill = 0;
      const length = payload.length - FRAME_TRAILER_BYTES;
      if (!this.keyAt(payload, length)) {
        this.foreign("trailer is not the key");
      } else {
        this.onFrame(payload.subarray(0, length));
      }
    }
    return offset + take;
  }
}

const MAGIC = [MAGIC_0, MAGIC_1, MAGIC_2, MAGIC_3] as const;

function isMagicAt(bytes: Uint8Array, offset: number): boolean {
  return bytes[offset] === MAGIC_0 && bytes[offset + 1] === MAGIC_1 &&
    bytes[offset + 2] === MAGIC_2 && bytes[offset + 3] === MAGIC_3;
}

function readLength(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] << 24) >>> 0) + (bytes[offset + 1] << 16) + (bytes[offset + 2] << 8) +
    bytes[offset + 3];
}

/** A builder bigger than this gives its buffer away (or drops it) instead of keeping it. */
const keepBytes = 1 << 20;

/**
 * A growable buffer that collects frames, so that many messages go out with
 * one allocation and one write. It is a `ByteSink` for `encodeValueInto`
 * (see `codec.ts`).
 */
export class FrameBuilder {
  private readonly key: Uint8Array;
  private readonly maxPayload: number;
  private readonly initialBytes: number;
  private bytes: Uint8Array;
  private used = 0;

  /**
   * @param key The key the frames carry.
   * @param initialBytes Size of the first buffer (it grows as needed).
   * @param maxPayloadBytes Longest payload a frame may have.
   */
  constructor(key: Uint8Array, initialBytes: number = 1 << 16, maxPayloadBytes = MAX_FRAME_BYTES) {
    this.key = key;
    this.maxPayload = maxPayloadBytes;
    this.initialBytes = initialBytes;
    this.bytes = new Uint8Array(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.used;
  }

  /** A buffer with at least `needed` free bytes after {@linkcode length} (it may move). */
  room(needed: number): Uint8Array {
    if (this.bytes.length - this.used < needed) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + needed));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    return this.bytes;
  }

  /** Marks `count` more bytes as written. */
  advance(count: number): void {
    this.used += count;
  }

  /** Reserves a frame header; returns where the frame starts (for {@linkcode endFrame}). */
  beginFrame(): number {
    this.room(FRAME_HEADER_BYTES);
    const start = this.used;
    this.used += FRAME_HEADER_BYTES;
    return start;
  }

  /**
   * Completes the frame begun at `start`: everything written since is its
   * payload. Throws a `RangeError` naming the limit, and writes nothing,
   * when the payload is longer than the builder's limit.
   */
  endFrame(start: number): void {
    const length = this.used - start - FRAME_HEADER_BYTES;
    if (length > this.maxPayload) {
      throw new RangeError(
        `a message of ${length} bytes is over the channel's limit of ${this.maxPayload} bytes`,
      );
    }
    const bytes = this.room(FRAME_TRAILER_BYTES);
    writeFrameHeader(bytes, start, length, this.key);
    bytes.set(this.key, this.used);
    this.used += FRAME_TRAILER_BYTES;
  }

  /** Drops what was written after `length` (an encoding that failed half-way). */
  truncate(length: number): void {
    this.used = Math.min(length, this.used);
  }

  /** The bytes written so far, as a view that the next write may overwrite. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  /** Empties the builder (after {@linkcode view} was written out synchronously). */
  clear(): void {
    this.used = 0;
    if (this.bytes.length > keepBytes) this.bytes = new Uint8Array(this.initialBytes);
  }

  /** The bytes written so far, as an array the builder no longer uses; empties it. */
  take(): Uint8Array {
    const length = this.used;
    this.used = 0;
    if (length <= keepBytes) return this.bytes.slice(0, length);
    const taken = this.bytes.subarray(0, length);
    this.bytes = new Uint8Array(this.initialBytes);
    return taken;
  }
}

/**
 * Appends `message` to `outbox` as one frame of the byte codec, or nothing:
 * a value that cannot cross, or a message over the frame limit, leaves the
 * outbox as it was and throws `TaskSerializationError`.
 */
export function appendMessageFrame(outbox: FrameBuilder, message: unknown): void {
  const start = outbox.beginFrame();
  try {
    encodeValueInto(message, outbox);
    outbox.endFrame(start);
  } catch (error) {
    outbox.truncate(start);
    throw error instanceof TaskSerializationError
      ? error
      : new TaskSerializationError(messageOf(error));
  }
}
