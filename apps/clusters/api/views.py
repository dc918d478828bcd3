from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from apps.accounts.selectors import cluster_role, is_cluster_admin
from apps.audit.services import Target, audit_denied
from apps.core.api import validation_error_response

from ..models import Cluster
from ..selectors import clusters_for_user, get_cluster_for_user
from ..services import ClusterInputError, cluster_create, cluster_target, cluster_test_connection
from ..simulated import simulator_topology_choices


class ClusterOutputSerializer(serializers.ModelSerializer):
    auth_method = serializers.CharField(read_only=True)
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = [
            "name", "kind", "simulator_topology", "api_server_url", "kube_context", "auth_method", "prometheus_url",
            "grafana_url", "tracing_url", "istio_namespace", "health_tolerances", "last_checked_at",
            "last_check_ok", "my_role", "created_at",
        ]

    def get_my_role(self, obj) -> str | None:
        role = cluster_role(self.context["request"].user, obj)
        return role.label if role else None


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
            audit_denied("cluster.create", target=Target(type="cluster", name=str(request.data.get("name", ""))[:63]),
                         message=message)
            raise PermissionDenied(message)
        data = ClusterInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            cluster = cluster_create(**data.validated_data)
        except ClusterInputError as exc:
            return validation_error_response({exc.field: [exc.message]})
        return Response(ClusterOutputSerializer(cluster, context={"request": request}).data, status=201)

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def test(self, request, name=None):
        """Test connection: Kubernetes version, Istio CRDs, Prometheus and Istio metrics."""
        cluster = get_cluster_for_user(request.user, name)
        if not is_cluster_admin(request.user, cluster):
            message = "Only the cluster's admins can test its connection."
            audit_denied("cluster.test", target=cluster_target(cluster), message=message)
            raise PermissionDenied(message)
        return Response(cluster_test_connection(cluster, record=True))
