"""What the graph endpoints answer, as OpenAPI components (docs/graph-api.md has the prose).

The renderers (``builder/render.py``) build the bodies; these serializers only
describe them, field by field, so the schema says what really comes back
(optional keys are absent, not null, unless marked nullable). ``tests/api``
checks every answer against them.
"""
from __future__ import annotations

from rest_framework import serializers

from apps.clusters.sources import LIVE, SNAPSHOT

from ..builder.model import GRAPH_TYPES, PROTOCOLS

HEALTH = ["Healthy", "Degraded", "Failure", "NA"]
NODE_TYPES = ["app", "workload", "service", "unknown", "box"]
BOXES = ["cluster", "namespace", "app"]
SOURCE_KINDS = [LIVE, SNAPSHOT]


def _rates(**kwargs) -> serializers.DictField:
    return serializers.DictField(child=serializers.FloatField(), **kwargs)


class DestServiceSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    namespace = serializers.CharField()
    name = serializers.CharField()


class ServiceEntrySerializer(serializers.Serializer):
    hosts = serializers.ListField(child=serializers.CharField())
    location = serializers.CharField(help_text="MESH_EXTERNAL or MESH_INTERNAL")
    namespace = serializers.CharField()


class RequestsByDirectionSerializer(serializers.Serializer):
    inbound = serializers.DictField(child=_rates(), help_text="protocol -> response code -> req/s")
    outbound = serializers.DictField(child=_rates(), help_text="protocol -> response code -> req/s")


class NodeHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=HEALTH)
    requests = RequestsByDirectionSerializer()


class _NodeFlags(serializers.Serializer):
    """Identity and flags both formats share (flags are present only when true)."""

    id = serializers.CharField(help_text="Opaque: a hash, keyed with the server secret for inaccessible nodes")
    nodeType = serializers.ChoiceField(choices=NODE_TYPES)
    cluster = serializers.CharField()
    namespace = serializers.CharField(allow_blank=True, help_text="Empty for inaccessible nodes", required=False)
    workload = serializers.CharField(required=False)
    app = serializers.CharField(required=False)
    version = serializers.CharField(required=False)
    service = serializers.CharField(required=False)
    destServices = DestServiceSerializer(many=True, required=False)
    isIdle = serializers.BooleanField(required=False)
    isOutside = serializers.BooleanField(required=False)
    isRoot = serializers.BooleanField(required=False)
    isInaccessible = serializers.BooleanField(required=False)
    isServiceEntry = ServiceEntrySerializer(required=False)
    isBox = serializers.ChoiceField(choices=BOXES, help_text="Compound (box) nodes", required=False)
    parent = serializers.CharField(help_text="The id of the box this node is drawn in", required=False)  # type: ignore[assignment]  # a field: DRF's metaclass takes it off the class
    healthStatus = serializers.ChoiceField(choices=HEALTH, required=False)


class GraphNodeDataSerializer(_NodeFlags):
    traffic = _rates(help_text="httpIn, httpOut, httpIn5xx, grpcIn, tcpOut, ... (per second)", required=False)
    health = NodeHealthSerializer(required=False)


class GraphEdgeDataSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field: DRF's metaclass takes it off the class
    target = serializers.CharField()
    protocol = serializers.ChoiceField(choices=list(PROTOCOLS))
    rates = _rates(help_text="http, http3xx, http4xx, http5xx, httpNoResponse, grpc, grpcErr (req/s); "
                             "tcp, tcpReceived (bytes/s)")
    percentReq = serializers.FloatField(allow_null=True, help_text="Share of the source's traffic of this protocol")
    isMTLS = serializers.FloatField(allow_null=True, help_text="% mutual TLS; null without destination reports")
    healthStatus = serializers.ChoiceField(choices=HEALTH)
    percentErr = serializers.FloatField(allow_null=True, help_text="HTTP and gRPC edges", required=False)
    responseTime = serializers.FloatField(
        allow_null=True, help_text="ms: the chosen quantile, or the mean for responseTime=avg", required=False)
    responseTimeAvg = serializers.FloatField(allow_null=True, help_text="ms: the mean", required=False)
    responses = _rates(help_text="response code -> req/s", required=False)
    percent5xx = serializers.FloatField(allow_null=True, help_text="HTTP edges", required=False)
    percent4xx = serializers.FloatField(allow_null=True, help_text="HTTP edges", required=False)
    percentNoResponse = serializers.FloatField(allow_null=True, help_text="HTTP edges", required=False)


def _elements(node_data, edge_data, name: str):
    node = type(f"{name}Node", (serializers.Serializer,), {"data": node_data()})
    edge = type(f"{name}Edge", (serializers.Serializer,), {"data": edge_data()})
    return type(f"{name}Elements", (serializers.Serializer,), {"nodes": node(many=True), "edges": edge(many=True)})


class SourceSnapshotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    taken_at = serializers.FloatField(help_text="The moment the snapshot describes (its window's end), unix seconds")
    age_seconds = serializers.FloatField(help_text="How long before the requested time (or now) it was taken")


