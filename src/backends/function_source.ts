/**
 * Sending a task function to a worker or child as source text. A worker
 * cannot see the caller's closures, so a function sent this way must be
 * self-contained: {@linkcode functionSource} finds its text (method
 * shorthand becomes a function expression) and refuses, with a
 * `TaskSerializationError` naming them, functions that read variables from
 * their surroundings. That takes a small JavaScript tokenizer and a
 * free-variable check, which only the pools need; the other side rebuilds
 * the function with `reviveFunction` (`src/core/task_reference.ts`).
 *
 * @module
 */

import { TaskSerializationError } from "../core/errors.ts";
import { compileFunctionExpression, sourceName } from "../core/task_reference.ts";
import { invalidMessage } from "../core/validate.ts";

// ---------------------------------------------------------------------------
// Inline functions: analysis

/** Why a function cannot be sent to a worker as source. */
export type FunctionProblem =
  | "native"
  | "class"
  | "generator"
  | "free-variables"
  | "unsupported";

/**
 * What {@linkcode analyzeFunction} found out about a function: the source to
 * send, or why it cannot be sent. Frozen; the same object is returned for the
 * same function (and for functions with the same source text).
 */
export interface FunctionAnalysis {
  /**
   * Source text that evaluates to the function when wrapped in parentheses in
   * a fresh realm; `null` when the function cannot be sent.
   */
  readonly source: string | null;
  /** The variables the function reads from its surroundings, sorted; empty when none. */
  readonly freeVariables: readonly string[];
  /** Why the function cannot be sent; `null` when it can. */
  readonly problem: FunctionProblem | null;
}

const analysisByFunction = new WeakMap<object, FunctionAnalysis>();
const analysisBySource = new Map<string, FunctionAnalysis>();
// A loop that submits an inline arrow makes a new function object each time,
// so the analysis is also kept by source text (a bounded, oldest-out cache).
const sourceCacheLimit = 1024;

const nativeCodePattern = /\{\s*\[native code\]\s*\}\s*$/;

/**
 * Checks whether a function can be sent to a worker as source, and finds the
 * source to send. The result is cached per function object and per source
 * text, so checking the same function again costs a lookup.
 *
 * A function cannot be sent when it is native or bound, a class, a
 * generator, or reads a variable that is neither declared inside it nor a
 * global of a worker (standard JavaScript and Web Worker globals, `Deno`,
 * `Bun`, `process`, and whatever the calling realm's `globalThis` has).
 */
export function analyzeFunction(fn: (...args: never[]) => unknown): FunctionAnalysis {
  let analysis = analysisByFunction.get(fn);
  if (analysis === undefined) {
    const text = Function.prototype.toString.call(fn);
    analysis = analysisBySource.get(text);
    if (analysis === undefined) {
      analysis = analyzeText(text);
      if (analysisBySource.size >= sourceCacheLimit) {
        analysisBySource.delete(analysisBySource.keys().next().value as string);
      }
      analysisBySource.set(text, analysis);
    }
    analysisByFunction.set(fn, analysis);
  }
  return analysis;
}

/**
 * The source text to send to a worker for an inline task function: wrapped
 * as `(${source})` it evaluates to the function in a fresh realm. Method
 * shorthand (`{ run(a) { … } }`) and class methods become function
 * expressions; arrows and functions are sent as written (types are already
 * stripped by the runtime).
 *
 * @param fn The task function.
 * @param taskName The task's name, for messages (default: the function's name).
 * @throws {TaskSerializationError} If the function is native or bound, a
 *   class, a generator, or uses a variable from its surroundings.
 */
export function functionSource(
  fn: (...args: never[]) => unknown,
  taskName: string = sourceName(fn),
): string {
  if (typeof fn !== "function") {
    throw new TypeError(invalidMessage("send task", "task", "a function", fn));
  }
  const analysis = analyzeFunction(fn);
  if (analysis.source !== null) return analysis.source;
  throw new TaskSerializationError(problemMessage(taskName, analysis));
}

const moduleAdvice = "put it in a module and use taskModule()";

