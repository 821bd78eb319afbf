/**
 * Length-prefixed binary frames for a byte stream (a child's stdin/stdout),
 * and an incremental decoder.
 *
 * A frame is an 8-byte header, then the payload:
 *
 * ```text
 * 0x00 'o' 's' 0x01 | payload length, u32 big-endian | payload
 * ```
 *
 * The four magic bytes make the stream self-synchronising: bytes that do not
 * start with the magic at a frame boundary (something a task or one of its
 * own subprocesses wrote straight to the child's stdout) are handed to
 * `onStray` instead of being read as a length, so stray output between frames
 * cannot wedge or corrupt the protocol. Text output never contains a NUL
 * byte, so the scan for the next frame is a plain `indexOf(0)`.
 *
 * The decoder copies as little as it can: a frame that lies whole inside one
 * chunk is passed on as a `subarray` of that chunk (no copy); a frame split
 * across chunks is assembled once into a buffer of exactly its size.
 *
 * @module
 */

/**
 * Size of a frame header in bytes: four magic bytes and a u32 length.
 */
export const FRAME_HEADER_BYTES = 8;

/**
 * Largest payload a frame can carry (the length field is a u32).
 */
export const MAX_FRAME_BYTES = 0xffff_ffff;

const MAGIC_0 = 0x00;
const MAGIC_1 = 0x6f; // "o"
const MAGIC_2 = 0x73; // "s"
const MAGIC_3 = 0x01;

/**
 * Writes a frame header for `payloadLength` bytes into `target` at `offset`.
 */
export function writeFrameHeader(target: Uint8Array, offset: number, payloadLength: number): void {
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
}

/**
 * Turns a buffer whose first {@linkcode FRAME_HEADER_BYTES} bytes were left
 * free (see `encode(value, headroom)` in `codec.ts`) into a frame, in place:
 * the payload is not copied.
 */
export function sealFrame(buffer: Uint8Array): Uint8Array {
  writeFrameHeader(buffer, 0, buffer.length - FRAME_HEADER_BYTES);
  return buffer;
}

/**
 * Frames `payload` (one copy). Prefer {@linkcode sealFrame} when the payload
 * can be produced with header room in front of it.
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeFrameHeader(frame, 0, payload.length);
  frame.set(payload, FRAME_HEADER_BYTES);
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

/**
 * Reassembles frames from a byte stream delivered in arbitrary chunks.
 * `onFrame` gets each payload as soon as it is complete (a view into the
 * chunk when possible, so it must be consumed or copied before the chunk's
 * memory is reused); `onStray` gets bytes that are not part of any frame.
 */
export class FrameDecoder {
  readonly #onFrame: (payload: Uint8Array) => void;
  readonly #onStray: (bytes: Uint8Array) => void;
  /** Header bytes (or magic candidates) carried over from the previous chunk. */
  #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  /** The payload being assembled across chunks, and how much of it has arrived. */
  #payload: Uint8Array | null = null;
  #payloadFill = 0;

  /**
   * @param onFrame Called with each complete payload.
   * @param onStray Called with bytes found between frames (default: dropped).
   */
  constructor(
    onFrame: (payload: Uint8Array) => void,
    onStray: (bytes: Uint8Array) => void = () => {},
  ) {
    this.#onFrame = onFrame;
    this.#onStray = onStray;
  }

  /** Whether the decoder holds part of a frame (a stream that ends now was cut short). */
  get partial(): boolean {
    return this.#headerFill > 0 || this.#payload !== null;
  }

  /**
   * Feeds the next chunk of the stream.
   */
  push(chunk: Uint8Array): void {
    let offset = 0;
    const end = chunk.length;
    while (offset < end) {
      if (this.#payload !== null) {
        offset = this.#fillPayload(chunk, offset);
        continue;
      }
      if (this.#headerFill === 0) {
        // Fast path: a whole header, and often the whole frame, in this chunk.
        if (end - offset >= FRAME_HEADER_BYTES && isMagicAt(chunk, offset)) {
          const length = readLength(chunk, offset + 4);
          const start = offset + FRAME_HEADER_BYTES;
          if (end - start >= length) {
            this.#onFrame(chunk.subarray(start, start + length));
            offset = start + length;
          } else {
            this.#payload = new Uint8Array(length);
            this.#payloadFill = 0;
            offset = this.#fillPayload(chunk, start);
          }
          continue;
        }
        offset = this.#skipStray(chunk, offset);
        if (offset >= end) break;
      }
      offset = this.#fillHeader(chunk, offset);
    }
  }

