/**
 * How values cross between a parent and its child processes: a tagged JSON
 * encoding with a binary side section, chosen because it was the fastest
 * correct option on both runtimes (measured against `node:v8` serialize, which
 * loses `Error` fields on both and `cause` on Bun, and whose bytes differ
 * between Deno and Bun, and against the runtimes' structured-clone IPC).
 *
 * What crosses, with structured-clone fidelity or better:
 * everything JSON carries, plus `undefined`, `NaN`, `±Infinity`, `-0`,
 * `BigInt`, `Date`, `RegExp`, `Map`, `Set`, boxed primitives, `ArrayBuffer`,
 * every typed array and `DataView`, `Error`s (class, `name`, `message`,
 * `stack`, `cause`, `AggregateError.errors` and own data fields), class
 * instances (as plain objects, as structured clone does), shared references
 * and cycles. Anything else — functions, symbols, promises, weak collections,
 * `SharedArrayBuffer`, platform objects such as `URL` or streams — throws a
 * `TaskSerializationError` that names the value and where it was found.
 *
 * The encoding: plain JSON for everything JSON can say as is, and for the
 * rest an object with the reserved key `"\u0000"` (`{"\u0000": "D", "v": 0}`
 * is a `Date`). A value that needs no tag is passed to `JSON.stringify`
 * without being copied, and a message without tags is read back with one
 * `JSON.parse`. The bytes of buffers travel outside the JSON, after it (and
 * are copied out on arrival, so a value owns exactly its own bytes); over a
 * JSON-only channel (Bun's IPC) they travel as base64.
 *
 * Byte layout of {@linkcode encodeValue}:
 *
 * ```text
 * [headroom] flags:u8 blobCount:u32 jsonBytes:u32 blobBytes:u32×blobCount
 *            json (UTF-8)  blob₀ blob₁ …
 * ```
 *
 * @module
 */

import { TaskSerializationError } from "./errors.ts";
import { isError } from "./_util.ts";
import {
  defineOwn,
  errorClassName,
  errorText,
  forEachErrorField,
  rebuildError,
} from "./error_codec.ts";

/** The reserved key that marks a tagged value. */
const TAG = "\u0000";

const FLAG_TAGGED = 1;

/**
 * How the bytes of buffers travel in a tree made by {@linkcode toWire}:
 * `"base64"` for a JSON channel, `"raw"` (as `Uint8Array`s) for a
 * structured-clone channel.
 */
export type BinaryMode = "base64" | "raw";

/**
 * The JSON-safe form of a value made by {@linkcode toWire}: `[tagged ? 1 : 0, tree]`.
 */
export type WireValue = readonly [0 | 1, unknown];

type Tagged = { [TAG]: string; [key: string]: unknown };

const UNDEFINED_TAG: Tagged = Object.freeze({ [TAG]: "U" });

const typedArrays: Readonly<
  Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView>
> = Object.fromEntries(
  [
    "Int8Array",
    "Uint8Array",
    "Uint8ClampedArray",
    "Int16Array",
    "Uint16Array",
    "Int32Array",
    "Uint32Array",
    "Float16Array",
    "Float32Array",
    "Float64Array",
    "BigInt64Array",
    "BigUint64Array",
    "DataView",
  ].filter((name) => typeof (globalThis as Record<string, unknown>)[name] === "function")
    .map((name) => [name, (globalThis as Record<string, unknown>)[name]]),
) as never;

// --------------------------------------------------------------- encoding

/** Strings at least this long travel beside the JSON, as UTF-8, unescaped. */
const longString = 1 << 16;

/** State of one encoding pass. */
class Encoder {
  /**
   * Objects already seen, in order of first visit (for shared references and
   * cycles): a short list searched linearly, which beats a `Map` for the few
   * objects of a typical message, and a `Map` once there are many.
   */
  readonly seenList: object[] = [];
  seenMap: Map<object, number> | null = null;
  /** Buffers and long strings that travel beside the JSON. */
  readonly blobs: (Uint8Array | string)[] = [];
  tagged = false;
  busy = false;
  binary: BinaryMode | "blobs" = "blobs";
  /** A rough size of the JSON so far: string lengths plus 8 per value. */
  size = 0;
}

