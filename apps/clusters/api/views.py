from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.accounts.selectors import cluster_role, is_cluster_admin
from apps.audit.services import Target, audit_denied
from apps.core.api import body_field

from ..crypto import CredentialsUnreadable
from ..models import Cluster
from ..selectors import clusters_for_user, get_cluster_for_user
from ..services import cluster_create, cluster_target, cluster_test_connection, cluster_update
from ..simulated import simulator_topology_choices


class ClusterOutputSerializer(serializers.ModelSerializer):
    auth_method = serializers.SerializerMethodField(
        help_text="simulated, kubeconfig, token, none, or unreadable (no configured key decrypts the credentials)")
    my_role = serializers.SerializerMethodField()
    health_tolerances = serializers.JSONField(
        allow_null=True, help_text="The cluster's tolerances (Kiali's format); null: Kiali's defaults.")
    health_tolerances_problems = serializers.ListField(
        child=serializers.CharField(), read_only=True,
        help_text="Why the stored tolerances cannot be used (Kiali's defaults are used instead); empty when fine.")

    class Meta:
        model = Cluster
        fields = [
            "name", "kind", "simulator_topology", "api_server_url", "kube_context", "auth_method", "prometheus_url",
            "grafana_url", "tracing_url", "istio_namespace", "health_tolerances", "health_tolerances_problems",
            "last_checked_at",
            "last_check_ok", "my_role", "created_at",
        ]

    def get_auth_method(self, obj) -> str:
        try:
            return obj.auth_method
        except CredentialsUnreadable:  # one cluster's lost key must not fail the whole list
            return "unreadable"

    def get_my_role(self, obj) -> str | None:
        role = cluster_role(self.context["request"].user, obj)
        return role.label if role else None


class ConnectionCheckSerializer(serializers.Serializer):
    """One check of a connection test; which keys appear depends on the check and its outcome."""

    name = serializers.CharField(help_text="kubernetes or prometheus")
    ok = serializers.BooleanField()
    code = serializers.CharField(required=False, help_text="Failed checks: e.g. unreachable, tls, unauthorized")
    error = serializers.CharField(required=False, help_text="Failed checks: what is wrong and what to do")
    version = serializers.CharField(required=False, help_text="Kubernetes: the API server's version")
    namespaces = serializers.IntegerField(required=False, help_text="Kubernetes: namespaces the credentials list")
    istio_crds = serializers.CharField(required=False)
    istio_requests_total_series = serializers.IntegerField(required=False, help_text="Prometheus")
    detail = serializers.CharField(required=False)


class ConnectionReportSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="Every check passed")
    checks = ConnectionCheckSerializer(many=True)
    checked_at = serializers.DateTimeField()


class ClusterUpdateInputSerializer(serializers.Serializer):
    """The settings a cluster's admins change; any other field is refused (400), not ignored."""

    prometheus_url = serializers.URLField(required=False, allow_blank=True)
    grafana_url = serializers.URLField(required=False, allow_blank=True)
    tracing_url = serializers.URLField(required=False, allow_blank=True)
    istio_namespace = serializers.CharField(required=False, max_length=63)
    health_tolerances = serializers.JSONField(
        required=False, allow_null=True,
        help_text="Kiali's format, e.g. [{\"code\": \"5XX\", \"protocol\": \"http\", \"direction\": \".*\", "
                  "\"degraded\": 0, \"failure\": 10}]; null for Kiali's defaults. Each item is checked "
                  "(docs/graph-api.md).")

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            settable = ", ".join(self.fields)
            raise serializers.ValidationError(
                {name: [f"{name} cannot be changed here (settable: {settable})."] for name in unknown})
        return attrs


class ClusterInputSerializer(serializers.Serializer):
    name = serializers.SlugField(max_length=63)
    kind = serializers.ChoiceField(choices=Cluster.Kind.choices)
    simulator_topology = serializers.ChoiceField(choices=[], default="demo")
    kubeconfig = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    kube_context = serializers.CharField(required=False, allow_blank=True)
    api_server_url = serializers.URLField(required=False, allow_blank=True)
    token = serializers.CharField(required=False, allow_blank=True, write_only=True)
    ca_pem = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    prometheus_url = serializers.URLField(required=False, allow_blank=True)
    grafana_url = serializers.URLField(required=False, allow_blank=True)
    tracing_url = serializers.URLField(required=False, allow_blank=True)
    istio_namespace = serializers.CharField(required=False, default="istio-system")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The simulator registers its topologies once apps are ready, after this class is defined.
        self.fields["simulator_topology"].choices = simulator_topology_choices()


class ClusterViewSet(viewsets.ViewSet):
    """Clusters the caller may see; superusers add them."""

    lookup_field = "name"
    lookup_value_regex = "[-a-zA-Z0-9_]+"

    @extend_schema(responses=ClusterOutputSerializer(many=True))
    def list(self, request):
        qs = clusters_for_user(request.user)
        return Response(ClusterOutputSerializer(qs, many=True, context={"request": request}).data)

    @extend_schema(responses=ClusterOutputSerializer)
    def retrieve(self, request, name=None):
        cluster = get_cluster_for_user(request.user, name)
        return Response(ClusterOutputSerializer(cluster, context={"request": request}).data)

    @extend_schema(request=ClusterInputSerializer, responses={201: ClusterOutputSerializer})
    def create(self, request):
        if not request.user.is_superuser:
            message = "Only superusers add clusters."
            audit_denied("cluster.create", target=Target(type="cluster", name=body_field(request, "name", 63)),
                         message=message)
            raise PermissionDenied(message)
        data = ClusterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cluster = cluster_create(**data.validated_data)  # bad input raises: 400 with the field named
        return Response(ClusterOutputSerializer(cluster, context={"request": request}).data, status=201)

    @extend_schema(request=ClusterUpdateInputSerializer, responses={200: ClusterOutputSerializer})
    def partial_update(self, request, name=None):
        """Change a cluster's settings (its admins): Prometheus, Grafana and tracing URLs, Istio namespace,
        health tolerances."""
        cluster = get_cluster_for_user(request.user, name)
        if not is_cluster_admin(request.user, cluster):
            message = "Only the cluster's admins change its settings."
            audit_denied("cluster.update", target=cluster_target(cluster), message=message)
            raise PermissionDenied(message)
        data = ClusterUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cluster = cluster_update(cluster=cluster, **data.validated_data)
        return Response(ClusterOutputSerializer(cluster, context={"request": request}).data)

    @extend_schema(request=None, responses={200: ConnectionReportSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, name=None):
        """Test connection: Kubernetes version, Istio CRDs, Prometheus and Istio metrics."""
        cluster = get_cluster_for_user(request.user, name)
        if not is_cluster_admin(request.user, cluster):
            message = "Only the cluster's admins can test its connection."
            audit_denied("cluster.test", target=cluster_target(cluster), message=message)
            raise PermissionDenied(message)
        return Response(cluster_test_connection(cluster, record=True))
