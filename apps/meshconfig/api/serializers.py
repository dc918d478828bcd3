from __future__ import annotations

from rest_framework import serializers


class ReferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField()
    name = serializers.CharField()


class CheckSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable Meshdeck code, e.g. VS-SUBSET-NOT-FOUND (docs/validation.md)")
    kiali_code = serializers.CharField(allow_blank=True, help_text="The nearest Kiali code, e.g. KIA1107")
    severity = serializers.ChoiceField(choices=["error", "warning", "info"])
    message = serializers.CharField()
    path = serializers.CharField(
        help_text="YAML path the check points at, e.g. spec.http[0].route[1].destination.subset")
    references = serializers.SerializerMethodField()

    def get_references(self, obj) -> list[dict]:
        return [{"kind": k, "namespace": ns, "name": n} for (k, ns, n) in obj.references]


class ValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField(help_text="False when any check is an error (warnings keep it valid)")
    status = serializers.CharField(help_text="valid, warning or error")
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a field: DRF's metaclass takes it off the class
    warnings = serializers.IntegerField()
    checks = CheckSerializer(many=True)


# Which Istio object a row or a detail is about (read from its ``object``). A comment, not a
# docstring: drf-spectacular would give the subclasses' schemas its text as their description.
class _IstioObjectIdentitySerializer(serializers.Serializer):
    kind = serializers.CharField(source="object.kind")
    namespace = serializers.CharField(source="object.namespace")
    name = serializers.CharField(source="object.name")
    api_version = serializers.CharField(source="object.api_version")
    resource_version = serializers.CharField(source="object.resource_version")


class ConfigRowSerializer(_IstioObjectIdentitySerializer):
    validation = ValidationSerializer()


class AnnotatedCheckSerializer(CheckSerializer):
    line = serializers.IntegerField(allow_null=True, help_text="1-based line of `path` in `yaml`")

    def to_representation(self, instance):
        data = super().to_representation(instance.check)
        data["line"] = instance.line
        return data


class ConfigDetailSerializer(_IstioObjectIdentitySerializer):
    spec = serializers.JSONField(source="object.spec")
    labels = serializers.SerializerMethodField()
    annotations = serializers.SerializerMethodField()
    yaml = serializers.CharField()
    valid = serializers.BooleanField(source="validation.valid")
    status = serializers.CharField(source="validation.status")
    checks = AnnotatedCheckSerializer(many=True)
    related = ReferenceSerializer(many=True)

    def get_labels(self, obj) -> dict:
        return dict(obj.object.metadata.get("labels") or {})

    def get_annotations(self, obj) -> dict:
        return dict(obj.object.metadata.get("annotations") or {})