// One encoder is reused (a fresh Map per message costs more than the message);
// a getter that sends a value while another is being encoded gets its own.
const sharedEncoder = new Encoder();

function acquireEncoder(binary: BinaryMode | "blobs"): Encoder {
  const encoder = sharedEncoder.busy ? new Encoder() : sharedEncoder;
  encoder.busy = true;
  encoder.binary = binary;
  encoder.tagged = false;
  encoder.size = 0;
  return encoder;
}

const seenListLimit = 32;

/** The index under which `value` was first seen, or -1 (and it is recorded now). */
function seenBefore(encoder: Encoder, value: object): number {
  const map = encoder.seenMap;
  if (map !== null) {
    const earlier = map.get(value);
    if (earlier !== undefined) return earlier;
    map.set(value, map.size);
    return -1;
  }
  const list = encoder.seenList;
  const earlier = list.indexOf(value);
  if (earlier >= 0) return earlier;
  list.push(value);
  if (list.length > seenListLimit) {
    encoder.seenMap = new Map(list.map((object, index) => [object, index]));
  }
  return -1;
}

function releaseEncoder(encoder: Encoder): void {
  if (encoder.seenList.length > 0) encoder.seenList.length = 0;
  encoder.seenMap = null;
  if (encoder.blobs.length > 0) encoder.blobs.length = 0;
  encoder.busy = false;
}

function encodeAny(value: unknown, encoder: Encoder): unknown {
  encoder.size += 8;
  switch (typeof value) {
    case "string":
      encoder.size += value.length;
      // UTF-8 cannot carry a lone surrogate; such a string stays in the JSON (escaped).
      if (value.length < longString || encoder.binary !== "blobs" || !isWellFormed(value)) {
        return value;
      }
      encoder.tagged = true;
      return { [TAG]: "T", b: encoder.blobs.push(value) - 1 };
    case "boolean":
      return value;
    case "number":
      if (value !== 0 ? Number.isFinite(value) : !Object.is(value, -0)) return value;
      encoder.tagged = true;
      return { [TAG]: "N", v: String(Object.is(value, -0) ? "-0" : value) };
    case "undefined":
      encoder.tagged = true;
      return UNDEFINED_TAG;
    case "bigint":
      encoder.tagged = true;
      return { [TAG]: "B", v: value.toString() };
    case "object":
      return value === null ? null : encodeObject(value, encoder);
    default:
      throw new UnsupportedValue(value);
  }
}

function isWellFormed(text: string): boolean {
  const native = (text as string & { isWellFormed?: () => boolean }).isWellFormed;
  return typeof native === "function" ? native.call(text) : !/[\ud800-\udfff]/.test(text);
}

function encodeObject(value: object, encoder: Encoder): unknown {
  const earlier = seenBefore(encoder, value);
  if (earlier >= 0) {
    encoder.tagged = true;
    return { [TAG]: "r", i: earlier };
  }
  if (Array.isArray(value)) return encodeArray(value, encoder);
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    if (Object.hasOwn(value, TAG)) return encodeEscapedObject(value, encoder);
    return encodePlainObject(value as Record<string, unknown>, encoder, false);
  }
  encoder.tagged = true;
  return encodeSpecialObject(value, encoder);
}

function encodeArray(array: readonly unknown[], encoder: Encoder): unknown {
  let copy: unknown[] | null = null;
  const length = array.length;
  for (let index = 0; index < length; index++) {
    const item = array[index];
    if (item === undefined && !(index in array)) {
      return encodeHoleyArray(array, copy ?? array.slice(0, index), encoder);
    }
    const encoded = encodeAny(item, encoder);
    if (copy !== null) copy.push(encoded);
    else if (encoded !== item) {
      copy = array.slice(0, index);
      copy.push(encoded);
    }
  }
  return copy ?? array;
}

/**
 * An array with holes, from its first hole on: its dense start (encoded
 * already), then its remaining own keys (indices and named properties) with
 * their values, so `a[1e8] = 1` costs one entry, not 10⁸ `undefined`s.
 */
