/**
 * How a thrown value crosses to another thread, process or machine and back:
 * an `Error` field by field (class, name, message, stack, `cause`,
 * `AggregateError.errors` and own data fields, carried explicitly because
 * structured clone keeps too little: Bun drops `cause`, both runtimes drop
 * own fields), anything else as is. The pools' protocol, the child value
 * codec, worker-side submission and checkpoints all use it.
 *
 * @module
 */

import {
  CancelledError,
  ClosedError,
  ExecutionError,
  InvalidStateError,
  OsiisoError,
  QueueFullError,
  TaskSerializationError,
  TaskTimeoutError,
  WorkerCrashedError,
} from "./errors.ts";
import { isError, safeString } from "./_util.ts";

/** A thrown value as it crosses: an `Error` field by field, anything else as is. */
export type SerializedThrown = SerializedError | ThrownValue;

/** A thrown value that is not an `Error` (a string, a number, a plain object…). */
export interface ThrownValue {
  readonly kind: "value";
  readonly value: unknown;
}

/** An `Error`, with what structured clone would lose carried explicitly. */
export interface SerializedError {
  readonly kind: "error";
  /** `error.name`. */
  readonly name: string;
  /** `error.message`. */
  readonly message: string;
  /** `error.stack`, when it is a string. */
  readonly stack?: string;
  /** The class to rebuild: a built-in error class or a library error class name. */
  readonly className: string;
  /** Present when the error had an own `cause`. */
  readonly cause?: SerializedThrown;
  /** `AggregateError.errors`. */
  readonly errors?: readonly SerializedThrown[];
  /** Own enumerable fields other than the above (`code`, `status`, …). */
  readonly data?: Readonly<Record<string, unknown>>;
}

const BUILT_IN_ERRORS: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
  AggregateError: AggregateError as unknown as ErrorConstructor,
};

const KNOWN_ERRORS = new Map<string, ErrorConstructor>(Object.entries(BUILT_IN_ERRORS));

// The library's own errors keep their class across, so a worker-side
// TaskTimeoutError (an abort reason, say) is still one on the other side.
for (
  const errorClass of [
    OsiisoError,
    ClosedError,
    QueueFullError,
    InvalidStateError,
    CancelledError,
    TaskTimeoutError,
    WorkerCrashedError,
    TaskSerializationError,
    ExecutionError,
  ]
) {
  KNOWN_ERRORS.set(errorClass.name, errorClass as unknown as ErrorConstructor);
}

const RESERVED_FIELDS = new Set(["name", "message", "stack", "cause", "errors"]);

/**
 * The registered class name to rebuild `error` as: the nearest registered
 * class along its prototype chain (the process codec uses it too, for
 * errors nested anywhere inside values).
 */
export function errorClassName(error: Error): string {
  if (typeof DOMException === "function" && error instanceof DOMException) return "DOMException";
  for (
    let proto = Object.getPrototypeOf(error);
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const ctor = Object.hasOwn(proto, "constructor") ? proto.constructor : undefined;
    const name = typeof ctor === "function" ? ctor.name : undefined;
    if (name !== undefined && KNOWN_ERRORS.get(name) === ctor) return name;
  }
  return "Error";
}

/**
 * An error's name, message and stack (the stack when it is a string), read
 * so that a throwing getter does not turn one failure into another.
 */
export function errorText(
  error: Error,
): { name: string; message: string; stack: string | undefined } {
  let name = "Error";
  let message = "";
  let stack: string | undefined;
  try {
    name = String(error.name);
    message = String(error.message);
    stack = typeof error.stack === "string" ? error.stack : undefined;
  } catch {
    // A getter that throws must not turn one failure into another.
  }
  return { name, message, stack };
}

/**
 * Calls `visit` with each own enumerable field of `error` that travels as
 * data (`code`, `status`, …): not the ones carried on their own (name,
 * message, stack, cause, errors), not functions or symbols, not a getter
 * that throws.
 */
