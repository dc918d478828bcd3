"""The change-request API (issue 10, item 7): one view per operation; the rules live in the services."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.roles import Role
from apps.accounts.selectors import cluster_role
from apps.audit.services import Target, deny
from apps.clusters.selectors import get_cluster_for_user
from apps.core.api import error_responses, validated_input
from apps.core.errors import FieldInputError

from .. import services
from ..errors import ChangeInvalid
from ..selectors import changes_for_user, get_change_for_user
from .serializers import (
    ApplyInputSerializer,
    ApproveInputSerializer,
    ChangeCreateInputSerializer,
    ChangeDetailSerializer,
    ChangeOutputSerializer,
    RejectInputSerializer,
)

STEP_ERRORS = error_responses(400, 403, 404, 409)
CONTROL_FIELDS = ("submit",)


def _change_body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ChangeInvalid({"non_field_errors": ["Send the change as a JSON object."]})
    validated_input(ChangeCreateInputSerializer, request)
    return {k: v for k, v in request.data.items() if k not in CONTROL_FIELDS}


def _detail(request, change, code=status.HTTP_200_OK) -> Response:
    change.refresh_from_db()
    return Response(ChangeDetailSerializer(change, context={"request": request}).data, status=code)


class ClusterChangeListView(APIView):
    @extend_schema(request=ChangeCreateInputSerializer, responses={201: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="File a change request (a draft; submit: true submits it)")
    def post(self, request, cluster: str):
        obj = get_cluster_for_user(request.user, cluster)
        role = cluster_role(request.user, obj)
        if role is None or role < Role.OPERATOR:
            raise deny("change.create", target=Target(type="change", cluster=obj.name),
                       message="Filing a change needs the operator role on its namespace.")
        data = _change_body(request)
        submit = request.data.get("submit") in (True, "true", "1")
        change = services.change_create(cluster=obj, user=request.user, data=data, submit=submit)
        return _detail(request, change, status.HTTP_201_CREATED)


class ChangeListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("cluster", str), OpenApiParameter("namespace", str),
                    OpenApiParameter("status", str, description="One status or a comma-separated list"),
                    OpenApiParameter("kind", str), OpenApiParameter("requester", str),
                    OpenApiParameter("waiting", bool, description="Only changes waiting for my review")],
        responses={200: ChangeOutputSerializer(many=True), **error_responses(400)},
        summary="Change requests in namespaces you may see, newest first")
    def get(self, request):
        q = request.query_params
        bad = sorted(set(q.get("status", "").split(",")) - {""} - set(services.Status.values))
        if bad:
            raise FieldInputError("status", f"Unknown status {', '.join(bad)}: use "
                                            f"{', '.join(services.Status.values)}.")
        changes = changes_for_user(request.user, cluster=q.get("cluster", ""), namespace=q.get("namespace", ""),
                                   status=q.get("status", ""), kind=q.get("kind", ""),
                                   requester=q.get("requester", ""))
        if q.get("waiting") in ("1", "true"):
            from ..selectors import waiting_for_review

            ids = {c.pk for c in waiting_for_review(request.user)}
            changes = [c for c in changes if c.pk in ids]
        return Response(ChangeOutputSerializer(changes[:500], many=True).data)


class ChangeDetailView(APIView):
    @extend_schema(responses={200: ChangeDetailSerializer}, summary="One change request, with its preview")
    def get(self, request, change_id: int):
        return _detail(request, get_change_for_user(request.user, change_id))

    @extend_schema(request=ChangeCreateInputSerializer, responses={200: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="Edit a change (its requester): its approvals are void, a reviewed change is reviewed again")
    def patch(self, request, change_id: int):
        change = get_change_for_user(request.user, change_id)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ChangeInvalid({"non_field_errors": ["Send the change as a JSON object."]})
        data = {k: v for k, v in data.items() if k not in CONTROL_FIELDS}
        return _detail(request, services.change_edit(change=change, user=request.user, data=data))


def _step(summary: str, request=None, code: int = status.HTTP_200_OK):
    """A step view's OpenAPI operation, and the status of its answer."""
    def decorate(view):
        view.code = code
        return extend_schema_view(post=extend_schema(
            request=request, responses={code: ChangeDetailSerializer, **STEP_ERRORS}, summary=summary))(view)
    return decorate


def _body(request) -> dict:
    return request.data if isinstance(request.data, dict) else {}


def _text(body: dict, name: str) -> str:
    return str(body.get(name) or "")


def _review(request, field: str) -> dict:
    """An approval's or rejection's arguments: the reviewer, ``field`` (password or reason) and the
    payload hash the reviewer saw, if sent."""
    body = _body(request)
    return {"user": request.user, field: _text(body, field), "payload_hash": _text(body, "payload_hash") or None}


class _StepView(APIView):
    """POST changes/<id>/<step>/: ``step`` runs on the change (if the user may see it) and answers it."""

    code: int

    def step(self, change, request):
        raise NotImplementedError

    def post(self, request, change_id: int):
        change = self.step(get_change_for_user(request.user, change_id), request)
        return _detail(request, change, self.code)


@_step("Submit for review (rendered again and checked against the live cluster)")
class ChangeSubmitView(_StepView):
    def step(self, change, request):
        return services.change_submit(change=change, user=request.user)


@_step("Approve (another approver of the namespace; password again)", ApproveInputSerializer)
class ChangeApproveView(_StepView):
    def step(self, change, request):
        return services.change_approve(change=change, **_review(request, "password"))


@_step("Reject, with a reason", RejectInputSerializer)
class ChangeRejectView(_StepView):
    def step(self, change, request):
        return services.change_reject(change=change, **_review(request, "reason"))


@_step("Apply an approved change: the apply task is queued; the answer's status is approved until a "
       "worker claims it (applying), then applied, failed or stale (in the embedded default the task has "
       "already run)", ApplyInputSerializer)
class ChangeApplyView(_StepView):
    def step(self, change, request):
        body = _body(request)
        return services.change_request_apply(change=change, user=request.user, password=_text(body, "password"),
                                             override_window=body.get("override_window") in (True, "true", "1"))


@_step("Cancel (its requester, or a cluster admin)")
class ChangeCancelView(_StepView):
    def step(self, change, request):
        return services.change_cancel(change=change, user=request.user)


@_step("Roll back an applied change: files and submits a rollback change, reviewed like any other",
       code=status.HTTP_201_CREATED)
class ChangeRollbackView(_StepView):
    def step(self, change, request):
        return services.change_rollback(change=change, user=request.user)
