"""Every change kind rejects bad input with a message naming the field and saying what to give.

Table-driven: each row is (a valid input of the kind, changed so that it is wrong),
the field that must be named and words the message must contain. The cluster is
the simulator's demo mesh (Bookinfo: reviews v1/v2/v3, mongodb over TCP).
"""
from __future__ import annotations

import pytest

from apps.changes.errors import ChangeInvalid
from apps.changes.render import render_change

SHIFT = {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
         "weights": {"v1": 0, "v2": 80, "v3": 20}}
TCP = {"kind": "tcp_traffic_shift", "namespace": "bookinfo", "service": "mongodb", "weights": {"v1": 100}}
JASON = {"type": "header", "name": "end-user", "op": "exact", "value": "jason"}
ROUTING = {"kind": "request_routing", "namespace": "bookinfo", "service": "reviews",
           "rules": [{"match": [JASON], "route": "v2"}], "default": "v1"}
FAULT = {"kind": "fault_injection", "namespace": "bookinfo", "service": "ratings",
         "delay": {"fixed_delay": "5s", "percentage": 50}, "abort": {"http_status": 503, "percentage": 10}}
SUSPEND = {"kind": "suspend_traffic", "namespace": "bookinfo", "service": "reviews", "version": "v3"}
TIMEOUTS = {"kind": "request_timeouts", "namespace": "bookinfo", "service": "details", "timeout": "2s",
            "retries": {"attempts": 3, "per_try_timeout": "1s", "retry_on": "5xx,connect-failure"}}
DELETE = {"kind": "delete_routing", "namespace": "bookinfo", "service": "reviews"}
NS_INJECTION = {"kind": "sidecar_injection", "namespace": "bookinfo", "state": "disabled"}
WL_INJECTION = {"kind": "sidecar_injection", "namespace": "bookinfo", "workload": "ratings-v1", "state": "disabled"}
ROLLBACK = {"kind": "rollback", "change": "7", "prior_states": [
    {"target": {"kind": "VirtualService", "namespace": "bookinfo", "name": "reviews"}, "state": None}]}


def changed(base: dict, **fields) -> dict:
    out = {**base, **fields}
    return {k: v for k, v in out.items() if v is not DROP}


DROP = object()