function problemMessage(taskName: string, analysis: FunctionAnalysis): string {
  const task = `task '${taskName}'`;
  switch (analysis.problem) {
    case "native":
      return `${task} is a native or bound function, which has no source to send to a worker — ${moduleAdvice}`;
    case "class":
      return `${task} is a class, not a function; a task must be a function`;
    case "generator":
      return `${task} is a generator function; a task must return a value or a promise`;
    case "free-variables": {
      const names = analysis.freeVariables.map((name) => `'${name}'`).join(", ");
      return `${task} uses ${names} from its surroundings; a function sent to a worker must be self-contained — ${moduleAdvice}`;
    }
    default:
      return `${task} has a form that cannot be rebuilt from its source in a worker — ${moduleAdvice}`;
  }
}

// ---------------------------------------------------------------------------
// Tokenizer: just enough JavaScript to tell references from everything else

type TokenKind = "name" | "private" | "punct" | "string" | "template" | "number" | "regex";

interface Token {
  readonly kind: TokenKind;
  /** The text for names, private names, punctuators and numbers; "" otherwise. */
  readonly value: string;
  readonly start: number;
  /** Whether a line break separates this token from the one before. */
  readonly newlineBefore: boolean;
}

/** A set of the whitespace-separated words in `list` (keeps long word lists compact). */
function words(list: string): Set<string> {
  return new Set(list.split(/\s+/).filter((word) => word !== ""));
}

const identifierPattern =
  /(?:[\p{ID_Start}$_]|\\u(?:\{[\da-fA-F]+\}|[\da-fA-F]{4}))(?:[\p{ID_Continue}$\u200C\u200D]|\\u(?:\{[\da-fA-F]+\}|[\da-fA-F]{4}))*/uy;
const numberPattern =
  /(?:0[xXoObB][\da-fA-F_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)n?/y;
const punctuatorPattern =
  />>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|&&=|\|\|=|\?\?=|=>|==|!=|<=|>=|&&|\|\||\?\?|\?\.(?!\d)|\+\+|--|\+=|-=|\*=|%=|&=|\|=|\^=|\*\*|<<|>>|[{}()[\];,<>+\-*%&|^!~?:=.@]/y;
const lineBreakPattern = /[\n\r\u2028\u2029]/g;
const lineBreakTest = /[\n\r\u2028\u2029]/;
const spacePattern = /\s/;

/** Keywords after which a `/` starts a regular expression (elsewhere a name means division). */
const expressionKeywords = words(`
  return typeof instanceof in of new delete void throw case do else yield await
`);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  // Brace depth at each open `${`: the `}` back at that depth resumes the template.
  const templateBraces: number[] = [];
  const length = text.length;
  let braces = 0;
  let newline = false;
  let i = 0;

  const push = (kind: TokenKind, value: string, start: number): void => {
    tokens.push({ kind, value, start, newlineBefore: newline });
    newline = false;
  };
  // Scans template text from `from` up to the closing backtick or the next `${`.
  const templateChunk = (from: number, start: number): number => {
    let j = from;
    while (j < length) {
      const c = text[j];
      if (c === "\\") j += 2;
      else if (c === "`") {
        push("template", "", start);
        return j + 1;
      } else if (c === "$" && text[j + 1] === "{") {
        push("template", "", start);
        push("punct", "${", j);
        templateBraces.push(braces);
        return j + 2;
      } else j++;
    }
    push("template", "", start);
    return length;
  };

  while (i < length) {
    const c = text[i];
    if (c === "\n" || c === "\r" || c === "\u2028" || c === "\u2029") {
      newline = true;
      i++;
    } else if (c === " " || c === "\t" || spacePattern.test(c)) {
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      lineBreakPattern.lastIndex = i;
      i = lineBreakPattern.exec(text) === null ? length : lineBreakPattern.lastIndex - 1;
    } else if (c === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      const end = close === -1 ? length : close + 2;
      if (lineBreakTest.test(text.slice(i, end))) newline = true;
      i = end;
    } else if (c === "/") {
      const start = i;
      if (regexAllowedAfter(tokens[tokens.length - 1])) {
        i = skipRegex(text, i);
        push("regex", "", start);
      } else {
        i += text[i + 1] === "=" ? 2 : 1;
        push("punct", text.slice(start, i), start);
      }
    } else if (c === "'" || c === '"') {
      const start = i;
      i = skipString(text, i);
      push("string", "", start);
    } else if (c === "`") {
      i = templateChunk(i + 1, i);
    } else if (
      c === "}" && templateBraces.length > 0 && templateBraces[templateBraces.length - 1] === braces
    ) {
      templateBraces.pop();
      push("punct", "$}", i);
      i = templateChunk(i + 1, i + 1);
    } else if (c === "#") {
      identifierPattern.lastIndex = i + 1;
      const match = identifierPattern.exec(text);
      if (match === null) i++;
      else {
        push("private", `#${match[0]}`, i);
        i = identifierPattern.lastIndex;
      }
    } else if ((c >= "0" && c <= "9") || (c === "." && text[i + 1] >= "0" && text[i + 1] <= "9")) {
      numberPattern.lastIndex = i;
      const match = numberPattern.exec(text);
      const end = match === null ? i + 1 : numberPattern.lastIndex;
      push("number", text.slice(i, end), i);
      i = end;
    } else {
      identifierPattern.lastIndex = i;
      const name = identifierPattern.exec(text);
      if (name !== null) {
        push("name", name[0], i);
        i = identifierPattern.lastIndex;
        continue;
      }
      punctuatorPattern.lastIndex = i;
      const punct = punctuatorPattern.exec(text);
      if (punct === null) {
        i++;
        continue;
      }
      if (punct[0] === "{") braces++;
      else if (punct[0] === "}") braces--;
      push("punct", punct[0], i);
      i = punctuatorPattern.lastIndex;
    }
  }
  return tokens;
}

