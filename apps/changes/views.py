"""Change pages: the list / review queue, a change's page with its steps, and the wizard per kind.

Every step goes through the services (the rules live there). Approving and applying ask for the
password; a correct one is remembered in the session for five minutes (``REAUTH_SESSION_KEY``).
"""
from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.roles import Role
from apps.accounts.selectors import is_cluster_admin, namespace_role, namespace_visibility
from apps.audit.models import AuditEvent
from apps.clusters.selectors import clusters_for_user, get_cluster_for_user
from apps.core.errors import MeshdeckError
from apps.meshconfig.pages import paginate

from . import services
from .errors import ChangeInvalid, ChangeNotFound
from .forms import FORMS, SERVICE_KINDS, StepForm, service_versions
from .kinds import CHANGE_KINDS
from .models import ChangeRequest
from .selectors import can_review, changes_for_user, get_change_for_user, preview_for_user, waiting_for_review

STEPS = ("submit", "approve", "reject", "apply", "cancel", "rollback")
Status = ChangeRequest.Status


@login_required
def change_list(request):
    q = request.GET
    waiting = q.get("waiting") == "1"
    status = q.get("status", "")
    if status and status not in Status.values:
        status = ""
    rows = (waiting_for_review(request.user) if waiting else
            changes_for_user(request.user, cluster=q.get("cluster", ""), namespace=q.get("namespace", ""),
                             status=status, kind=q.get("kind", "") if q.get("kind") in CHANGE_KINDS else ""))
    return render(request, "changes/change_list.html", {
        "page": paginate(request, rows), "waiting": waiting, "statuses": Status.choices,
        "kinds": [(k, v.title) for k, v in CHANGE_KINDS.items()],
        "clusters": list(clusters_for_user(request.user).values_list("name", flat=True)),
        "f": {"cluster": q.get("cluster", ""), "namespace": q.get("namespace", ""), "status": status,
              "kind": q.get("kind", "")},
    })


def _reauth_at(request) -> float | None:
    value = request.session.get(services.REAUTH_SESSION_KEY)
    return float(value) if value is not None else None


def _page(request, change, *, error: str = "", errors=None, status: int = 200):
    user = request.user
    role = namespace_role(user, change.cluster, change.namespace)
    events = AuditEvent.objects.filter(target_type="change", target_id=str(change.pk)).order_by("seq")
    reauth = _reauth_at(request)
    return render(request, "changes/change_detail.html", {
        "change": change, "preview": preview_for_user(user, change),
        "approvals": change.approvals.select_related("reviewer"),
        "events": events, "error": error, "errors": errors or {},
        "is_requester": change.requester_id == user.pk,
        "may_review": change.status == Status.SUBMITTED and can_review(user, change),
        "may_apply": change.status == Status.APPROVED and role is not None and role >= Role.APPROVER,
        "may_rollback": change.status == Status.APPLIED and role is not None and role >= Role.OPERATOR,
        "may_cancel": change.status in ChangeRequest.EDITABLE and (
            change.requester_id == user.pk or is_cluster_admin(user, change.cluster)),
        "is_admin": is_cluster_admin(user, change.cluster),
        "reauth_fresh": reauth is not None and time.time() - reauth <= services.reauth_seconds(),
        "kind_label": CHANGE_KINDS[change.kind].title if change.kind in CHANGE_KINDS else change.kind,
    }, status=status)


@login_required
def change_detail(request, change_id: int):
    try:
        change = get_change_for_user(request.user, change_id)
    except ChangeNotFound as exc:
        raise Http404(exc.message) from exc
    return _page(request, change)


@login_required
@require_POST
def change_step(request, change_id: int, step: str):
    try:
        change = get_change_for_user(request.user, change_id)
    except ChangeNotFound as exc:
        raise Http404(exc.message) from exc
    if step not in STEPS:
        raise Http404("No such step.")
    form = StepForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    password = data.get("password") or ""
    if password and request.user.check_password(password):
        request.session[services.REAUTH_SESSION_KEY] = time.time()
    try:
        if step == "submit":
            result = services.change_submit(change=change, user=request.user)
        elif step == "approve":
            result = services.change_approve(change=change, user=request.user, password=password or None,
                                             reauth_at=_reauth_at(request),
                                             payload_hash=data.get("payload_hash") or None)
        elif step == "reject":
            result = services.change_reject(change=change, user=request.user, reason=data.get("reason") or "",
                                            payload_hash=data.get("payload_hash") or None)
        elif step == "apply":
            result = services.change_request_apply(change=change, user=request.user, password=password or None,
                                                   reauth_at=_reauth_at(request),
                                                   override_window=bool(data.get("override_window")))
        elif step == "cancel":
            result = services.change_cancel(change=change, user=request.user)
        else:
            result = services.change_rollback(change=change, user=request.user)
    except MeshdeckError as exc:
        change.refresh_from_db()
        return _page(request, change, error=exc.message, errors=getattr(exc, "errors", None),
                     status=exc.http_status if 400 <= exc.http_status < 500 else 400)
    result.refresh_from_db()
    messages.success(request, f"Change #{result.pk}: {result.get_status_display().lower()}.")
    return redirect("changes:detail", change_id=result.pk)