function encodeHoleyArray(array: readonly unknown[], start: unknown[], encoder: Encoder): unknown {
  encoder.tagged = true;
  const entries: unknown[] = [];
  for (const key of Object.keys(array)) {
    const index = Number(key);
    if (index < start.length && String(index) === key) continue;
    entries.push(key, encodeAny((array as unknown as Record<string, unknown>)[key], encoder));
  }
  return { [TAG]: "H", n: array.length, v: start, k: entries };
}

function encodePlainObject(
  object: Record<string, unknown>,
  encoder: Encoder,
  alwaysCopy: boolean,
): unknown {
  let copy: Record<string, unknown> | null = alwaysCopy ? {} : null;
  const keys = Object.keys(object);
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index];
    const item = object[key];
    const encoded = encodeAny(item, encoder);
    if (copy !== null) setOwn(copy, key, encoded);
    else if (encoded !== item) {
      copy = {};
      for (let before = 0; before < index; before++) {
        setOwn(copy, keys[before], object[keys[before]]);
      }
      setOwn(copy, key, encoded);
    }
  }
  return copy ?? object;
}

/** Assigns an own property; `__proto__` as a key must not set the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  } else {
    target[key] = value;
  }
}

/** A plain object that itself uses the reserved key: sent as a list of entries. */
function encodeEscapedObject(object: object, encoder: Encoder): unknown {
  encoder.tagged = true;
  const entries: unknown[] = [];
  for (const key of Object.keys(object)) {
    entries.push(key, encodeAny((object as Record<string, unknown>)[key], encoder));
  }
  return { [TAG]: "P", v: entries };
}

function encodeSpecialObject(value: object, encoder: Encoder): unknown {
  if (value instanceof Date) {
    const time = value.getTime();
    return { [TAG]: "D", v: Number.isNaN(time) ? null : time };
  }
  if (ArrayBuffer.isView(value)) {
    const name = viewClassName(value);
    const length = value instanceof DataView
      ? value.byteLength
      : (value as unknown as { length: number }).length;
    return {
      [TAG]: "V",
      c: name,
      b: encodeBuffer(value.buffer, encoder),
      o: value.byteOffset,
      n: length,
    };
  }
  if (value instanceof ArrayBuffer) return encodeBufferBytes(value, encoder);
  if (value instanceof Map) {
    const entries: unknown[] = [];
    for (const [key, item] of value) {
      entries.push(encodeAny(key, encoder), encodeAny(item, encoder));
    }
    return { [TAG]: "M", v: entries };
  }
  if (value instanceof Set) {
    const items: unknown[] = [];
    for (const item of value) items.push(encodeAny(item, encoder));
    return { [TAG]: "S", v: items };
  }
  if (isError(value)) return encodeError(value as Error & Record<string, unknown>, encoder);
  if (value instanceof RegExp) return { [TAG]: "R", s: value.source, f: value.flags };
  if (
    value instanceof Number || value instanceof String || value instanceof Boolean ||
    value instanceof BigInt
  ) {
    return { [TAG]: "X", v: encodeAny(value.valueOf(), encoder) };
  }
  // Class instances cross as plain objects (as structured clone does); objects
  // with an internal brand (URL, Promise, streams, …) cannot be rebuilt.
  if (Object.prototype.toString.call(value) === "[object Object]" && !isUnclonable(value)) {
    encoder.tagged = true;
    return encodePlainObject(value as Record<string, unknown>, encoder, true);
  }
  throw new UnsupportedValue(value);
}

function isUnclonable(value: object): boolean {
  return value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet ||
    (typeof WeakRef === "function" && value instanceof WeakRef);
}

function viewClassName(view: ArrayBufferView): string {
  for (
    let proto = Object.getPrototypeOf(view);
    proto !== null;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = Object.hasOwn(proto, "constructor") ? proto.constructor?.name : undefined;
    if (name !== undefined && typedArrays[name] === proto.constructor) return name;
  }
  throw new UnsupportedValue(view);
}

function encodeBuffer(buffer: ArrayBufferLike, encoder: Encoder): unknown {
  if (!(buffer instanceof ArrayBuffer)) {
    throw new UnsupportedValue(buffer);
  }
  const earlier = seenBefore(encoder, buffer);
  if (earlier >= 0) return { [TAG]: "r", i: earlier };
  return encodeBufferBytes(buffer, encoder);
}

