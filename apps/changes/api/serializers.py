"""The JSON shapes of change requests (documented in the OpenAPI schema)."""
from __future__ import annotations

from rest_framework import serializers

from ..models import Approval, ChangeRequest
from ..render import CHANGE_KINDS

# Named enums in the schema (settings.SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
CHANGE_KIND_CHOICES = sorted(CHANGE_KINDS)
CREATE_KIND_CHOICES = sorted(k for k in CHANGE_KINDS if k != "rollback")


class ApprovalOutputSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.username")
    decision = serializers.ChoiceField(choices=Approval.Decision.choices)
    reason = serializers.CharField()
    payload_hash = serializers.CharField(help_text="The payload the reviewer decided on.")
    at = serializers.DateTimeField()
    voided = serializers.SerializerMethodField(
        help_text="The change was edited or went stale since: it no longer counts.")

    def get_voided(self, obj) -> bool:
        return obj.voided_at is not None


class TargetSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField(allow_blank=True)
    name = serializers.CharField()


class ChangeOutputSerializer(serializers.Serializer):
    """A change request. The list leaves out ``preview`` (ask for one change to get it)."""

    id = serializers.IntegerField()
    cluster = serializers.CharField(source="cluster.name")
    namespace = serializers.CharField()
    kind = serializers.ChoiceField(choices=CHANGE_KIND_CHOICES)
    summary = serializers.CharField()
    status = serializers.ChoiceField(choices=ChangeRequest.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    requester = serializers.CharField(source="requester.username")
    params = serializers.JSONField(help_text="The normalised input: what the change asks for.")
    payload_hash = serializers.CharField(help_text="sha256 of the exact writes: send it with approve/reject.")
    targets = TargetSerializer(many=True)
    bound_versions = serializers.DictField(child=serializers.CharField(allow_blank=True),
                                           help_text="Target (Kind/namespace/name) -> resourceVersion read at submit.")
    approvals_needed = serializers.IntegerField()
    approvals = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    applied_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    error_message = serializers.CharField(help_text="Failed or stale: why (the API server's message).")
    rollback_of = serializers.IntegerField(source="rollback_of_id", allow_null=True)
    rolled_back_by = serializers.IntegerField(source="rolled_back_by_id", allow_null=True)
    url = serializers.SerializerMethodField(help_text="The change's page.")

    def get_approvals(self, obj) -> list[dict]:
        return list(ApprovalOutputSerializer(obj.approvals.select_related("reviewer"), many=True).data)

    def get_url(self, obj) -> str:
        return f"/changes/{obj.pk}/"


class ChangeDetailSerializer(ChangeOutputSerializer):
    preview = serializers.SerializerMethodField(
        help_text="summary, warnings, payload_hash, yaml, diffs, findings, broken_elsewhere, traffic (predicted "
                  "split; clients narrowed to namespaces you may see, hidden_clients counts the others), restarts, "
                  "blocking and blocking_reasons (docs/changes.md).")

    def get_preview(self, obj) -> dict:
        from ..selectors import preview_for_user

        return preview_for_user(self.context["request"].user, obj)


class ChangeCreateInputSerializer(serializers.Serializer):
    """The change itself: ``kind``, ``namespace`` and the kind's fields (docs/changes.md), e.g.
    ``{"kind": "traffic_shift", "namespace": "bookinfo", "service": "reviews", "weights": {"v2": 80, "v3": 20}}``.
    Add ``"submit": true`` to submit it for review at once."""

    kind = serializers.ChoiceField(choices=CREATE_KIND_CHOICES)
    namespace = serializers.CharField()
    submit = serializers.BooleanField(required=False, default=False)


class _PasswordAgainInput(serializers.Serializer):
    # a step that asks for the password again (no docstring: the schema would show it on every step)
    password = serializers.CharField(help_text="Your password again (recent authentication).",
                                     style={"input_type": "password"}, trim_whitespace=False)


class ApproveInputSerializer(_PasswordAgainInput):
    payload_hash = serializers.CharField(required=False, allow_blank=True,
                                         help_text="The payload_hash you reviewed: refused if the change moved on.")


class RejectInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, help_text="Why (required).")
    payload_hash = serializers.CharField(required=False, allow_blank=True)


class ApplyInputSerializer(_PasswordAgainInput):
    override_window = serializers.BooleanField(required=False, default=False,
                                               help_text="Cluster admins: apply outside the change windows (audited).")
