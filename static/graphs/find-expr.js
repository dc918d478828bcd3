// Find and hide expressions for the traffic graph, e.g. `rt > 1000`, `%httperr > 5 or !mtls`,
// `name = reviews and healthy`, `ns = bookinfo`, `(degraded or failure) and node = workload`.
//
// Pure module (no DOM, no Cytoscape): compileExpression(text) returns a matcher over an
// element's data as the graph API sends it; a bad expression throws ExpressionError with a
// message a person can act on and the column where the problem starts.
//
// A term is about nodes (name, ns, idle, ...), about edges (rt, %httperr, mtls, ...) or both
// (healthy, degraded, failure). A term that does not apply to an element is "n/a", not
// false, so `!mtls` does not select every node: n/a propagates through `!`, `and` needs every
// term to apply, `or` needs one. An `and` of node-only and edge-only terms can never match and
// is refused with a message saying so.

export class ExpressionError extends Error {
  constructor(message, column) {
    super(column ? `${message} (at column ${column})` : message);
    this.name = "ExpressionError";
    this.column = column || null;
  }
}

const NODE = "node";
const EDGE = "edge";
const BOTH = [NODE, EDGE];

const STRING_OPS = ["=", "!=", "*=", "!*=", "^=", "$="];
const NUMBER_OPS = ["=", "!=", ">", ">=", "<", "<="];

function lower(v) {
  return v === undefined || v === null ? null : String(v).toLowerCase();
}

function errorPercent(protocol) {
  return (d) => (d.protocol === protocol ? d.percentErr : undefined);
}

function rate(name) {
  return (d) => (d.rates ? d.rates[name] : undefined);
}

// Fields compared with an operator: which elements they describe, their type, how to read them.
const FIELDS = {
  name: { on: [NODE], type: "string", get: (d) => [d.app, d.workload, d.service].filter(Boolean) },
  ns: { on: [NODE], type: "string", get: (d) => d.namespace },
  app: { on: [NODE], type: "string", get: (d) => d.app },
  version: { on: [NODE], type: "string", get: (d) => d.version },
  workload: { on: [NODE], type: "string", get: (d) => d.workload },
  service: { on: [NODE], type: "string", get: (d) => d.service },
  node: { on: [NODE], type: "string", get: (d) => (d.isServiceEntry ? ["serviceentry", d.nodeType] : d.nodeType) },
  cluster: { on: [NODE], type: "string", get: (d) => d.cluster },
  protocol: { on: [EDGE], type: "string", get: (d) => d.protocol },
  rt: { on: [EDGE], type: "number", get: (d) => d.responseTime, unit: "ms" },
  "%httperr": { on: [EDGE], type: "number", get: errorPercent("http"), unit: "%" },
  "%grpcerr": { on: [EDGE], type: "number", get: errorPercent("grpc"), unit: "%" },
  "%err": { on: [EDGE], type: "number", get: (d) => d.percentErr, unit: "%" },
  "%traffic": { on: [EDGE], type: "number", get: (d) => d.percentReq, unit: "%" },
  "%mtls": { on: [EDGE], type: "number", get: (d) => d.isMTLS, unit: "%" },
  http: { on: [EDGE], type: "number", get: rate("http"), unit: "req/s" },
  grpc: { on: [EDGE], type: "number", get: rate("grpc"), unit: "req/s" },
  tcp: { on: [EDGE], type: "number", get: rate("tcp"), unit: "B/s" },
};
const FIELD_ALIASES = {
  namespace: "ns", wl: "workload", svc: "service", type: "node", responsetime: "rt", "%error": "%err",
  "%errors": "%err", rps: "http",
};

function health(status) {
  return { on: BOTH, test: (d) => (d.healthStatus ? d.healthStatus === status : undefined) };
}

// Terms used alone (flags).
const FLAGS = {
  healthy: health("Healthy"),
  degraded: health("Degraded"),
  failure: health("Failure"),
  unhealthy: { on: BOTH, test: (d) => (d.healthStatus ? ["Degraded", "Failure"].includes(d.healthStatus) : undefined) },
  mtls: { on: [EDGE], test: (d) => typeof d.isMTLS === "number" && d.isMTLS > 0 },
  idle: { on: [NODE], test: (d) => Boolean(d.isIdle) },
  outside: { on: [NODE], test: (d) => Boolean(d.isOutside) },
  root: { on: [NODE], test: (d) => Boolean(d.isRoot) },
  inaccessible: { on: [NODE], test: (d) => Boolean(d.isInaccessible) },
  serviceentry: { on: [NODE], test: (d) => Boolean(d.isServiceEntry) },
  http: { on: [EDGE], test: (d) => d.protocol === "http" },
  grpc: { on: [EDGE], test: (d) => d.protocol === "grpc" },
  tcp: { on: [EDGE], test: (d) => d.protocol === "tcp" },
};
const FLAG_ALIASES = { trafficsource: "root", se: "serviceentry", fail: "failure" };

export const KNOWN_FIELDS = Object.keys(FIELDS);
export const KNOWN_FLAGS = Object.keys(FLAGS);