/** The tag of a buffer already recorded as seen. */
function encodeBufferBytes(buffer: ArrayBuffer, encoder: Encoder): unknown {
  const bytes = new Uint8Array(buffer);
  if (encoder.binary === "base64") {
    const text = toBase64(bytes);
    encoder.size += text.length;
    return { [TAG]: "A", s: text };
  }
  if (encoder.binary === "raw") return { [TAG]: "A", u: bytes };
  return { [TAG]: "A", b: encoder.blobs.push(bytes) - 1 };
}

function encodeError(error: Error & Record<string, unknown>, encoder: Encoder): unknown {
  const { name, message, stack } = errorText(error);
  const tagged: Tagged = { [TAG]: "E", c: errorClassName(error), n: name, m: message };
  if (stack !== undefined) tagged.s = stack;
  if (Object.hasOwn(error, "cause")) tagged.k = encodeAny(error.cause, encoder);
  if (Array.isArray(error.errors)) tagged.e = encodeAny(error.errors, encoder);
  const fields: unknown[] = [];
  forEachErrorField(error, (key, value) => fields.push(key, encodeAny(value, encoder)));
  if (fields.length > 0) tagged.d = fields;
  return tagged;
}

/** Thrown inside the walk; turned into a `TaskSerializationError` with a path at the top. */
class UnsupportedValue extends Error {
  constructor(readonly value: unknown) {
    super("unsupported value");
  }
}

// --------------------------------------------------------------- decoding

/** State of one decoding pass. */
class Decoder {
  readonly objects: unknown[] = [];
  constructor(readonly blobs: readonly Uint8Array[]) {}
}

function decodeAny(value: unknown, decoder: Decoder): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    decoder.objects.push(value);
    for (let index = 0; index < value.length; index++) {
      const item = value[index];
      if (item !== null && typeof item === "object") {
        const decoded = decodeAny(item, decoder);
        if (decoded !== item) value[index] = decoded;
      }
    }
    return value;
  }
  const tag = (value as Tagged)[TAG];
  if (tag === undefined) {
    decoder.objects.push(value);
    const object = value as Record<string, unknown>;
    for (const key in object) {
      const item = object[key];
      if (item !== null && typeof item === "object") {
        const decoded = decodeAny(item, decoder);
        if (decoded !== item) object[key] = decoded;
      }
    }
    return object;
  }
  return decodeTagged(value as Tagged, tag, decoder);
}

function decodeTagged(tagged: Tagged, tag: string, decoder: Decoder): unknown {
  const objects = decoder.objects;
  switch (tag) {
    case "U":
      return undefined;
    case "N":
      return Number(tagged.v);
    case "B":
      return BigInt(tagged.v as string);
    case "T":
      return textDecoder.decode(decoder.blobs[tagged.b as number]);
    case "r":
      return objects[tagged.i as number];
    case "D": {
      const date = new Date(tagged.v === null ? NaN : tagged.v as number);
      objects.push(date);
      return date;
    }
    case "R": {
      const regexp = new RegExp(tagged.s as string, tagged.f as string);
      objects.push(regexp);
      return regexp;
    }
    case "X": {
      const index = objects.push(null) - 1;
      const boxed = Object(decodeAny(tagged.v, decoder));
      objects[index] = boxed;
      return boxed;
    }
    case "A": {
      const buffer = decodeBuffer(tagged, decoder);
      objects.push(buffer);
      return buffer;
    }
    case "V": {
      const index = objects.push(null) - 1;
      const buffer = decodeAny(tagged.b, decoder) as ArrayBuffer;
      const ViewClass = typedArrays[tagged.c as string];
      if (ViewClass === undefined) {
        throw new TaskSerializationError(`${tagged.c} is not available in this runtime`);
      }
      const view = new ViewClass(buffer, tagged.o as number, tagged.n as number);
      objects[index] = view;
      return view;
    }
    case "M": {
      const map = new Map<unknown, unknown>();
      objects.push(map);
      const entries = tagged.v as unknown[];
      for (let index = 0; index < entries.length; index += 2) {
        map.set(decodeAny(entries[index], decoder), decodeAny(entries[index + 1], decoder));
      }
      return map;
    }
    case "S": {
      const set = new Set<unknown>();
      objects.push(set);
      for (const item of tagged.v as unknown[]) set.add(decodeAny(item, decoder));
      return set;
    }
    case "H": {
      const array: unknown[] = [];
      objects.push(array);
      const start = tagged.v as unknown[];
      for (let index = 0; index < start.length; index++) {
        array.push(decodeAny(start[index], decoder));
      }
      const entries = tagged.k as unknown[];
      for (let index = 0; index < entries.length; index += 2) {
        setOwn(
          array as unknown as Record<string, unknown>,
          entries[index] as string,
          decodeAny(entries[index + 1], decoder),
        );
      }
      array.length = tagged.n as number;
      return array;
    }
    case "P": {
      const object: Record<string, unknown> = {};
      objects.push(object);
      const entries = tagged.v as unknown[];
      for (let index = 0; index < entries.length; index += 2) {
        setOwn(object, entries[index] as string, decodeAny(entries[index + 1], decoder));
      }
      return object;
    }
    case "E":
      return decodeError(tagged, decoder);
    default:
      throw new TaskSerializationError(`unknown value tag '${tag}' in a message`);
  }
}