  /** Passes bytes up to the next possible frame start to `onStray`; returns that offset. */
  #skipStray(chunk: Uint8Array, offset: number): number {
    if (chunk[offset] === MAGIC_0) return offset;
    let next = chunk.indexOf(MAGIC_0, offset + 1);
    if (next < 0) next = chunk.length;
    this.#onStray(chunk.subarray(offset, next));
    return next;
  }

  /** Collects header bytes (which may span chunks); returns the new offset. */
  #fillHeader(chunk: Uint8Array, offset: number): number {
    const header = this.#header;
    while (this.#headerFill < FRAME_HEADER_BYTES && offset < chunk.length) {
      const byte = chunk[offset++];
      const at = this.#headerFill;
      if (at < 4 && byte !== MAGIC[at]) {
        // Not a frame after all: what was held is stray output. A NUL here may
        // still begin the real frame, so it is kept as a new candidate.
        const held = header.slice(0, at);
        this.#headerFill = 0;
        if (byte === MAGIC_0) {
          if (held.length > 0) this.#onStray(held);
          header[0] = byte;
          this.#headerFill = 1;
        } else {
          this.#onStray(concatBytes([held, Uint8Array.of(byte)]));
          return offset;
        }
        continue;
      }
      header[this.#headerFill++] = byte;
    }
    if (this.#headerFill === FRAME_HEADER_BYTES) {
      const length = readLength(header, 4);
      this.#headerFill = 0;
      if (length === 0) {
        this.#onFrame(new Uint8Array(0));
      } else {
        this.#payload = new Uint8Array(length);
        this.#payloadFill = 0;
      }
    }
    return offset;
  }

  /** Copies payload bytes into the frame being assembled; returns the new offset. */
  #fillPayload(chunk: Uint8Array, offset: number): number {
    const payload = this.#payload as Uint8Array;
    const take = Math.min(payload.length - this.#payloadFill, chunk.length - offset);
    payload.set(chunk.subarray(offset, offset + take), this.#payloadFill);
    this.#payloadFill += take;
    if (this.#payloadFill === payload.length) {
      this.#payload = null;
      this.#payloadFill = 0;
      this.#onFrame(payload);
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
  readonly #initialBytes: number;
  #bytes: Uint8Array;
  #length = 0;

  /** @param initialBytes Size of the first buffer (it grows as needed). */
  constructor(initialBytes: number = 1 << 16) {
    this.#initialBytes = initialBytes;
    this.#bytes = new Uint8Array(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** A buffer with at least `needed` free bytes after {@linkcode length} (it may move). */
  room(needed: number): Uint8Array {
    if (this.#bytes.length - this.#length < needed) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#length + needed));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    return this.#bytes;
  }

  /** Marks `count` more bytes as written. */
  advance(count: number): void {
    this.#length += count;
  }

  /** Reserves a frame header; returns where the frame starts (for {@linkcode endFrame}). */
  beginFrame(): number {
    this.room(FRAME_HEADER_BYTES);
    const start = this.#length;
    this.#length += FRAME_HEADER_BYTES;
    return start;
  }

  /** Completes the frame begun at `start`: everything written since is its payload. */
  endFrame(start: number): void {
    writeFrameHeader(this.#bytes, start, this.#length - start - FRAME_HEADER_BYTES);
  }

  /** Drops what was written after `length` (an encoding that failed half-way). */
  truncate(length: number): void {
    this.#length = Math.min(length, this.#length);
  }

  /** The bytes written so far, as a view that the next write may overwrite. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Empties the builder (after {@linkcode view} was written out synchronously). */
  clear(): void {
    this.#length = 0;
    if (this.#bytes.length > keepBytes) this.#bytes = new Uint8Array(this.#initialBytes);
  }

  /** The bytes written so far, as an array the builder no longer uses; empties it. */
  take(): Uint8Array {
    const length = this.#length;
    this.#length = 0;
    if (length <= keepBytes) return this.#bytes.slice(0, length);
    const taken = this.#bytes.subarray(0, length);
    this.#bytes = new Uint8Array(this.#initialBytes);
    return taken;
  }
}