/** The usual rule: `/` starts a regular expression unless the token before ends an operand. */
function regexAllowedAfter(previous: Token | undefined): boolean {
  if (previous === undefined) return true;
  switch (previous.kind) {
    case "name":
      return expressionKeywords.has(previous.value);
    case "punct":
      return !(previous.value === ")" || previous.value === "]" || previous.value === "++" ||
        previous.value === "--");
    default:
      return false;
  }
}

function skipString(text: string, from: number): number {
  const quote = text[from];
  let j = from + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === "\\") j += 2;
    else if (c === quote) return j + 1;
    else if (c === "\n") return j;
    else j++;
  }
  return text.length;
}

function skipRegex(text: string, from: number): number {
  let j = from + 1;
  let inClass = false;
  while (j < text.length) {
    const c = text[j];
    if (c === "\\") {
      j += 2;
      continue;
    }
    if (c === "\n") return j;
    j++;
    if (inClass) {
      if (c === "]") inClass = false;
    } else if (c === "[") inClass = true;
    else if (c === "/") break;
  }
  while (j < text.length && /[\w$]/.test(text[j])) j++;
  return j;
}

const openers = new Set(["(", "[", "{", "${"]);
const closers = new Set([")", "]", "}", "$}"]);

/** For every bracket token, the index of its partner (-1 when unmatched). */
function matchBrackets(tokens: readonly Token[]): Int32Array {
  const partner = new Int32Array(tokens.length).fill(-1);
  const open: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.kind !== "punct") continue;
    if (openers.has(token.value)) open.push(i);
    else if (closers.has(token.value) && open.length > 0) {
      const opener = open.pop() as number;
      partner[opener] = i;
      partner[i] = opener;
    }
  }
  return partner;
}

function isPunct(token: Token | undefined, value: string): boolean {
  return token !== undefined && token.kind === "punct" && token.value === value;
}

function isWord(token: Token | undefined, value: string): boolean {
  return token !== undefined && token.kind === "name" && token.value === value;
}

// ---------------------------------------------------------------------------
// Analysis

/** Words that never name a variable here (reserved words and the contextual keywords). */
const nonReferenceWords = words(`
  async await break case catch class const continue debugger default delete do else enum
  export extends false finally for function get if implements import in instanceof
  interface let new null of package private protected public return set static super
  switch this throw true try typeof var void while with yield
`);

