"""The wizard's forms: one per change kind, each turning a person's input into the change's JSON.

The renderer validates the result (every bad field at once, docs/changes.md); these forms only
shape the input, so the API and the pages refuse exactly the same things.
"""
from __future__ import annotations

import json
from typing import Any

from django import forms

from apps.clusters.inventory import Inventory, app_and_version

SERVICE_KINDS = ("traffic_shift", "tcp_traffic_shift", "request_routing", "fault_injection", "suspend_traffic",
                 "request_timeouts", "delete_routing")
WORKLOAD_KINDS = ("sidecar_injection",)


def service_versions(inventory: Inventory, namespace: str, service: str) -> list[str]:
    """The ``version`` labels of the workloads a service selects (the subsets a shift can name)."""
    svc = next((s for s in inventory.services if s.namespace == namespace and s.name == service), None)
    if svc is None or not svc.selector:
        return []
    versions = set()
    for w in inventory.workloads:
        if w.namespace == namespace and all(w.labels.get(k) == v for k, v in svc.selector.items()):
            version = app_and_version(w.labels)[1]
            if version:
                versions.add(version)
    return sorted(versions)


def _pct(label: str, required: bool = False) -> forms.IntegerField:
    return forms.IntegerField(label=label, required=required, min_value=0, max_value=100)


class ChangeForm(forms.Form):
    """Base: what every kind's form carries. ``to_change()`` builds the JSON the API takes."""

    submit_now = forms.BooleanField(label="Submit for review now", required=False, initial=True)
    take_over = forms.BooleanField(
        label="Replace routing objects Meshdeck did not create (the preview then shows their whole diff)",
        required=False)

    def __init__(self, *args, namespace: str, target: str, versions: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.namespace, self.target, self.versions = namespace, target, versions or []

    def base(self) -> dict[str, Any]:
        data: dict[str, Any] = {"namespace": self.namespace, "service": self.target}
        if self.cleaned_data.get("take_over"):
            data["take_over"] = True
        return data

    @classmethod
    def initial_from(cls, params: dict[str, Any]) -> dict[str, Any]:
        """The form's initial values for editing a change filed with ``params`` (its normalised input)."""
        return {"take_over": bool(params.get("take_over")), "submit_now": False}

    def to_change(self) -> dict[str, Any]:
        raise NotImplementedError


class TrafficShiftForm(ChangeForm):
    kind = "traffic_shift"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        even, rest = divmod(100, max(1, len(self.versions)))
        for i, v in enumerate(self.versions):
            self.fields[f"weight_{v}"] = forms.IntegerField(
                label=f"Weight of {v} (%)", initial=even + (1 if i < rest else 0), required=False)

    def to_change(self):
        weights = {v: self.cleaned_data.get(f"weight_{v}") or 0 for v in self.versions}
        return {"kind": self.kind, **self.base(), "weights": weights}

    @classmethod
    def initial_from(cls, params):
        weights = params.get("weights") or {}
        if isinstance(weights, list):
            weights = {w.get("version"): w.get("weight") for w in weights}
        return {**super().initial_from(params), **{f"weight_{v}": w for v, w in weights.items()}}


class TcpTrafficShiftForm(TrafficShiftForm):
    kind = "tcp_traffic_shift"


class RequestRoutingForm(ChangeForm):
    kind = "request_routing"
    match_type = forms.ChoiceField(label="Match on", choices=[("header", "Header"), ("uri", "URI"),
                                                              ("query", "Query parameter")])
    match_name = forms.CharField(label="Header or parameter name", required=False,
                                 help_text="e.g. end-user (not used for URI)")
    match_op = forms.ChoiceField(label="Operator", choices=[("exact", "exact"), ("prefix", "prefix"),
                                                            ("regex", "regex")])
    match_value = forms.CharField(label="Value", help_text="e.g. jason")
    route_to = forms.ChoiceField(label="Route matching requests to")
    default = forms.ChoiceField(label="Route every other request to")
    more_rules = forms.CharField(label="More rules (JSON list, optional)", required=False, widget=forms.Textarea(
        attrs={"rows": 3}), help_text='[{"match": [{"type": "uri", "op": "prefix", "value": "/v2"}], "route": "v2"}]')

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(v, v) for v in self.versions]
        self.fields["route_to"].choices = choices
        self.fields["default"].choices = choices

    def clean_more_rules(self):
        text = self.cleaned_data.get("more_rules") or ""
        if not text.strip():
            return []
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}.") from exc
        if not isinstance(value, list):
            raise forms.ValidationError("Give a JSON list of rules.")
        return value

    def to_change(self):
        cd = self.cleaned_data
        match = {"type": cd["match_type"], "op": cd["match_op"], "value": cd["match_value"]}
        if cd["match_type"] != "uri":
            match["name"] = cd.get("match_name") or ""
        rules = [{"match": [match], "route": cd["route_to"]}, *cd.get("more_rules", [])]
        return {"kind": self.kind, **self.base(), "rules": rules, "default": cd["default"]}

    @classmethod
    def initial_from(cls, params):
        rules = params.get("rules") or []
        out = {**super().initial_from(params), "default": params.get("default")}
        if rules:
            first = (rules[0].get("match") or [{}])[0]
            out.update(match_type=first.get("type"), match_name=first.get("name", ""), match_op=first.get("op"),
                       match_value=first.get("value"), route_to=rules[0].get("route"),
                       more_rules=json.dumps(rules[1:]) if len(rules) > 1 else "")
        return out