// -- tokens ------------------------------------------------------------------
const OPERATORS = ["!*=", ">=", "<=", "!=", "==", "*=", "^=", "$=", "&&", "||", "=", ">", "<", "!", "(", ")"];
const WORD = /[A-Za-z0-9_%.\-/:]/;

function tokenize(text) {
  const tokens = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) { i += 1; continue; }
    const column = i + 1;
    if (ch === '"' || ch === "'") {
      const end = text.indexOf(ch, i + 1);
      if (end < 0) { throw new ExpressionError(`The quote ${ch} is never closed`, column); }
      tokens.push({ kind: "word", value: text.slice(i + 1, end), quoted: true, column });
      i = end + 1;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: "op", value: op === "==" ? "=" : op, column });
      i += op.length;
      continue;
    }
    if (WORD.test(ch)) {
      let j = i;
      while (j < text.length && WORD.test(text[j])) { j += 1; }
      tokens.push({ kind: "word", value: text.slice(i, j), column });
      i = j;
      continue;
    }
    throw new ExpressionError(`Unexpected character “${ch}”`, column);
  }
  return tokens;
}

// -- parser: or > and > not > term -------------------------------------------
function describe(token) {
  return token ? `“${token.value}”` : "the end";
}

function termHelp() {
  return `fields: ${KNOWN_FIELDS.join(", ")}; flags: ${KNOWN_FLAGS.filter((f) => !(f in FIELDS)).join(", ")}`;
}

class Parser {
  constructor(tokens) {
    this.tokens = tokens;
    this.pos = 0;
  }

  peek() { return this.tokens[this.pos]; }

  next() { return this.tokens[this.pos++]; }

  isKeyword(token, ...words) {
    return token && token.kind === "word" && !token.quoted && words.includes(token.value.toLowerCase());
  }

  isOp(token, ...ops) {
    return token && token.kind === "op" && ops.includes(token.value);
  }

  parseOr() {
    const parts = [this.parseAnd()];
    while (this.isKeyword(this.peek(), "or") || this.isOp(this.peek(), "||")) {
      const joiner = this.next();
      if (!this.peek()) { throw new ExpressionError(`Expected a term after “${joiner.value}”`, joiner.column); }
      parts.push(this.parseAnd());
    }
    return parts.length === 1 ? parts[0] : orNode(parts);
  }

  parseAnd() {
    const first = this.peek();
    const parts = [this.parseNot()];
    while (this.isKeyword(this.peek(), "and") || this.isOp(this.peek(), "&&")) {
      const joiner = this.next();
      if (!this.peek()) { throw new ExpressionError(`Expected a term after “${joiner.value}”`, joiner.column); }
      parts.push(this.parseNot());
    }
    return parts.length === 1 ? parts[0] : andNode(parts, first.column);
  }

  parseNot() {
    const token = this.peek();
    if (this.isOp(token, "!") || this.isKeyword(token, "not")) {
      this.next();
      if (!this.peek()) { throw new ExpressionError(`Expected a term after “${token.value}”`, token.column); }
      return notNode(this.parseNot());
    }
    return this.parsePrimary();
  }

  parsePrimary() {
    const token = this.next();
    if (!token) { throw new ExpressionError("The expression ends too early: a term is missing"); }
    if (this.isOp(token, "(")) {
      const inner = this.parseOr();
      const close = this.next();
      if (!this.isOp(close, ")")) {
        throw new ExpressionError(`Expected “)” to close the “(” at column ${token.column}, found ${describe(close)}`,
          close ? close.column : undefined);
      }
      return inner;
    }
    if (token.kind !== "word" || this.isKeyword(token, "and", "or")) {
      throw new ExpressionError(`Expected a term, found ${describe(token)}`, token.column);
    }
    const op = this.peek();
    if (op && op.kind === "op" && [...STRING_OPS, ...NUMBER_OPS].includes(op.value)) {
      this.next();
      const value = this.next();
      if (!value || value.kind !== "word") {
        throw new ExpressionError(`Expected a value after “${token.value} ${op.value}”, found ${describe(value)}`,
          value ? value.column : op.column);
      }
      return comparisonNode(token, op, value);
    }
    return flagNode(token);
  }
}

// -- nodes: each has `on` (what it can describe) and evaluate(d, group) -> true | false | null (n/a) --
function flagNode(token) {
  const key = token.value.toLowerCase();
  const flag = FLAGS[FLAG_ALIASES[key] || key];
  if (!flag) {
    const field = FIELDS[FIELD_ALIASES[key] || key];
    if (field) {
      throw new ExpressionError(`“${token.value}” needs an operator and a value, e.g. ${example(token.value, field)}`,
        token.column);
    }
    throw new ExpressionError(`Unknown term “${token.value}”; ${termHelp()}`, token.column);
  }
  return {
    on: flag.on, label: key,
    evaluate(d, group) {
      if (!flag.on.includes(group)) { return null; }
      const result = flag.test(d);
      return result === undefined ? null : result;
    },
  };
}

function example(name, field) {
  return field.type === "number" ? `${name} > 10` : `${name} = reviews`;
}