CASES = [
    # -- any kind
    ("unknown kind", {"kind": "shift_traffic"}, "kind", "must be one of"),
    ("no kind", {"namespace": "bookinfo"}, "kind", "must be one of"),
    ("unknown namespace", changed(SHIFT, namespace="bookinf"), "namespace", "Namespace bookinf does not exist"),
    ("no namespace", changed(SHIFT, namespace=DROP), "namespace", "Give the namespace"),
    ("misspelt field", changed(SHIFT, weigths={"v1": 100}), "weigths", "Did you mean 'weights'"),
    ("take_over not a boolean", changed(SHIFT, take_over="yes"), "take_over", "true or false"),
    # -- traffic shifting
    ("weights sum below 100", changed(SHIFT, weights={"v1": 10, "v2": 80}), "weights", "add up to 90, not 100"),
    ("weights sum above 100", changed(SHIFT, weights={"v2": 80, "v3": 40}), "weights", "add up to 120, not 100"),
    ("negative weight", changed(SHIFT, weights={"v1": -20, "v2": 100, "v3": 20}), "weights",
     "weight of v1 is -20: weights cannot be negative"),
    ("weight above 100", changed(SHIFT, weights={"v1": 120, "v2": -20}), "weights", "at most 100"),
    ("fractional weight", changed(SHIFT, weights={"v2": 80.5, "v3": 19.5}), "weights",
     "weight of v2 must be a whole number from 0 to 100, not 80.5"),
    ("weight as text", changed(SHIFT, weights={"v2": "80", "v3": 20}), "weights", "whole number"),
    ("weight as boolean", changed(SHIFT, weights={"v2": True, "v3": 99}), "weights", "whole number"),
    ("unknown version", changed(SHIFT, weights={"v2": 80, "v4": 20}), "weights",
     "has no version v4; its versions are v1, v2, v3"),
    ("duplicate version", changed(SHIFT, weights=[{"version": "v2", "weight": 50}, {"version": "v2", "weight": 50}]),
     "weights", "Version v2 is listed twice"),
    ("no weights", changed(SHIFT, weights=DROP), "weights", "Give a weight per version"),
    ("empty weights", changed(SHIFT, weights={}), "weights", "at least one version"),
    ("malformed weight entry", changed(SHIFT, weights=[{"v2": 100}]), "weights", '"version"'),
    ("unknown service", changed(SHIFT, service="reviewz"), "service",
     "Service bookinfo/reviewz does not exist. Services there: details, mongodb"),
    ("no service", changed(SHIFT, service=DROP), "service", "Give the service"),
    ("HTTP shift of a TCP service", changed(SHIFT, service="mongodb", weights={"v1": 100}), "service",
     "serves no HTTP port"),
    ("service without versions", changed(SHIFT, namespace="helloworld", service="sleep", weights={"v1": 100}),
     "service", "selects no workload with a version label"),
    # -- TCP traffic shifting
    ("TCP shift of an HTTP service", changed(TCP, service="reviews"), "service", "serves no TCP port"),
    ("TCP weights sum", changed(TCP, weights={"v1": 50}), "weights", "add up to 50, not 100"),
    ("TCP unknown version", changed(TCP, weights={"v2": 100}), "weights", "has no version v2"),
    # -- request routing
    ("no rules", changed(ROUTING, rules=[]), "rules", "at least one rule"),
    ("no default", changed(ROUTING, default=DROP), "default", "without one they would get 404"),
    ("rule without match", changed(ROUTING, rules=[{"route": "v2"}]), "rules[0].match", "at least one condition"),
    ("unknown match type", changed(ROUTING, rules=[{"match": [{**JASON, "type": "cookie"}], "route": "v2"}]),
     "rules[0].match[0].type", "header, uri, query"),
    ("unknown operator", changed(ROUTING, rules=[{"match": [{**JASON, "op": "contains"}], "route": "v2"}]),
     "rules[0].match[0].op", "exact, prefix, regex"),
    ("header without name", changed(ROUTING, rules=[{"match": [{**JASON, "name": ""}], "route": "v2"}]),
     "rules[0].match[0].name", "name of the header"),
    ("uppercase header", changed(ROUTING, rules=[{"match": [{**JASON, "name": "End User"}], "route": "v2"}]),
     "rules[0].match[0].name", "lowercase"),
    ("empty value", changed(ROUTING, rules=[{"match": [{**JASON, "value": ""}], "route": "v2"}]),
     "rules[0].match[0].value", "non-empty"),
    ("bad regex", changed(ROUTING, rules=[{"match": [{**JASON, "op": "regex", "value": "ja(son"}], "route": "v2"}]),
     "rules[0].match[0].value", "not a regular expression"),
    ("uri without slash", changed(ROUTING, rules=[{"match": [{"type": "uri", "op": "prefix", "value": "api"}],
                                                   "route": "v2"}]), "rules[0].match[0].value", "starts with '/'"),
    ("uri with a name", changed(ROUTING, rules=[{"match": [{"type": "uri", "name": "x", "op": "prefix",
                                                            "value": "/api"}], "route": "v2"}]),
     "rules[0].match[0].name", "no name"),
    ("query without name", changed(ROUTING, rules=[{"match": [{"type": "query", "op": "exact", "value": "1"}],
                                                    "route": "v2"}]), "rules[0].match[0].name", "query parameter"),
    ("same header twice", changed(ROUTING, rules=[{"match": [JASON, {**JASON, "value": "bob"}], "route": "v2"}]),
     "rules[0].match[1]", "matched twice"),
    ("route to unknown version", changed(ROUTING, rules=[{"match": [JASON], "route": "v9"}]), "rules[0].route",
     "has no version v9"),
    ("route weights sum", changed(ROUTING, rules=[{"match": [JASON], "route": {"v2": 50, "v3": 40}}]),
     "rules[0].route", "add up to 90"),
    ("default unknown version", changed(ROUTING, default="v7"), "default", "has no version v7"),
    ("misspelt rule field", changed(ROUTING, rules=[{"match": [JASON], "routes": "v2"}]), "rules[0].routes",
     "Did you mean 'route'"),
    # -- fault injection
    ("neither delay nor abort", changed(FAULT, delay=DROP, abort=DROP), "non_field_errors", "delay, an abort or both"),
    ("bad delay duration", changed(FAULT, delay={"fixed_delay": "5 seconds", "percentage": 50}),
     "delay.fixed_delay", 'duration such as "2s"'),
    ("zero delay", changed(FAULT, delay={"fixed_delay": "0s"}), "delay.fixed_delay", "at least 1ms"),
    ("delay percentage above 100", changed(FAULT, delay={"fixed_delay": "1s", "percentage": 150}),
     "delay.percentage", "at most 100"),
    ("delay percentage zero", changed(FAULT, delay={"fixed_delay": "1s", "percentage": 0}), "delay.percentage",
     "more than 0"),
    ("abort status out of range", changed(FAULT, abort={"http_status": 99}), "abort.http_status", "200 to 599"),
    ("abort status as text", changed(FAULT, abort={"http_status": "503"}), "abort.http_status", "whole number"),
    ("abort percentage text", changed(FAULT, abort={"http_status": 503, "percentage": "ten"}), "abort.percentage",
     "number from 0 to 100"),
    ("remove with settings", changed(FAULT, remove=True), "remove", "not both"),
    ("remove what is not there", {"kind": "fault_injection", "namespace": "bookinfo", "service": "ratings",
                                  "remove": True}, "remove", "has no fault injection to remove"),
    ("fault on a TCP service", changed(FAULT, service="mongodb"), "service", "serves no HTTP port"),
    # -- suspend
    ("suspend unknown version", changed(SUSPEND, version="v9"), "version", "has no version v9"),
    ("suspend with bad status", changed(SUSPEND, http_status=700), "http_status", "200 to 599"),
    ("suspend a TCP service", changed(SUSPEND, service="mongodb", version=DROP), "service", "serves no HTTP port"),
    # -- timeouts and retries
    ("bad timeout", changed(TIMEOUTS, timeout="2 s"), "timeout", 'duration such as "2s"'),
    ("negative attempts", changed(TIMEOUTS, retries={"attempts": -1}), "retries.attempts", "whole number from 0"),
    ("bad per-try timeout", changed(TIMEOUTS, retries={"attempts": 2, "per_try_timeout": "fast"}),
     "retries.per_try_timeout", "duration"),
    ("unknown retry condition", changed(TIMEOUTS, retries={"attempts": 2, "retry_on": "5xx,flaky"}),
     "retries.retry_on", "Unknown retry condition 'flaky'"),
    ("neither timeout nor retries", changed(TIMEOUTS, timeout=DROP, retries=DROP), "non_field_errors",
     "timeout, retries or both"),
    ("remove timeouts that are not there", {"kind": "request_timeouts", "namespace": "bookinfo",
                                            "service": "details", "remove": True}, "remove", "no timeout or retries"),
    # -- delete routing
    ("delete what Meshdeck did not generate", DELETE, "service", "Meshdeck generated no VirtualService"),
    ("delete without service", changed(DELETE, service=DROP), "service", "Give the service"),
    # -- sidecar injection
    ("unknown state", changed(NS_INJECTION, state="off"), "state", "enabled, disabled, removed"),
    ("namespace already so", changed(NS_INJECTION, state="enabled"), "state",
     "already has istio-injection=enabled: nothing to change"),
    ("remove a missing label", changed(NS_INJECTION, namespace="istio-system", state="removed"), "state",
     "already has no istio-injection label"),
    ("restart unknown workload", changed(NS_INJECTION, restart=["ratings-v9"]), "restart", "ratings-v9"),
    ("restart not a list", changed(NS_INJECTION, restart="ratings-v1"), "restart", 'list of names, or "all"'),
    ("unknown workload", changed(WL_INJECTION, workload="ratings-v2"), "workload",
     "Workload bookinfo/ratings-v2 does not exist"),
    ("workload already so", changed(WL_INJECTION, namespace="istio-system", workload="istiod"), "state",
     "already has sidecar.istio.io/inject=false"),
    ("restart with a workload", changed(WL_INJECTION, restart=["ratings-v1"]), "restart", "restarts its pods already"),
    ("bad workload kind", changed(WL_INJECTION, workload_kind="CronJob"), "workload_kind", "Deployment"),
    ("workload of another kind", changed(WL_INJECTION, workload_kind="StatefulSet"), "workload",
     "does not exist as a StatefulSet"),
    # -- rollback
    ("nothing recorded", changed(ROLLBACK, prior_states=[]), "prior_states", "prior state of every object"),
    ("malformed prior state", changed(ROLLBACK, prior_states=[{"state": None}]), "prior_states[0]", '"target"'),
    ("prior of an unsupported kind", changed(ROLLBACK, prior_states=[
        {"target": {"kind": "Secret", "namespace": "bookinfo", "name": "x"}, "state": None}]),
     "prior_states[0].target", "Cannot restore a Secret"),
    ("prior manifest of another object", changed(ROLLBACK, prior_states=[
        {"target": {"kind": "VirtualService", "namespace": "bookinfo", "name": "reviews"},
         "state": {"kind": "VirtualService", "metadata": {"name": "ratings", "namespace": "bookinfo"}}}]),
     "prior_states[0].state", "not the one of VirtualService bookinfo/reviews"),
    ("prior labels not text", changed(ROLLBACK, prior_states=[
        {"target": {"kind": "Namespace", "namespace": "", "name": "bookinfo"}, "state": {"labels": {"a": 1}}}]),
     "prior_states[0].state", "text or null"),
    ("already rolled back", ROLLBACK, "prior_states", "already as it was before the change"),
]