function decodeBuffer(tagged: Tagged, decoder: Decoder): ArrayBuffer {
  if (typeof tagged.s === "string") return fromBase64(tagged.s).buffer as ArrayBuffer;
  if (tagged.u instanceof Uint8Array) {
    // Arrived by structured clone: already a private copy when it spans its buffer.
    const bytes = tagged.u;
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
  }
  // A copy, so the value owns exactly its own bytes (not the whole message).
  return decoder.blobs[tagged.b as number].slice().buffer as ArrayBuffer;
}

function decodeError(tagged: Tagged, decoder: Decoder): Error {
  const name = tagged.n as string;
  const message = tagged.m as string;
  const error = rebuildError(tagged.c as string, name, message);
  decoder.objects.push(error);
  defineOwn(error, "stack", typeof tagged.s === "string" ? tagged.s : `${name}: ${message}`);
  if ("k" in tagged) defineOwn(error, "cause", decodeAny(tagged.k, decoder));
  if ("e" in tagged) defineOwn(error, "errors", decodeAny(tagged.e, decoder));
  const fields = tagged.d as unknown[] | undefined;
  if (fields !== undefined) {
    for (let index = 0; index < fields.length; index += 2) {
      defineOwn(error, fields[index] as string, decodeAny(fields[index + 1], decoder), true);
    }
  }
  return error;
}

// --------------------------------------------------------------- base64

type Base64Bytes = Uint8Array & { toBase64?: () => string };
type Base64Constructor = { fromBase64?: (text: string) => Uint8Array };

