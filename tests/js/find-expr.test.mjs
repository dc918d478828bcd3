// Unit tests of the graph's find/hide expressions (node --test tests/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import { compileExpression, ExpressionError, tryCompile } from "../../static/graphs/find-expr.js";

// A slice of the Bookinfo workload graph, as the graph API sends it.
const NODES = {
  productpage: { nodeType: "workload", namespace: "bookinfo", workload: "productpage-v1", app: "productpage",
    version: "v1", healthStatus: "Healthy" },
  details: { nodeType: "workload", namespace: "bookinfo", workload: "details-v1", app: "details", version: "v1",
    healthStatus: "Degraded" },
  reviewsV2: { nodeType: "workload", namespace: "bookinfo", workload: "reviews-v2", app: "reviews", version: "v2",
    healthStatus: "Healthy" },
  reviewsSvc: { nodeType: "service", namespace: "bookinfo", service: "reviews", app: "reviews" },
  unknown: { nodeType: "unknown", namespace: "unknown", isRoot: true, isOutside: true, isInaccessible: true },
  idleHello: { nodeType: "workload", namespace: "helloworld", workload: "helloworld-v3", app: "helloworld",
    isIdle: true, healthStatus: "Failure" },
  httpbin: { nodeType: "service", namespace: "bookinfo", service: "httpbin.org", isOutside: true,
    isServiceEntry: { hosts: ["httpbin.org"], location: "MESH_EXTERNAL" } },
  box: { nodeType: "box", namespace: "bookinfo", isBox: "namespace" },
};
const EDGES = {
  toDetails: { protocol: "http", rates: { http: 10, http5xx: 0.2 }, percentErr: 2.0, percentReq: 47.6,
    responseTime: 9, isMTLS: 100, healthStatus: "Degraded" },
  slow: { protocol: "http", rates: { http: 3.33 }, percentErr: 0, percentReq: 33.3, responseTime: 1500,
    isMTLS: 100, healthStatus: "Healthy" },
  plain: { protocol: "http", rates: { http: 0.5 }, percentErr: 0, percentReq: 100, responseTime: 20, isMTLS: 0,
    healthStatus: "Healthy" },
  grpc: { protocol: "grpc", rates: { grpc: 5, grpcErr: 0.75 }, percentErr: 15, responseTime: 30, isMTLS: 100,
    healthStatus: "Failure" },
  tcp: { protocol: "tcp", rates: { tcp: 1200 }, isMTLS: 100, healthStatus: "NA" },
  neverReached: { protocol: "http", rates: { http: 1 }, percentErr: 0, responseTime: 5, isMTLS: null,
    healthStatus: "Healthy" },
};

function matching(text) {
  const m = compileExpression(text);
  return [
    ...Object.entries(NODES).filter(([, d]) => m.matches(d, "node")).map(([k]) => k),
    ...Object.entries(EDGES).filter(([, d]) => m.matches(d, "edge")).map(([k]) => k),
  ].sort();
}

function errorOf(text) {
  try {
    compileExpression(text);
  } catch (err) {
    assert.ok(err instanceof ExpressionError, `not an ExpressionError: ${err}`);
    return err.message;
  }
  assert.fail(`“${text}” compiled but should not`);
}

test("the issue's examples select what they say", () => {
  assert.deepEqual(matching("rt > 1000"), ["slow"]);
  assert.deepEqual(matching("%httperr > 5"), []);
  assert.deepEqual(matching("%httperr > 1"), ["toDetails"]);
  assert.deepEqual(matching("name = reviews"), ["reviewsSvc", "reviewsV2"]);
  assert.deepEqual(matching("ns = bookinfo"), ["details", "httpbin", "productpage", "reviewsSvc", "reviewsV2"]);
  assert.deepEqual(matching("healthy"), ["neverReached", "plain", "productpage", "reviewsV2", "slow"]);
  assert.deepEqual(matching("!mtls"), ["neverReached", "plain"]);
});

test("a term that does not apply to an element leaves it out, even negated", () => {
  // !mtls is about edges: no node is selected, and no edge because of a node-only term
  assert.ok(!matching("!mtls").some((k) => k in NODES));
  assert.ok(!matching("!(ns = bookinfo)").some((k) => k in EDGES));
  assert.deepEqual(matching("!(ns = bookinfo)"), ["idleHello", "unknown"]);
  // %grpcerr is n/a on http edges, not 0
  assert.deepEqual(matching("%grpcerr < 100"), ["grpc"]);
  // rt is n/a on TCP edges (no response time)
  assert.ok(!matching("rt < 100000").includes("tcp"));
});