/** Names every worker has, whether or not the calling realm's `globalThis` shows them. */
const workerGlobals = new Set([
  // The language
  ...words(`
  globalThis Infinity NaN undefined arguments eval isFinite isNaN parseFloat parseInt
  decodeURI decodeURIComponent encodeURI encodeURIComponent escape unescape AggregateError
  Array ArrayBuffer AsyncDisposableStack Atomics BigInt BigInt64Array BigUint64Array
  Boolean DataView Date DisposableStack Error EvalError FinalizationRegistry Float16Array
  Float32Array Float64Array Function Int8Array Int16Array Int32Array Intl Iterator JSON
  Map Math Number Object Promise Proxy RangeError ReferenceError Reflect RegExp Set
  SharedArrayBuffer String SuppressedError Symbol SyntaxError TypeError Uint8Array
  Uint8ClampedArray Uint16Array Uint32Array URIError WeakMap WeakRef WeakSet WebAssembly
  `),
  // Web Worker scope
  ...words(`
  self navigator addEventListener removeEventListener dispatchEvent reportError console
  fetch setTimeout clearTimeout setInterval clearInterval queueMicrotask structuredClone
  atob btoa crypto performance AbortController AbortSignal Blob BroadcastChannel
  ByteLengthQueuingStrategy CompressionStream CountQueuingStrategy Crypto CryptoKey
  CustomEvent DecompressionStream DOMException ErrorEvent Event EventTarget File FormData
  Headers MessageChannel MessageEvent MessagePort Performance PerformanceEntry
  PerformanceMark PerformanceMeasure ProgressEvent ReadableStream Request Response
  SubtleCrypto TextDecoder TextDecoderStream TextEncoder TextEncoderStream TransformStream
  URL URLPattern URLSearchParams WebSocket Worker WritableStream
  `),
  // The runtimes
  ...words(`
  Deno Bun process Buffer setImmediate clearImmediate
  `),
]);

/**
 * Globals of some realm that are far likelier to be the caller's own variable
 * (`const name = …`) or that a task must not touch in a pool's worker
 * (`close`, `postMessage`, `onmessage`): reading one counts as a free variable.
 */
const ambiguousGlobals = words(`
  name close closed location alert confirm prompt localStorage sessionStorage postMessage
  onload onunload onbeforeunload onerror onmessage onmessageerror onunhandledrejection
`);

function isWorkerGlobal(name: string): boolean {
  if (ambiguousGlobals.has(name)) return false;
  // `in` sees inherited globals (Deno's `addEventListener`), but not the
  // names every object inherits (`toString`, `constructor`).
  return workerGlobals.has(name) || (name in globalThis && !(name in Object.prototype));
}

function frozenAnalysis(
  source: string | null,
  freeVariables: readonly string[],
  problem: FunctionProblem | null,
): FunctionAnalysis {
  return Object.freeze({ source, freeVariables: Object.freeze(freeVariables), problem });
}

const noNames: readonly string[] = Object.freeze([]);

function analyzeText(text: string): FunctionAnalysis {
  if (nativeCodePattern.test(text)) return frozenAnalysis(null, noNames, "native");
  const tokens = tokenize(text);
  const partner = matchBrackets(tokens);
  const shape = classifyShape(text, tokens, partner);
  if (typeof shape === "string") return frozenAnalysis(null, noNames, shape);
  const declared = collectDeclarations(tokens, partner, shape.from);
  const free: string[] = [];
  for (const name of collectReferences(tokens, shape.from)) {
    if (!declared.has(name) && !isWorkerGlobal(name)) free.push(name);
  }
  if (free.length > 0) return frozenAnalysis(null, free.sort(), "free-variables");
  try {
    // Compiling (not running) here turns a form this module rewrote badly into
    // an error at submit time rather than a failure inside the worker.
    compileFunctionExpression(shape.source);
  } catch {
    return frozenAnalysis(null, noNames, "unsupported");
  }
  return frozenAnalysis(shape.source, noNames, null);
}

interface Shape {
  /** Source that evaluates to the function. */
  readonly source: string;
  /** Index of the first token that belongs to the function's parameters and body. */
  readonly from: number;
}

const methodModifiers = new Set(["static", "get", "set", "async", "accessor"]);

/**
 * Tells arrows and function expressions (sent as written) from methods
 * (rewritten as function expressions) and from what cannot be sent.
 */