@login_required
def change_new(request, cluster: str):
    """The wizard: ?kind=<kind>&namespace=<ns>&service=<name> (or &workload=<name>, or neither for a namespace);
    ?edit=<id>: the same form, filled with that change's input (its requester edits it)."""
    cluster_obj = get_cluster_for_user(request.user, cluster)
    editing = None
    if request.GET.get("edit", "").isdigit():
        try:
            editing = get_change_for_user(request.user, int(request.GET["edit"]))
        except ChangeNotFound as exc:
            raise Http404(exc.message) from exc
        if editing.cluster_id != cluster_obj.pk or editing.kind not in FORMS:
            raise Http404("This change cannot be edited here.")
    src = request.POST if request.method == "POST" else request.GET
    if editing is not None:
        params = editing.params
        kind, namespace = editing.kind, editing.namespace
        target = params.get("service") or params.get("workload") or ""
    else:
        kind = src.get("kind") or request.GET.get("kind", "")
        namespace = src.get("namespace") or request.GET.get("namespace", "")
        target = src.get("service") or src.get("workload") or ""
    if not namespace or not namespace_visibility(request.user, cluster_obj)(namespace):
        raise Http404("No such namespace, or not one you may see.")
    role = namespace_role(request.user, cluster_obj, namespace)
    context = {"cluster": cluster_obj, "kind": kind, "namespace": namespace, "target": target, "editing": editing,
               "kinds": [(k, CHANGE_KINDS[k].title) for k in FORMS], "service_kinds": SERVICE_KINDS}
    if role is None or role < Role.OPERATOR:
        context["error"] = (f"Filing a change needs the operator role on namespace {namespace}; "
                            f"you are {Role(role).label if role else 'not granted'}.")
        return render(request, "changes/change_new.html", context, status=403)
    if kind not in FORMS:
        return render(request, "changes/change_new.html", context)
    if kind in SERVICE_KINDS and not target:
        context["error"] = "Choose the service to change (open the wizard from the service's page)."
        return render(request, "changes/change_new.html", context, status=400)
    try:
        inventory = cluster_obj.gateway().inventory()
    except MeshdeckError as exc:
        context["error"] = exc.message
        return render(request, "changes/change_new.html", context, status=502)
    versions = service_versions(inventory, namespace, target) if kind in SERVICE_KINDS else []
    form_class = FORMS[kind]
    initial = form_class.initial_from(editing.params) if editing is not None else None
    form = form_class(request.POST if request.method == "POST" else None, namespace=namespace, target=target,
                      versions=versions, initial=initial)
    context.update(form=form, versions=versions, kind_label=CHANGE_KINDS[kind].title)
    if request.method == "POST" and form.is_valid():
        try:
            if editing is not None:
                data = form.to_change()
                data.setdefault("take_over", False)
                change = services.change_edit(change=editing, user=request.user, data=data)
                if change.status == Status.DRAFT and form.cleaned_data.get("submit_now"):
                    change = services.change_submit(change=change, user=request.user)
            else:
                change = services.change_create(cluster=cluster_obj, user=request.user, data=form.to_change(),
                                                submit=bool(form.cleaned_data.get("submit_now")))
        except ChangeInvalid as exc:
            for field, problems in exc.errors.items():
                form.add_error(None, f"{field}: {' '.join(problems)}" if field != "non_field_errors"
                               else " ".join(problems))
        except MeshdeckError as exc:
            context["error"] = exc.message
            return render(request, "changes/change_new.html", context,
                          status=exc.http_status if 400 <= exc.http_status < 500 else 400)
        else:
            verb = "edited (its approvals are void)" if editing is not None else "filed"
            messages.success(request, f"Change #{change.pk} {verb}: {change.get_status_display().lower()}.")
            return redirect("changes:detail", change_id=change.pk)
        return render(request, "changes/change_new.html", context, status=400)
    return render(request, "changes/change_new.html", context)