function comparisonNode(fieldToken, opToken, valueToken) {
  const key = fieldToken.value.toLowerCase();
  const field = FIELDS[FIELD_ALIASES[key] || key];
  if (!field) {
    throw new ExpressionError(`Unknown field “${fieldToken.value}”; ${termHelp()}`, fieldToken.column);
  }
  const op = opToken.value;
  if (field.type === "number") {
    if (!NUMBER_OPS.includes(op)) {
      throw new ExpressionError(`${key} is a number: compare it with ${NUMBER_OPS.join(" ")}`, opToken.column);
    }
    const wanted = Number(valueToken.value);
    if (valueToken.value === "" || !Number.isFinite(wanted)) {
      throw new ExpressionError(
        `${key} is a number${field.unit ? ` (${field.unit})` : ""}: “${valueToken.value}” is not one`, valueToken.column);
    }
    const compare = { "=": (a) => a === wanted, "!=": (a) => a !== wanted, ">": (a) => a > wanted,
      ">=": (a) => a >= wanted, "<": (a) => a < wanted, "<=": (a) => a <= wanted }[op];
    return {
      on: field.on, label: key,
      evaluate(d, group) {
        if (!field.on.includes(group)) { return null; }
        const value = field.get(d);
        return typeof value === "number" && Number.isFinite(value) ? compare(value) : null;
      },
    };
  }
  if (!STRING_OPS.includes(op)) {
    throw new ExpressionError(`${key} is a name: compare it with ${STRING_OPS.join(" ")}`, opToken.column);
  }
  const wanted = valueToken.value.toLowerCase();
  const negated = op === "!=" || op === "!*=";
  const test = { "=": (a) => a === wanted, "!=": (a) => a === wanted, "*=": (a) => a.includes(wanted),
    "!*=": (a) => a.includes(wanted), "^=": (a) => a.startsWith(wanted), "$=": (a) => a.endsWith(wanted) }[op];
  return {
    on: field.on, label: key,
    evaluate(d, group) {
      if (!field.on.includes(group)) { return null; }
      const raw = field.get(d);
      const values = (Array.isArray(raw) ? raw : [raw]).map(lower).filter((v) => v !== null);
      if (!values.length) { return null; }
      const hit = values.some(test);
      return negated ? !hit : hit;
    },
  };
}

function notNode(inner) {
  return {
    on: inner.on, label: inner.label,
    evaluate(d, group) {
      const v = inner.evaluate(d, group);
      return v === null ? null : !v;
    },
  };
}

// The parts of an "and" or "or", evaluated in turn: the first to answer `decisive` decides;
// otherwise the answer is `weaker` if some part gave it, else `otherwise`.
function junction(parts, on, word, decisive, weaker, otherwise) {
  return {
    on, label: parts.map((p) => p.label).join(` ${word} `),
    evaluate(d, group) {
      let sawWeaker = false;
      for (const p of parts) {
        const v = p.evaluate(d, group);
        if (v === decisive) { return decisive; }
        if (v === weaker) { sawWeaker = true; }
      }
      return sawWeaker ? weaker : otherwise;
    },
  };
}

// "and": a false part decides; one that does not apply (null) leaves the answer unknown.
function andNode(parts, column) {
  const on = parts.reduce((acc, p) => acc.filter((g) => p.on.includes(g)), BOTH);
  if (!on.length) {
    const nodeTerm = parts.find((p) => p.on.length === 1 && p.on[0] === NODE);
    const edgeTerm = parts.find((p) => p.on.length === 1 && p.on[0] === EDGE);
    throw new ExpressionError(
      `This “and” can never match: ${nodeTerm.label} is about nodes and ${edgeTerm.label} about edges; ` +
      "use “or”, or two separate expressions", column);
  }
  return junction(parts, on, "and", false, null, true);
}

// "or": a true part decides; parts that do not apply (null) are left out.
function orNode(parts) {
  return junction(parts, BOTH.filter((g) => parts.some((p) => p.on.includes(g))), "or", true, false, null);
}

/**
 * Compile `text` into a matcher, or null for an empty expression.
 * matcher.matches(data, group): group is "node" or "edge"; compound boxes never match.
 * Throws ExpressionError for a bad expression.
 */
export function compileExpression(text) {
  const source = (text || "").trim();
  if (!source) { return null; }
  const parser = new Parser(tokenize(source));
  const tree = parser.parseOr();
  const rest = parser.peek();
  if (rest) {
    throw new ExpressionError(`Unexpected ${describe(rest)}: join terms with “and” or “or”`, rest.column);
  }
  return {
    text: source,
    on: tree.on,
    matches(data, group) {
      if (group === NODE && data.isBox) { return false; }
      return tree.evaluate(data, group) === true;
    },
  };
}

/** {matcher, error}: never throws (error is a message for the page). */
export function tryCompile(text) {
  try {
    return { matcher: compileExpression(text), error: null };
  } catch (err) {
    if (err instanceof ExpressionError) { return { matcher: null, error: err.message }; }
    throw err;
  }
}
