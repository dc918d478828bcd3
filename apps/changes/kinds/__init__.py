"""Every change kind: its parameters, validation and renderer (one module each)."""
from __future__ import annotations

from .base import ChangeKind
from .delete_routing import parse_delete_routing, render_delete_routing
from .fault_injection import parse_fault_injection, render_fault_injection
from .request_routing import parse_request_routing, render_request_routing
from .request_timeouts import parse_request_timeouts, render_request_timeouts
from .rollback import parse_rollback, render_rollback
from .sidecar_injection import parse_sidecar_injection, render_sidecar_injection
from .suspend_traffic import parse_suspend_traffic, render_suspend_traffic
from .traffic_shift import parse_tcp_traffic_shift, parse_traffic_shift, render_traffic_shift

# Kiali's wizard order, then Meshdeck's own kinds.
CHANGE_KINDS: dict[str, ChangeKind] = {k.name: k for k in (
    ChangeKind("request_routing", "Request routing", parse_request_routing, render_request_routing),
    ChangeKind("fault_injection", "Fault injection", parse_fault_injection, render_fault_injection),
    ChangeKind("traffic_shift", "Traffic shifting", parse_traffic_shift, render_traffic_shift),
    ChangeKind("tcp_traffic_shift", "TCP traffic shifting", parse_tcp_traffic_shift, render_traffic_shift),
    ChangeKind("request_timeouts", "Request timeouts", parse_request_timeouts, render_request_timeouts),
    ChangeKind("suspend_traffic", "Suspend traffic", parse_suspend_traffic, render_suspend_traffic),
    ChangeKind("delete_routing", "Delete traffic routing", parse_delete_routing, render_delete_routing),
    ChangeKind("sidecar_injection", "Sidecar injection", parse_sidecar_injection, render_sidecar_injection),
    ChangeKind("rollback", "Rollback", parse_rollback, render_rollback),
)}

__all__ = ["CHANGE_KINDS", "ChangeKind"]
