/**
 * Input checks with one message form, the Deno standard library's: what was
 * attempted, which input, what it must be, and what came:
 * `Cannot submit task as 'retries' must be a non-negative integer: current value is -1`.
 * `TypeError` for a wrong type or unknown name, `RangeError` for a value out of range.
 *
 * @module
 */

/** Renders a value for an error message: strings quoted, everything else readable. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "symbol") return value.toString();
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Date(invalid)" : `Date(${value.toISOString()})`;
  }
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value !== null && typeof value === "object") {
    const name = (value as object).constructor?.name;
    if (!name || name === "Object") return "an object";
    return /^[AEIO]/.test(name) ? `an ${name}` : `a ${name}`;
  }
  return String(value);
}

/** Builds the house message. */
export function invalidMessage(
  action: string,
  name: string,
  requirement: string,
  value: unknown,
): string {
  return `Cannot ${action} as '${name}' must be ${requirement}: current value is ${
    describeValue(value)
  }`;
}

function fail(
  isType: boolean,
  action: string,
  name: string,
  requirement: string,
  value: unknown,
): never {
  const message = invalidMessage(action, name, requirement, value);
  throw isType ? new TypeError(message) : new RangeError(message);
}

/** A finite number. */
export function checkFinite(action: string, name: string, value: unknown): number {
  if (typeof value !== "number") fail(true, action, name, "a finite number", value);
  if (!Number.isFinite(value)) fail(false, action, name, "a finite number", value);
  return value;
}

/** A finite number > 0. */
export function checkPositive(action: string, name: string, value: unknown): number {
  if (typeof value !== "number") fail(true, action, name, "a positive number", value);
  if (!(value > 0) || !Number.isFinite(value)) {
    fail(false, action, name, "a positive number", value);
  }
  return value;
}

/** A finite number >= 0 (Infinity too when `allowInfinity`). */
export function checkNonNegative(
  action: string,
  name: string,
  value: unknown,
  allowInfinity = false,
): number {
  if (typeof value !== "number") fail(true, action, name, "a non-negative number", value);
  if (!(value >= 0) || (!allowInfinity && !Number.isFinite(value))) {
    fail(false, action, name, "a non-negative number", value);
  }
  return value;
}

/** An integer >= `min` (1 gives "a positive integer", 0 "a non-negative integer"). */
export function checkInteger(action: string, name: string, value: unknown, min: number): number {
  const requirement = min === 1
    ? "a positive integer"
    : min === 0
    ? "a non-negative integer"
    : `an integer >= ${min}`;
  if (typeof value !== "number") fail(true, action, name, requirement, value);
  if (!Number.isInteger(value) || value < min) fail(false, action, name, requirement, value);
  return value;
}

/** A boolean. */
export function checkBoolean(action: string, name: string, value: unknown): boolean {
  if (typeof value !== "boolean") fail(true, action, name, "a boolean", value);
  return value;
}

/** A string. */
export function checkString(action: string, name: string, value: unknown): string {
  if (typeof value !== "string") fail(true, action, name, "a string", value);
  return value;
}

/** A function. */
export function checkFunction<F>(action: string, name: string, value: unknown): F {
  if (typeof value !== "function") fail(true, action, name, "a function", value);
  return value as F;
}

/** One of a fixed set of strings. */
export function checkChoice<T extends string>(
  action: string,
  name: string,
  value: unknown,
  choices: readonly T[],
): T {
  if (typeof value !== "string" || !choices.includes(value as T)) {
    const listed = choices.map((choice) => `'${choice}'`).join(" or ");
    fail(typeof value !== "string", action, name, `one of ${listed}`, value);
  }
  return value as T;
}

/** An array. */
export function checkArray(action: string, name: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) fail(true, action, name, "an array", value);
  return value;
}

/** A plain options object (or undefined, which gives `{}`). */
export function checkOptionsObject(
  action: string,
  name: string,
  value: unknown,
): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(true, action, name, "an object", value);
  }
  return value as Record<string, unknown>;
}

/**
 * Rejects option names outside `known` with one TypeError that names them
 * all, sorted: `Unknown task option(s): a, b`.
 */
export function checkKnownNames(
  what: string,
  options: Record<string, unknown>,
  known: ReadonlySet<string>,
): void {
  let unknown: string[] | undefined;
  for (const key in options) {
    if (!known.has(key)) (unknown ??= []).push(key);
  }
  if (unknown !== undefined) {
    throw new TypeError(`Unknown ${what} option(s): ${unknown.sort().join(", ")}`);
  }
}