class RouteSettingsForm(ChangeForm):
    """Base of the forms of settings put on every HTTP route: ``settings()``, or a ``remove`` box."""

    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_change(self):
        data: dict[str, Any] = {"kind": self.kind, **self.base()}
        return {**data, "remove": True} if self.cleaned_data.get("remove") else {**data, **self.settings()}

    @classmethod
    def initial_from(cls, params):
        return {**super().initial_from(params), "remove": bool(params.get("remove"))}


class FaultInjectionForm(RouteSettingsForm):
    kind = "fault_injection"
    delay = forms.CharField(label="Delay (e.g. 5s)", required=False)
    delay_percentage = _pct("Delayed requests (%)")
    abort_status = forms.IntegerField(label="Abort with HTTP status", required=False, min_value=200, max_value=599)
    abort_percentage = _pct("Aborted requests (%)")
    remove = forms.BooleanField(label="Remove the faults instead", required=False)

    def settings(self):
        cd = self.cleaned_data
        out: dict[str, Any] = {}
        if cd.get("delay"):
            out["delay"] = {"fixed_delay": cd["delay"], "percentage": cd.get("delay_percentage") or 100}
        if cd.get("abort_status"):
            out["abort"] = {"http_status": cd["abort_status"], "percentage": cd.get("abort_percentage") or 100}
        return out

    @classmethod
    def initial_from(cls, params):
        delay, abort = params.get("delay") or {}, params.get("abort") or {}
        return {**super().initial_from(params), "delay": delay.get("fixed_delay"),
                "delay_percentage": delay.get("percentage"), "abort_status": abort.get("http_status"),
                "abort_percentage": abort.get("percentage")}


class SuspendTrafficForm(ChangeForm):
    kind = "suspend_traffic"
    version = forms.ChoiceField(label="Suspend", required=False)
    http_status = forms.IntegerField(label="Answer with HTTP status", initial=503, min_value=200, max_value=599)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [("", "the whole service")] + [(v, f"version {v}") for v in self.versions]

    def to_change(self):
        data = {"kind": self.kind, **self.base(), "http_status": self.cleaned_data["http_status"]}
        if self.cleaned_data.get("version"):
            data["version"] = self.cleaned_data["version"]
        return data

    @classmethod
    def initial_from(cls, params):
        return {**super().initial_from(params), "version": params.get("version") or "",
                "http_status": params.get("http_status") or 503}


class RequestTimeoutsForm(RouteSettingsForm):
    kind = "request_timeouts"
    timeout = forms.CharField(label="Request timeout (e.g. 2s)", required=False)
    attempts = forms.IntegerField(label="Retry attempts", required=False, min_value=0)
    per_try_timeout = forms.CharField(label="Timeout per try (e.g. 1s)", required=False)
    retry_on = forms.CharField(label="Retry on", required=False, initial="gateway-error,connect-failure,refused-stream")
    remove = forms.BooleanField(label="Remove timeouts and retries instead", required=False)

    def settings(self):
        cd = self.cleaned_data
        out: dict[str, Any] = {"timeout": cd["timeout"]} if cd.get("timeout") else {}
        if cd.get("attempts") is not None:
            out["retries"] = {"attempts": cd["attempts"],
                              **{k: cd[k] for k in ("per_try_timeout", "retry_on") if cd.get(k)}}
        return out

    @classmethod
    def initial_from(cls, params):
        retries = params.get("retries") or {}
        return {**super().initial_from(params), "timeout": params.get("timeout"), "attempts": retries.get("attempts"),
                "per_try_timeout": retries.get("per_try_timeout"), "retry_on": retries.get("retry_on")}


class DeleteRoutingForm(ChangeForm):
    kind = "delete_routing"

    def to_change(self):
        return {"kind": self.kind, **self.base()}


class SidecarInjectionForm(ChangeForm):
    kind = "sidecar_injection"
    take_over = None  # type: ignore[assignment]  # labels, not routing objects: Django drops the field
    state = forms.ChoiceField(label="Automatic sidecar injection", choices=[
        ("enabled", "Enable"), ("disabled", "Disable"), ("removed", "Remove the label")])
    restart = forms.CharField(label="Restart workloads (namespace only: names, comma-separated, or all)",
                              required=False)

    def to_change(self):
        data: dict[str, Any] = {"kind": self.kind, "namespace": self.namespace, "state": self.cleaned_data["state"]}
        if self.target:
            data["workload"] = self.target
        restart = (self.cleaned_data.get("restart") or "").strip()
        if restart and not self.target:
            data["restart"] = "all" if restart == "all" else [r.strip() for r in restart.split(",") if r.strip()]
        return data

    @classmethod
    def initial_from(cls, params):
        restart = params.get("restart") or []
        return {"submit_now": False, "state": params.get("state"),
                "restart": restart if isinstance(restart, str) else ", ".join(restart)}


FORMS: dict[str, type[ChangeForm]] = {f.kind: f for f in (
    RequestRoutingForm, FaultInjectionForm, TrafficShiftForm, TcpTrafficShiftForm, RequestTimeoutsForm,
    SuspendTrafficForm, DeleteRoutingForm, SidecarInjectionForm)}


class StepForm(forms.Form):
    """What a step's form on the change page posts (each step uses the fields it needs)."""

    password = forms.CharField(required=False, widget=forms.PasswordInput, strip=False)
    payload_hash = forms.CharField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    override_window = forms.BooleanField(required=False)