function classifyShape(
  text: string,
  tokens: readonly Token[],
  partner: Int32Array,
): Shape | FunctionProblem {
  const asWritten: Shape = { source: text.trim(), from: 0 };
  const arrowAt = (index: number): boolean => isPunct(tokens[index], "=>");
  const first = tokens[0];
  if (first === undefined) return "unsupported";
  if (isWord(first, "class") && !isPunct(tokens[1], "(")) return "class";
  if (first.kind === "name" && arrowAt(1)) return asWritten; // x => …
  if (isPunct(first, "(")) {
    return partner[0] >= 0 && arrowAt(partner[0] + 1) ? asWritten : "unsupported";
  }
  if (isWord(first, "async")) {
    const second = tokens[1];
    if (second?.kind === "name" && arrowAt(2)) return asWritten; // async x => …
    if (isPunct(second, "(") && partner[1] >= 0 && arrowAt(partner[1] + 1)) return asWritten;
  }
  let k = 0;
  let isAsync = false;
  if (isWord(first, "async") && isWord(tokens[1], "function")) {
    isAsync = true;
    k = 1;
  }
  if (isWord(tokens[k], "function")) return isPunct(tokens[k + 1], "*") ? "generator" : asWritten;

  // A method: modifiers, a key, then the parameters.
  while (
    tokens[k]?.kind === "name" && methodModifiers.has(tokens[k].value) &&
    !isPunct(tokens[k + 1], "(")
  ) {
    if (tokens[k].value === "async") isAsync = true;
    k++;
  }
  if (isPunct(tokens[k], "*")) return "generator";
  const key = tokens[k];
  if (key === undefined) return "unsupported";
  if (isPunct(key, "[")) k = partner[k] + 1;
  else if (key.kind === "punct" || key.kind === "template" || key.kind === "regex") {
    return "unsupported";
  } else k++;
  if (k === 0 || !isPunct(tokens[k], "(")) return "unsupported";
  // The name is dropped: inside a method its own name is not in scope, so
  // keeping it could make a call to an outer function of that name recurse.
  const params = text.slice(tokens[k].start).trim();
  return { source: `${isAsync ? "async " : ""}function ${params}`, from: k };
}

/** Keywords whose parenthesised part is a condition, not parameters, when a block follows. */
const controlKeywords = new Set(["if", "while", "for", "switch", "with"]);

/**
 * Every name declared anywhere inside the function: parameters (with
 * destructuring, defaults and rest) of the function and of every nested
 * function, arrow and method, `var`/`let`/`const`, function and class
 * declarations, and catch parameters. Block scoping is ignored on purpose:
 * a name declared anywhere counts as local (the check errs on the side of
 * accepting).
 */