export function forEachErrorField(
  error: Error,
  visit: (key: string, value: unknown) => void,
): void {
  for (const key of Object.keys(error)) {
    if (RESERVED_FIELDS.has(key)) continue;
    let value: unknown;
    try {
      value = (error as Error & Record<string, unknown>)[key];
    } catch {
      continue;
    }
    // Errors often carry helper functions; they are left behind, not fatal.
    if (typeof value === "function" || typeof value === "symbol") continue;
    visit(key, value);
  }
}

/**
 * A real `Error` of the class registered as `className` (a `DOMException`
 * for that name), with `name` and `message`, built without running a
 * constructor whose parameters are unknown here (`TaskTimeoutError`'s, say).
 */
export function rebuildError(className: string, name: string, message: string): Error {
  if (className === "DOMException" && typeof DOMException === "function") {
    return new DOMException(message, name);
  }
  const error = Reflect.construct(Error, [message], KNOWN_ERRORS.get(className) ?? Error) as Error;
  if (error.name !== name) defineOwn(error, "name", name);
  return error;
}

/**
 * Sets an own data property of a rebuilt error: hidden (not enumerable), as
 * `Error` keeps `stack` and `cause`, or `enumerable` for its data fields.
 * A slot that cannot be redefined (a `DOMException` accessor, a
 * non-configurable built-in) keeps its value as built.
 */
export function defineOwn(
  target: object,
  key: string,
  value: unknown,
  enumerable = false,
): void {
  try {
    Object.defineProperty(target, key, { value, writable: true, enumerable, configurable: true });
  } catch {
    // The slot cannot be shadowed here; the rest is kept.
  }
}

/**
 * Turns a thrown value into its wire form. With `safe`, data fields and
 * non-error values are reduced to strings, for a second try when the first
 * form could not be cloned.
 */
export function serializeThrown(
  thrown: unknown,
  safe = false,
  seen: Set<unknown> = new Set(),
): SerializedThrown {
  if (!isError(thrown)) {
    return { kind: "value", value: safe ? safeString(thrown) : thrown };
  }
  if (seen.has(thrown)) return { kind: "value", value: "[circular cause]" };
  seen.add(thrown);
  const error = thrown as Error & Record<string, unknown>;
  const { name, message, stack } = errorText(error);
  const wire: {
    -readonly [K in keyof SerializedError]: SerializedError[K];
  } = { kind: "error", name, message, className: errorClassName(error) };
  if (stack !== undefined) wire.stack = stack;
  if (Object.hasOwn(error, "cause")) wire.cause = serializeThrown(error.cause, safe, seen);
  if (Array.isArray(error.errors)) {
    wire.errors = error.errors.map((inner: unknown) => serializeThrown(inner, safe, seen));
  }
  let data: Record<string, unknown> | undefined;
  forEachErrorField(error, (key, value) => {
    (data ??= {})[key] = safe ? safeField(value) : value;
  });
  if (data !== undefined) wire.data = data;
  return wire;
}

function safeField(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  return safeString(value);
}

/**
 * Rebuilds a thrown value from its wire form: an `Error` of the same built-in
 * or registered class (else a plain `Error` carrying the original `name`),
 * with message, stack, cause, `errors` and data fields restored.
 */
export function deserializeThrown(wire: SerializedThrown): unknown {
  if (wire.kind === "value") return wire.value;
  const error = rebuildError(wire.className, wire.name, wire.message);
  defineOwn(error, "stack", wire.stack ?? `${wire.name}: ${wire.message}`);
  if (wire.cause !== undefined) defineOwn(error, "cause", deserializeThrown(wire.cause));
  if (wire.errors !== undefined) {
    defineOwn(error, "errors", wire.errors.map(deserializeThrown));
  }
  if (wire.data !== undefined) {
    for (const [key, value] of Object.entries(wire.data)) defineOwn(error, key, value, true);
  }
  return error;
}