function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Base64Bytes).toBase64;
  if (typeof native === "function") return native.call(bytes);
  let binary = "";
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const native = (Uint8Array as Base64Constructor).fromBase64;
  if (typeof native === "function") return native(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

// --------------------------------------------------------------- public API

/**
 * Turns `value` into a JSON-safe tree for a channel that carries JSON (or
 * structured clones) itself, such as Bun's IPC. Buffers go as base64
 * (`"base64"`) or as `Uint8Array`s for a structured-clone channel (`"raw"`).
 *
 * @throws {TaskSerializationError} If `value` holds something that cannot cross.
 */
export function toWire(value: unknown, binary: BinaryMode, limit = Infinity): WireValue {
  const encoder = acquireEncoder(binary);
  try {
    const tree = walk(value, encoder);
    const wire: WireValue = [encoder.tagged ? 1 : 0, tree];
    lastWireSize = encoder.size;
    // The rough size is exact enough to pass small messages unmeasured.
    if (encoder.size * 2 > limit) checkJsonSize(wire, limit);
    return wire;
  } finally {
    releaseEncoder(encoder);
  }
}

let lastWireSize = 0;

/** A rough size of the JSON of the last tree {@linkcode toWire} made (for batching). */
export function lastWireSizeEstimate(): number {
  return lastWireSize;
}

/**
 * The longest message, as JSON text, sent over Bun's IPC channel: above
 * about 256 MiB Bun's `send()` fails (measured on Bun 1.4: it throws "Out of
 * memory" for a 400 MB message whose 300 MB of bytes travel as base64).
 */
export const JSON_MESSAGE_LIMIT = 256 * 1024 * 1024;

function checkJsonSize(wire: WireValue, limit: number): void {
  let length: number;
  try {
    length = JSON.stringify(wire).length;
  } catch {
    length = Infinity;
  }
  if (length > limit) {
    const size = Number.isFinite(length) ? `${length} characters of JSON` : "too large to measure";
    throw new TaskSerializationError(
      `value is too large to send over the IPC channel: ${size}, over the limit of ` +
        `${limit / (1024 * 1024)} MiB`,
    );
  }
}

/**
 * Rebuilds the value of a tree made by {@linkcode toWire}. The tree is
 * reused in place, so it must not be used again.
 */
export function fromWire(wire: WireValue): unknown {
  const [tagged, tree] = wire;
  return tagged === 0 ? tree : decodeAny(tree, new Decoder([]));
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();
/** Text whose worst-case UTF-8 size exceeds this is encoded exactly first, not in place. */
const inPlaceLimit = 1 << 26;

/**
 * Where {@linkcode encodeValueInto} writes: a growable byte buffer such as a
 * frame builder, so that many messages share one allocation.
 */
export interface ByteSink {
  /** Bytes written so far. */
  readonly length: number;
  /** A buffer with at least `needed` free bytes after `length` (possibly a new one). */
  room(needed: number): Uint8Array;
  /** Marks `count` more bytes, after `length`, as written. */
  advance(count: number): void;
}

/**
 * Appends the encoding of `value` to `sink`. On a throw nothing is appended.
 *
 * @throws {TaskSerializationError} If `value` holds something that cannot cross.
 */
export function encodeValueInto(value: unknown, sink: ByteSink): void {
  const encoder = acquireEncoder("blobs");
  try {
    const tree = walk(value, encoder);
    let json: string;
    try {
      json = JSON.stringify(tree);
    } catch (error) {
      throw new TaskSerializationError(`value is too large to send: ${(error as Error).message}`);
    }
    const pieces = encoder.blobs;
    const jsonPiece = exactIfHuge(json);
    let bound = 9 + 4 * pieces.length + pieceBound(jsonPiece);
    for (let index = 0; index < pieces.length; index++) {
      pieces[index] = exactIfHuge(pieces[index]);
      bound += pieceBound(pieces[index]);
    }
    const start = sink.length;
    const out = sink.room(bound);
    let at = start + 9 + 4 * pieces.length;
    const jsonBytes = writePiece(out, at, jsonPiece);
    at += jsonBytes;
    for (let index = 0; index < pieces.length; index++) {
      const written = writePiece(out, at, pieces[index]);
      writeUint32(out, start + 9 + 4 * index, written);
      at += written;
    }
    out[start] = encoder.tagged ? FLAG_TAGGED : 0;
    writeUint32(out, start + 1, pieces.length);
    writeUint32(out, start + 5, jsonBytes);
    sink.advance(at - start);
  } finally {
    releaseEncoder(encoder);
  }
}

/**
 * Encodes `value` into bytes of its own, leaving `headroom` bytes free at
 * the front (for a frame header, so framing needs no copy).
 *
 * @throws {TaskSerializationError} If `value` holds something that cannot cross.
 */
export function encodeValue(value: unknown, headroom = 0): Uint8Array {
  let bytes = new Uint8Array(0);
  let length = headroom;
  encodeValueInto(value, {
    get length() {
      return length;
    },
    room(needed: number): Uint8Array {
      bytes = new Uint8Array(length + needed);
      return bytes;
    },
    advance(count: number): void {
      length += count;
    },
  });
  return bytes.subarray(0, length);
}

/**
 * Decodes bytes made by {@linkcode encodeValue} (without its headroom).
 * Nothing in the result refers to `bytes`, which may be reused afterwards.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  const flags = bytes[0];
  const blobCount = readUint32(bytes, 1);
  const jsonBytes = readUint32(bytes, 5);
  const prefix = 9 + 4 * blobCount;
  const tree = JSON.parse(textDecoder.decode(bytes.subarray(prefix, prefix + jsonBytes)));
  if ((flags & FLAG_TAGGED) === 0) return tree;
  const blobs: Uint8Array[] = [];
  let offset = prefix + jsonBytes;
  for (let index = 0; index < blobCount; index++) {
    const length = readUint32(bytes, 9 + 4 * index);
    blobs.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return decodeAny(tree, new Decoder(blobs));
}

function exactIfHuge(piece: Uint8Array | string): Uint8Array | string {
  return typeof piece === "string" && piece.length * 3 > inPlaceLimit
    ? textEncoder.encode(piece)
    : piece;
}

function pieceBound(piece: Uint8Array | string): number {
  return typeof piece === "string" ? piece.length * 3 : piece.length;
}

function writePiece(out: Uint8Array, at: number, piece: Uint8Array | string): number {
  if (typeof piece !== "string") {
    out.set(piece, at);
    return piece.length;
  }
  if (piece.length === 0) return 0;
  return textEncoder.encodeInto(piece, out.subarray(at)).written;
}

function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
}

/**
 * Why `value` cannot cross to or from a child process, naming the offending
 * part from `rootName` (`"args[0].callback is a function…"`); `undefined`
 * when it can cross.
 */
export function unsendableReason(value: unknown, rootName: string): string | undefined {
  try {
    toWire(value, "raw");
    return undefined;
  } catch (error) {
    if (!(error instanceof TaskSerializationError)) throw error;
    return error.message.replace(/\(found at value/, `(found at ${rootName}`);
  }
}

/** Runs the walk and turns an internal failure into a `TaskSerializationError`. */
function walk(value: unknown, encoder: Encoder): unknown {
  try {
    return encodeAny(value, encoder);
  } catch (error) {
    if (error instanceof UnsupportedValue) {
      throw new TaskSerializationError(
        `${describeUnsupported(error.value)} cannot be sent to or from a child process` +
          ` (found at ${pathTo(value, error.value) ?? "an unknown place"})`,
      );
    }
    if (error instanceof RangeError) {
      throw new TaskSerializationError(`value is nested too deeply to send: ${error.message}`);
    }
    throw error;
  }
}

function describeUnsupported(value: unknown): string {
  if (typeof value === "function") return `a function (${value.name || "anonymous"})`;
  if (typeof value === "symbol") return `a symbol (${value.description ?? ""})`;
  if (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer) {
    return "a SharedArrayBuffer";
  }
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  const name = (value as object)?.constructor?.name;
  return `a ${name && name !== "Object" ? name : tag} object`;
}

/** Where `target` sits inside `root`, as `value.a[2]` (slow; only after a failure). */
function pathTo(root: unknown, target: unknown): string | undefined {
  const visited = new Set<unknown>();
  const search = (node: unknown, path: string): string | undefined => {
    if (node === target) return path;
    if (node === null || typeof node !== "object" || visited.has(node)) return undefined;
    visited.add(node);
    if (node instanceof Map) {
      let index = 0;
      for (const [key, item] of node) {
        const found = search(key, `${path}.<key ${index}>`) ??
          search(item, `${path}.get(<key ${index}>)`);
        if (found !== undefined) return found;
        index++;
      }
      return undefined;
    }
    if (node instanceof Set) {
      let index = 0;
      for (const item of node) {
        const found = search(item, `${path}.<item ${index++}>`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (ArrayBuffer.isView(node)) return search(node.buffer, `${path}.buffer`);
    for (const key of Object.keys(node)) {
      let item: unknown;
      try {
        item = (node as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      const step = Array.isArray(node) ? `${path}[${key}]` : `${path}.${key}`;
      const found = search(item, step);
      if (found !== undefined) return found;
    }
    if (isError(node) && Object.hasOwn(node, "cause")) {
      return search((node as Error).cause, `${path}.cause`);
    }
    return undefined;
  };
  return search(root, "value");
}