test("and / or, with precedence and parentheses, in either spelling", () => {
  assert.deepEqual(matching("name = reviews and node = service"), ["reviewsSvc"]);
  assert.deepEqual(matching("rt > 1000 or %err >= 10"), ["grpc", "slow"]);
  assert.deepEqual(matching("rt > 1000 || %err >= 10"), ["grpc", "slow"]);
  // and binds tighter than or
  assert.deepEqual(matching("degraded or healthy and node = service"), ["details", "toDetails"]);
  assert.deepEqual(matching("(degraded or healthy) and node = workload"), ["details", "productpage", "reviewsV2"]);
  // a node term or an edge term: both kinds can match
  assert.deepEqual(matching("name = details or rt > 1000"), ["details", "slow"]);
  assert.deepEqual(matching("NOT healthy AND ns = bookinfo"), ["details"]);
  // every term of an "and" must apply: !idle is about nodes, so no edge is selected here
  assert.deepEqual(matching("unhealthy && !idle"), ["details"]);
  assert.deepEqual(matching("unhealthy"), ["details", "grpc", "idleHello", "toDetails"]);
});

test("string operators, quoting, aliases and case", () => {
  assert.deepEqual(matching("workload ^= reviews"), ["reviewsV2"]);
  assert.deepEqual(matching("name *= page"), ["productpage"]);
  assert.deepEqual(matching("name $= .org"), ["httpbin"]);
  assert.deepEqual(matching("app != reviews and ns = bookinfo"), ["details", "productpage"]);
  assert.deepEqual(matching('svc = "httpbin.org"'), ["httpbin"]);
  assert.deepEqual(matching("Namespace = BookInfo and version = v2"), ["reviewsV2"]);
  assert.deepEqual(matching("node = serviceentry"), ["httpbin"]);
  assert.deepEqual(matching("serviceentry"), ["httpbin"]);
  assert.deepEqual(matching("protocol = grpc or tcp"), ["grpc", "tcp"]);
  assert.deepEqual(matching("tcp > 1000"), ["tcp"]);
  assert.deepEqual(matching("http >= 10"), ["toDetails"]);
  assert.deepEqual(matching("%traffic = 100"), ["plain"]);
  assert.deepEqual(matching("root"), ["unknown"]);
  assert.deepEqual(matching("idle"), ["idleHello"]);
  assert.deepEqual(matching("rt==9"), ["toDetails"]);
});

test("compound boxes never match", () => {
  assert.ok(!matching("ns = bookinfo").includes("box"));
  assert.ok(!matching("!idle").includes("box"));
});

test("an empty expression is no filter", () => {
  assert.equal(compileExpression(""), null);
  assert.equal(compileExpression("   "), null);
  assert.deepEqual(tryCompile(""), { matcher: null, error: null });
});

test("bad expressions say what is wrong and where", () => {
  assert.match(errorOf("rt >"), /Expected a value after “rt >”.*column 4/);
  assert.match(errorOf("rt > fast"), /rt is a number \(ms\): “fast” is not one \(at column 6\)/);
  assert.match(errorOf("speed > 3"), /Unknown field “speed”.*fields: name, ns/);
  assert.match(errorOf("happy"), /Unknown term “happy”.*flags: .*healthy/);
  assert.match(errorOf("rt"), /“rt” needs an operator and a value, e.g. rt > 10/);
  assert.match(errorOf("name > 3"), /name is a name: compare it with = != \*=/);
  assert.match(errorOf("rt *= 3"), /rt is a number: compare it with = != > >= < <=/);
  assert.match(errorOf("(healthy or idle"), /Expected “\)” to close the “\(” at column 1, found the end/);
  assert.match(errorOf("healthy idle"), /Unexpected “idle”: join terms with “and” or “or” \(at column 9\)/);
  assert.match(errorOf("healthy and"), /Expected a term after “and”/);
  assert.match(errorOf("and healthy"), /Expected a term, found “and”/);
  assert.match(errorOf("name = 'reviews"), /The quote ' is never closed/);
  assert.match(errorOf("rt > 5 # x"), /Unexpected character “#”/);
  assert.match(errorOf("name = reviews and rt > 1000"),
    /can never match: name is about nodes and rt about edges/);
  assert.match(errorOf("!"), /Expected a term after “!”/);
  assert.match(errorOf(")"), /Expected a term, found “\)”/);
});

test("tryCompile turns an error into a message and never throws", () => {
  const { matcher, error } = tryCompile("rt > ");
  assert.equal(matcher, null);
  assert.match(error, /Expected a value/);
  assert.ok(tryCompile("healthy").matcher.matches(NODES.productpage, "node"));
});