function collectDeclarations(
  tokens: readonly Token[],
  partner: Int32Array,
  from: number,
): Set<string> {
  const declared = new Set<string>();
  const declare = (token: Token): void => {
    if (!nonReferenceWords.has(token.value)) declared.add(token.value);
  };
  const after = (index: number): number => partner[index] < 0 ? index + 1 : partner[index] + 1;
  // Calls `visit` with the first token of each comma-separated element in (start, end).
  const eachElement = (start: number, end: number, visit: (index: number) => void): void => {
    let elementStart = start;
    let k = start;
    while (k < end) {
      const token = tokens[k];
      if (token.kind === "punct" && openers.has(token.value)) k = after(k);
      else {
        if (isPunct(token, ",")) {
          if (k > elementStart) visit(elementStart);
          elementStart = k + 1;
        }
        k++;
      }
    }
    if (end > elementStart) visit(elementStart);
  };
  // Declares the names bound by the pattern at `index`; returns the index after it.
  const bind = (index: number): number => {
    const token = tokens[index];
    if (token === undefined) return index;
    if (token.kind === "name") {
      declare(token);
      return index + 1;
    }
    if (isPunct(token, "...")) return bind(index + 1);
    if (isPunct(token, "[") && partner[index] >= 0) {
      eachElement(index + 1, partner[index], bind);
      return partner[index] + 1;
    }
    if (isPunct(token, "{") && partner[index] >= 0) {
      eachElement(index + 1, partner[index], (k) => {
        const key = tokens[k];
        if (isPunct(key, "...")) return void bind(k + 1);
        const next = isPunct(key, "[") ? after(k) : k + 1;
        if (isPunct(tokens[next], ":")) bind(next + 1);
        else if (key.kind === "name") declare(key); // shorthand
      });
      return partner[index] + 1;
    }
    return index;
  };
  // Skips an initializer: up to `,` or `;` at its own depth, the enclosing
  // bracket's end, or a line break where a new statement plainly starts.
  const skipInitializer = (index: number): number => {
    let k = index;
    while (k < tokens.length) {
      const token = tokens[k];
      if (token.kind === "punct") {
        if (openers.has(token.value)) {
          k = after(k);
          continue;
        }
        if (token.value === "," || token.value === ";" || closers.has(token.value)) return k;
      } else if (
        k > index && token.newlineBefore && token.kind !== "template" &&
        endsOperand(tokens[k - 1])
      ) {
        return k;
      }
      k++;
    }
    return k;
  };
  const declarators = (index: number): void => {
    let k = index;
    for (;;) {
      const next = bind(k);
      if (next === k) return;
      k = next;
      if (isPunct(tokens[k], "=")) k = skipInitializer(k + 1);
      if (!isPunct(tokens[k], ",")) return;
      k++;
    }
  };

  const classBodies = new Set<number>();
  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i];
    const previous = i > from ? tokens[i - 1] : undefined;
    if (token.kind === "name") {
      if (isPunct(previous, ".") || isPunct(previous, "?.")) continue;
      const next = tokens[i + 1];
      switch (token.value) {
        case "var":
        case "let":
        case "const":
          declarators(i + 1);
          break;
        case "function": {
          const name = isPunct(next, "*") ? tokens[i + 2] : next;
          if (name?.kind === "name") declare(name);
          break;
        }
        case "class":
          if (next?.kind === "name" && next.value !== "extends") declare(next);
          break;
        case "extends": {
          // The class body's `{` follows the heritage expression; remember it so
          // that `extends mixin(Base) {` is not read as a method's parameters.
          let k = i + 1;
          while (k < tokens.length && !isPunct(tokens[k], "{")) {
            k = tokens[k].kind === "punct" && openers.has(tokens[k].value) ? after(k) : k + 1;
          }
          classBodies.add(k);
          break;
        }
        default:
          if (isPunct(next, "=>")) declare(token); // x => …
      }
    } else if (isPunct(token, "(") && partner[i] >= 0) {
      const following = tokens[partner[i] + 1];
      const isParameterList = isPunct(following, "=>") ||
        (isPunct(following, "{") && !classBodies.has(partner[i] + 1) &&
          !(previous?.kind === "name" && controlKeywords.has(previous.value)));
      if (isParameterList) eachElement(i + 1, partner[i], bind);
    }
  }
  return declared;
}

/** Whether a token can end an operand (so a line break after it may end the statement). */
function endsOperand(token: Token | undefined): boolean {
  if (token === undefined) return false;
  switch (token.kind) {
    case "name":
      return !expressionKeywords.has(token.value);
    case "punct":
      return token.value === ")" || token.value === "]" || token.value === "}" ||
        token.value === "++" || token.value === "--";
    default:
      return true;
  }
}

type FrameKind = "expression" | "block" | "object" | "class";

interface Frame {
  readonly kind: FrameKind;
  /** In an object literal or class body: the next name is a key, not a value. */
  key: boolean;
  /** `?` seen in this frame whose `:` has not come yet. */
  ternaries: number;
}

/** Keywords after which `{` opens an object literal or a destructuring pattern, not a block. */
const objectAfterWords = words(`
  return typeof instanceof in of new delete void throw case yield await const let var
  extends
`);

/**
 * Every name the function reads: names that are not keywords, property names
 * (after `.` / `?.`), object-literal keys, method and class-member names,
 * labels, or inside strings, comments, regular expressions and template text.
 * Shorthand properties (`{ x }`) count as reads. `super` and `#private` names
 * count too when no class or object literal inside the function provides them.
 */
