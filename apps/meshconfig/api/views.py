"""Istio config API: list with validation (filters: kind, namespace, validity, q) and detail with YAML."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.response import Response

from apps.clusters.inventory import ISTIO_KINDS
from apps.meshconfig import selectors

from .mixins import CLUSTER_ERRORS as ERRORS
from .mixins import ClusterMeshMixin
from .serializers import ConfigDetailSerializer, ConfigRowSerializer


@extend_schema_view(get=extend_schema(
    summary="Istio objects with their validation",
    parameters=[
        OpenApiParameter("kind", str, enum=list(ISTIO_KINDS), description="Kind (or its plural, any case)"),
        OpenApiParameter("namespace", str),
        OpenApiParameter("validity", str, enum=list(selectors.VALIDITY_CHOICES),
                         description="valid, warning, error, or invalid (= warning or error)"),
        OpenApiParameter("q", str, description="Case-insensitive name filter"),
    ],
    responses={200: ConfigRowSerializer(many=True), **ERRORS}, tags=["istio config"]))
class ConfigListAPI(ClusterMeshMixin, generics.ListAPIView):
    serializer_class = ConfigRowSerializer

    def get_queryset(self):
        p = self.request.query_params
        return selectors.config_list(
            self.mesh(), kind=p.get("kind") or None, namespace=p.get("namespace") or None,
            validity=p.get("validity") or None, q=p.get("q", "").strip(),
        )


@extend_schema_view(get=extend_schema(
    summary="One Istio object: spec, YAML and validation (each check with its path and YAML line)",
    responses={200: ConfigDetailSerializer, **ERRORS}, tags=["istio config"]))
class ConfigDetailAPI(ClusterMeshMixin, generics.GenericAPIView):
    serializer_class = ConfigDetailSerializer

    def get(self, request, cluster, namespace, kind, name):
        return Response(ConfigDetailSerializer(selectors.config_detail(self.mesh(), namespace, kind, name)).data)