@pytest.mark.parametrize("data,field,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_rejected_naming_the_field(inventory, data, field, fragment):
    with pytest.raises(ChangeInvalid) as caught:
        render_change(data, inventory)
    errors = caught.value.errors
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]
    assert fragment in str(caught.value)  # the one-line message carries it too
    assert caught.value.http_status == 400 and caught.value.code == "invalid"


VALID = [SHIFT, TCP, ROUTING, FAULT, SUSPEND, TIMEOUTS, NS_INJECTION, WL_INJECTION,
         changed(SHIFT, weights={"v1": 0, "v2": 100, "v3": 0.0}),  # zero weights route nothing, and are fine
         changed(SHIFT, weights=[{"version": "v2", "weight": 50}, {"version": "v3", "weight": 50}]),
         changed(NS_INJECTION, state="enabled", restart="all")]  # no label change, but restarts


@pytest.mark.parametrize("data", VALID, ids=lambda d: d["kind"])
def test_valid_input_renders_and_its_normalised_params_render_the_same(inventory, data):
    rendered = render_change(data, inventory)
    assert rendered.writes
    again = render_change(rendered.params, inventory)
    assert again.payload() == rendered.payload()


def test_every_problem_is_reported_at_once(inventory):
    data = {"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews",
            "weights": {"v2": 80.5, "v9": 10}, "take_over": "no", "colour": "blue"}
    with pytest.raises(ChangeInvalid) as caught:
        render_change(data, inventory)
    assert set(caught.value.errors) == {"weights", "take_over", "colour"}
    assert len(caught.value.errors["weights"]) == 2


def test_input_that_is_not_an_object_is_rejected(inventory):
    with pytest.raises(ChangeInvalid) as caught:
        render_change(["traffic_shift"], inventory)  # type: ignore[arg-type]
    assert "kind" in caught.value.errors