function collectReferences(tokens: readonly Token[], from: number): Set<string> {
  const references = new Set<string>();
  const stack: Frame[] = [{ kind: "expression", key: false, ternaries: 0 }];
  // Stack height at which a `class` keyword waits for its body's `{`.
  let classBodyAt = -1;
  let classFrames = 0;
  let homeFrames = 0; // class bodies and object literals: where `super` means something
  let lastColon: "key" | "ternary" | "label" = "key";

  const openBrace = (previous: Token | undefined): FrameKind => {
    if (classBodyAt === stack.length) {
      classBodyAt = -1;
      return "class";
    }
    if (previous === undefined) return "block";
    if (previous.kind === "name") return objectAfterWords.has(previous.value) ? "object" : "block";
    if (previous.kind !== "punct") return "block";
    switch (previous.value) {
      case ")":
      case "=>":
      case ";":
      case "{":
      case "}":
        return "block";
      case ":":
        return lastColon === "label" ? "block" : "object";
      default:
        return "object";
    }
  };

  for (let i = from; i < tokens.length; i++) {
    const token = tokens[i];
    const previous = i > from ? tokens[i - 1] : undefined;
    const next = tokens[i + 1];
    const frame = stack[stack.length - 1];

    // A line break ends a class field with no semicolon.
    if (
      frame.kind === "class" && !frame.key && token.newlineBefore &&
      (token.kind === "name" || token.kind === "private" || token.kind === "string") &&
      endsOperand(previous)
    ) {
      frame.key = true;
    }

    if (token.kind === "punct") {
      switch (token.value) {
        case "{": {
          const kind = openBrace(previous);
          if (kind === "class") classFrames++;
          if (kind === "class" || kind === "object") homeFrames++;
          stack.push({ kind, key: kind === "class" || kind === "object", ternaries: 0 });
          break;
        }
        case "(":
        case "[":
        case "${":
          if (frame.kind === "object" && frame.key && token.value === "(") frame.key = false;
          stack.push({ kind: "expression", key: false, ternaries: 0 });
          break;
        case "}":
        case ")":
        case "]":
        case "$}": {
          if (stack.length === 1) break;
          const closed = stack.pop() as Frame;
          if (closed.kind === "class") classFrames--;
          if (closed.kind === "class" || closed.kind === "object") homeFrames--;
          // After a method body or a static block, the next name is a member name.
          const top = stack[stack.length - 1];
          if (top.kind === "class" && closed.kind === "block") top.key = true;
          break;
        }
        case ",":
          if (frame.kind === "object") frame.key = true;
          break;
        case ";":
          if (frame.kind === "class") frame.key = true;
          break;
        case "=":
          if (frame.kind === "class") frame.key = false;
          break;
        case "...":
          if (frame.kind === "object") frame.key = false;
          break;
        case "?":
          frame.ternaries++;
          break;
        case ":":
          if (frame.kind === "object" && frame.key) {
            frame.key = false;
            lastColon = "key";
          } else if (frame.ternaries > 0) {
            frame.ternaries--;
            lastColon = "ternary";
          } else lastColon = frame.kind === "block" ? "label" : "key";
          break;
      }
      continue;
    }

    if (token.kind === "private") {
      if (frame.kind === "class" && frame.key) continue; // a member's declaration
      // `this.#x`, `#x in o`: only a class inside the function can provide it.
      if (classFrames === 0) references.add(token.value);
      continue;
    }
    if (token.kind !== "name") continue;
    if (isPunct(previous, ".") || isPunct(previous, "?.")) continue; // a property name
    const word = token.value;

    if ((frame.kind === "object" || frame.kind === "class") && frame.key) {
      const keyFollows = next !== undefined &&
        (next.kind === "name" || next.kind === "string" || next.kind === "number" ||
          next.kind === "private" || isPunct(next, "[") || isPunct(next, "*") ||
          (frame.kind === "class" && isPunct(next, "{")));
      if (methodModifiers.has(word) && keyFollows) continue; // get / set / async / static
      if (frame.kind === "class") continue; // a member name
      if (isPunct(next, ":")) continue; // the colon ends the key
      if (isPunct(next, "(")) {
        frame.key = false; // a method name
        continue;
      }
      frame.key = false; // shorthand `{ x }` reads x
      if (!nonReferenceWords.has(word)) references.add(word);
      continue;
    }

    if (word === "class") {
      classBodyAt = stack.length;
      continue;
    }
    if (word === "break" || word === "continue") {
      if (next?.kind === "name" && !next.newlineBefore) i++; // a label
      continue;
    }
    if (word === "super") {
      if (homeFrames === 0) references.add(word);
      continue;
    }
    if (nonReferenceWords.has(word)) continue;
    if (
      isPunct(next, ":") && frame.kind === "block" && frame.ternaries === 0 &&
      !isWord(previous, "case")
    ) {
      continue; // a label
    }
    references.add(word);
  }
  return references;
}
