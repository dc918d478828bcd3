"""Inventory API: namespaces, workloads, services of one cluster, narrowed to the caller's namespaces."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.response import Response

from apps.core.api import error_responses
from apps.core.errors import FieldInputError
from apps.graphs.selectors import graph_source_at, workload_health_for_user
from apps.graphs.sources import live_source
from apps.inventory import selectors
from apps.meshconfig.api.mixins import ALL, CLUSTER_ERRORS, NS_DOC, ClusterMeshMixin

from .serializers import (
    AppDetailSerializer,
    AppSummarySerializer,
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


class InventoryDetailAPI(InventoryMixin, generics.GenericAPIView):
    """One object of a namespace (there is none in "all" namespaces): ``read`` finds it in the MeshView."""

    def read(self, view, namespace: str, name: str):
        raise NotImplementedError

    def get(self, request, cluster, namespace, name):
        if namespace == ALL:
            raise Http404
        return Response(self.get_serializer(self.read(self.mesh(), namespace, name)).data)


class AppHealthErrorMixin:
    """Apps' health comes with why request health is missing, if it is (``_health_error``)."""

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "health_error": getattr(self, "_health_error", "")}


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
class WorkloadDetailAPI(InventoryDetailAPI):
    serializer_class = WorkloadDetailSerializer

    def read(self, view, namespace, name):
        return selectors.workload_detail(view, namespace, name, self.request.query_params.get("kind") or None)


@namespace_list_schema("Services", ServiceSerializer)
class ServiceListAPI(InventoryMixin, generics.ListAPIView):
    serializer_class = ServiceSerializer

    def get_queryset(self):
        return selectors.service_list(self.mesh(), self.namespace_arg(), self.request.query_params.get("q", "").strip())


@extend_schema_view(get=extend_schema(
    summary="One service: ports, selected workloads, Istio objects referring to it",
    responses={200: ServiceDetailSerializer, **ERRORS}, tags=["inventory"]))
class ServiceDetailAPI(InventoryDetailAPI):
    serializer_class = ServiceDetailSerializer

    def read(self, view, namespace, name):
        return selectors.service_detail(view, namespace, name)


@extend_schema_view(get=extend_schema(
    summary="Applications: the workloads of a namespace grouped by their app label, with health, versions "
            "and sidecar state",
    description="Health is the worst of the app's workloads' (pods ready vs desired, and request errors over "
                "the last minute against the cluster's tolerances). Workloads without an app label belong to "
                "no application. Unknown `health`/`sidecar` values are a 400.",
    parameters=[
        OpenApiParameter("q", str, description="Case-insensitive filter on the app's or one of its workloads' names"),
        OpenApiParameter("health", str, enum=list(selectors.HEALTH_FILTERS), description="Only apps in this state"),
        OpenApiParameter("sidecar", str, enum=list(selectors.SIDECAR_FILTERS),
                         description="Only apps whose pods all have (present), some have (partial) or none have "
                                     "(missing) a sidecar"),
        OpenApiParameter("namespace", str, OpenApiParameter.PATH, description=NS_DOC),
    ],
    responses={200: AppSummarySerializer(many=True), **error_responses(400), **ERRORS}, tags=["inventory"]))
class AppListAPI(AppHealthErrorMixin, InventoryMixin, generics.ListAPIView):
    serializer_class = AppSummarySerializer

    def _filters(self) -> dict[str, str]:
        params = self.request.query_params
        filters = {"q": params.get("q", "").strip(), "health": params.get("health", ""),
                   "sidecar": params.get("sidecar", "")}
        if filters["health"] and filters["health"] not in selectors.HEALTH_FILTERS:
            raise FieldInputError("health", f"health must be one of {', '.join(selectors.HEALTH_FILTERS)}")
        if filters["sidecar"] and filters["sidecar"] not in selectors.SIDECAR_FILTERS:
            raise FieldInputError("sidecar", f"sidecar must be one of {', '.join(selectors.SIDECAR_FILTERS)}")
        return filters

    def get_queryset(self):
        filters = self._filters()
        view = self.mesh()
        rows = selectors.app_summaries(view, self.namespace_arg(), filters["q"], filters["sidecar"])
        self._health_for_all = bool(filters["health"])
        if self._health_for_all:  # filtering by health needs every row's
            self._health_error = selectors.attach_app_health(self.request.user, view, rows)
            rows = [a for a in rows if a.health == filters["health"]]
        return rows

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if not self._health_for_all:  # health computed for this page only
            self._health_error = selectors.attach_app_health(self.request.user, self.mesh(),
                                                             list(page if page is not None else queryset))
        return page


@extend_schema_view(get=extend_schema(
    summary="One application: its workloads with their health, the services selecting them, the Istio objects "
            "referring to either",
    parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH, description="The app label")],
    responses={200: AppDetailSerializer, **ERRORS}, tags=["inventory"]))
class AppDetailAPI(AppHealthErrorMixin, InventoryDetailAPI):
    serializer_class = AppDetailSerializer

    def read(self, view, namespace, name):
        detail = selectors.app_detail(view, namespace, name)
        self._health_error = selectors.attach_app_health(self.request.user, view, [detail.app])
        return detail
