"""Inventory API: namespaces, workloads, services of one cluster, narrowed to the caller's namespaces."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.response import Response

from apps.graphs.selectors import graph_source_at, workload_health_for_user
from apps.graphs.sources import live_source
from apps.inventory import selectors
from apps.meshconfig.api.mixins import ALL, CLUSTER_ERRORS, NS_DOC, ClusterMeshMixin

from .serializers import (
    NamespaceSummarySerializer,
    ServiceDetailSerializer,
    ServiceSerializer,
    WorkloadDetailSerializer,
    WorkloadSerializer,
)

Q_PARAM = OpenApiParameter("q", str, description="Case-insensitive name filter")
ERRORS = CLUSTER_ERRORS


def namespace_list_schema(summary: str, serializer):
    """The OpenAPI description of a list of one namespace's (or every namespace's) objects."""
    return extend_schema_view(get=extend_schema(
        summary=summary,
        parameters=[Q_PARAM, OpenApiParameter("namespace", str, OpenApiParameter.PATH, description=NS_DOC)],
        responses={200: serializer(many=True), **ERRORS}, tags=["inventory"]))


class InventoryMixin(ClusterMeshMixin):
    """The caller's MeshView read with its traffic (health): the graphs app's live source."""

    source_for = staticmethod(live_source)
    source_at = staticmethod(graph_source_at)  # ?at=: a snapshot with traffic (health needs it)


@extend_schema_view(get=extend_schema(
    summary="Namespaces of a cluster with health, injection state, counts and validation counts",
    description="Health is the worst workload's: pods ready vs desired, and request error rates over the "
                "last minute against the cluster's tolerances. If Prometheus cannot be read, health is "
                "availability only and `health_error` says why.",
    parameters=[Q_PARAM], responses={200: NamespaceSummarySerializer(many=True), **ERRORS}, tags=["inventory"]))
class NamespaceListAPI(InventoryMixin, generics.ListAPIView):
    serializer_class = NamespaceSummarySerializer

    def get_queryset(self):
        return selectors.namespace_summaries(self.mesh(), self.request.query_params.get("q", "").strip())

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        selectors.attach_health(self.request.user, self.mesh(), list(page if page is not None else queryset))
        return page  # health computed for this page only


@namespace_list_schema("Workloads (Deployments, StatefulSets, DaemonSets, bare Pods) with sidecar state",
                       WorkloadSerializer)
class WorkloadListAPI(InventoryMixin, generics.ListAPIView):
    serializer_class = WorkloadSerializer

    def get_queryset(self):
        return selectors.workload_list(self.mesh(), self.namespace_arg(),
                                       self.request.query_params.get("q", "").strip())

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        view = self.mesh()
        self._health = workload_health_for_user(self.request.user, view.source,
                                                list(page if page is not None else queryset))  # this page only
        return page

    def get_serializer_context(self):
        health, error = getattr(self, "_health", ({}, ""))
        return {**super().get_serializer_context(), "health": health, "health_error": error}


@extend_schema_view(get=extend_schema(
    summary="One workload: labels, pods and their sidecars, services selecting it, Istio objects referring to it",
    parameters=[OpenApiParameter("kind", str, description="Deployment, StatefulSet, DaemonSet or Pod, if names clash")],
    responses={200: WorkloadDetailSerializer, **ERRORS}, tags=["inventory"]))
class WorkloadDetailAPI(InventoryMixin, generics.GenericAPIView):
    serializer_class = WorkloadDetailSerializer

    def get(self, request, cluster, namespace, name):
        if namespace == ALL:
            raise Http404
        detail = selectors.workload_detail(self.mesh(), namespace, name, request.query_params.get("kind") or None)
        return Response(WorkloadDetailSerializer(detail).data)


@namespace_list_schema("Services", ServiceSerializer)
class ServiceListAPI(InventoryMixin, generics.ListAPIView):
    serializer_class = ServiceSerializer

    def get_queryset(self):
        return selectors.service_list(self.mesh(), self.namespace_arg(), self.request.query_params.get("q", "").strip())


@extend_schema_view(get=extend_schema(
    summary="One service: ports, selected workloads, Istio objects referring to it",
    responses={200: ServiceDetailSerializer, **ERRORS}, tags=["inventory"]))
class ServiceDetailAPI(InventoryMixin, generics.GenericAPIView):
    serializer_class = ServiceDetailSerializer

    def get(self, request, cluster, namespace, name):
        if namespace == ALL:
            raise Http404
        return Response(ServiceDetailSerializer(selectors.service_detail(self.mesh(), namespace, name)).data)