class SourceWindowSerializer(serializers.Serializer):
    exact = serializers.BooleanField(help_text="The snapshots' windows tile the duration exactly (docs/history.md)")
    snapshots = serializers.ListField(child=serializers.IntegerField(), help_text="The snapshots merged")
    coverage = serializers.FloatField(help_text="Share of the duration their windows cover")


class GraphSourceSerializer(serializers.Serializer):
    """Which source answered, and whether its inventory is of the traffic's moment (docs/graph-api.md).
    A stored source may add keys of its own."""

    kind = serializers.ChoiceField(choices=SOURCE_KINDS)
    at = serializers.FloatField(allow_null=True, help_text="When a stored source was taken; null: live")
    inventoryAt = serializers.FloatField(help_text="When the inventory was read, unix seconds")
    trafficAt = serializers.FloatField(help_text="The traffic window's end, unix seconds")
    inventoryMatchesTraffic = serializers.BooleanField()
    description = serializers.CharField()
    snapshot = SourceSnapshotSerializer(required=False, help_text="A snapshot answered (time travel, or the latest)")
    window = SourceWindowSerializer(required=False, help_text="Which snapshots' windows the traffic comes from")


class GraphSerializer(serializers.Serializer):
    """GET /api/clusters/<name>/graph: Cytoscape.js elements (cy.add(body.elements))."""

    cluster = serializers.CharField(help_text="The Meshdeck cluster")
    timestamp = serializers.IntegerField(help_text="Window end, unix seconds")
    duration = serializers.IntegerField(help_text="Window, seconds")
    graphType = serializers.ChoiceField(choices=list(GRAPH_TYPES))
    namespaces = serializers.ListField(child=serializers.CharField())
    elements = _elements(GraphNodeDataSerializer, GraphEdgeDataSerializer, "Graph")()
    source = GraphSourceSerializer()  # type: ignore[assignment]  # a field: DRF's metaclass takes it off the class


class GraphSeriesSerializer(serializers.Serializer):
    """GET /api/clusters/<name>/graph/series: one point per step; null where there was no traffic."""

    timestamps = serializers.ListField(child=serializers.IntegerField())
    step = serializers.IntegerField(help_text="Seconds between points (duration / 60)")
    window = serializers.IntegerField(help_text="Rate window of each point, seconds")
    duration = serializers.IntegerField()
    queryTime = serializers.IntegerField()
    requestRate = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="req/s")
    errorRate = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="% of requests")
    p50 = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="ms")
    p95 = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="ms")
    p99 = serializers.ListField(child=serializers.FloatField(allow_null=True), help_text="ms")


# -- Kiali's wire format (graph/config/common): rates are strings -------------------
def _string_rates(**kwargs) -> serializers.DictField:
    return serializers.DictField(child=serializers.CharField(), **kwargs)


class KialiProtocolTrafficSerializer(serializers.Serializer):
    protocol = serializers.ChoiceField(choices=list(PROTOCOLS))
    rates = _string_rates(help_text="httpIn, httpOut, grpcIn, tcpIn, ... as decimal strings")


class KialiNodeDataSerializer(_NodeFlags):
    traffic = KialiProtocolTrafficSerializer(many=True, required=False)
    healthData = NodeHealthSerializer(
        allow_null=True, help_text="Meshdeck's computed health; null when none (absent on boxes)", required=False)


class KialiResponseDetailSerializer(serializers.Serializer):
    flags = _string_rates(help_text="response flag -> % of the edge's requests")
    hosts = _string_rates(help_text="host -> % of the edge's requests (empty towards inaccessible nodes)")


class KialiEdgeTrafficSerializer(serializers.Serializer):
    protocol = serializers.ChoiceField(choices=list(PROTOCOLS))
    rates = _string_rates(help_text="http, http5xx, httpPercentErr, httpPercentReq, grpc, tcp, ...", required=False)
    responses = serializers.DictField(child=KialiResponseDetailSerializer(), help_text="response code ->",
                                      required=False)


class KialiEdgeDataSerializer(serializers.Serializer):
    id = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field: DRF's metaclass takes it off the class
    target = serializers.CharField()
    isMTLS = serializers.CharField(help_text="% mutual TLS, a whole number as a string", required=False)
    responseTime = serializers.CharField(help_text="ms as a string: the quantile, or the mean for avg", required=False)
    healthStatus = serializers.ChoiceField(choices=HEALTH)
    traffic = KialiEdgeTrafficSerializer()


class KialiGraphSerializer(serializers.Serializer):
    """GET /api/namespaces/graph: Kiali's JSON, so Kiali clients read it unchanged."""

    timestamp = serializers.IntegerField()
    duration = serializers.IntegerField()
    graphType = serializers.ChoiceField(choices=list(GRAPH_TYPES))
    elements = _elements(KialiNodeDataSerializer, KialiEdgeDataSerializer, "KialiGraph")()
