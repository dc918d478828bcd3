"""The change-request API (issue 10, item 7): one view per operation; the rules live in the services."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
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


class _StepView(APIView):
    input_serializer = None

    def _change(self, request, change_id):
        return get_change_for_user(request.user, change_id)


class ChangeSubmitView(_StepView):
    @extend_schema(request=None, responses={200: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="Submit for review (rendered again and checked against the live cluster)")
    def post(self, request, change_id: int):
        return _detail(request, services.change_submit(change=self._change(request, change_id), user=request.user))


class ChangeApproveView(_StepView):
    @extend_schema(request=ApproveInputSerializer, responses={200: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="Approve (another approver of the namespace; password again)")
    def post(self, request, change_id: int):
        change = self._change(request, change_id)
        body = request.data if isinstance(request.data, dict) else {}
        return _detail(request, services.change_approve(
            change=change, user=request.user, password=str(body.get("password") or ""),
            payload_hash=str(body.get("payload_hash") or "") or None))


class ChangeRejectView(_StepView):
    @extend_schema(request=RejectInputSerializer, responses={200: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="Reject, with a reason")
    def post(self, request, change_id: int):
        change = self._change(request, change_id)
        body = request.data if isinstance(request.data, dict) else {}
        return _detail(request, services.change_reject(change=change, user=request.user,
                                                       reason=str(body.get("reason") or ""),
                                              payload_hash=str(body.get("payload_hash") or "") or None))


class ChangeApplyView(_StepView):
    @extend_schema(request=ApplyInputSerializer, responses={200: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="Apply an approved change: the apply task is queued; the answer's status is approved "
                           "until a worker claims it (applying), then applied, failed or stale (in the embedded "
                           "default the task has already run)")
    def post(self, request, change_id: int):
        change = self._change(request, change_id)
        body = request.data if isinstance(request.data, dict) else {}
        override = body.get("override_window") in (True, "true", "1")
        return _detail(request, services.change_request_apply(change=change, user=request.user,
                                                     password=str(body.get("password") or ""),
                                                     override_window=override))


class ChangeCancelView(_StepView):
    @extend_schema(request=None, responses={200: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="Cancel (its requester, or a cluster admin)")
    def post(self, request, change_id: int):
        return _detail(request, services.change_cancel(change=self._change(request, change_id), user=request.user))


class ChangeRollbackView(_StepView):
    @extend_schema(request=None, responses={201: ChangeDetailSerializer, **STEP_ERRORS},
                   summary="Roll back an applied change: files and submits a rollback change, reviewed like any other")
    def post(self, request, change_id: int):
        rollback = services.change_rollback(change=self._change(request, change_id), user=request.user)
        return _detail(request, rollback, status.HTTP_201_CREATED)
