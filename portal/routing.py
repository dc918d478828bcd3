from django.urls import path

from apps.changes.consumers import ChangesConsumer
from apps.live.consumers import ClusterEventsConsumer
from apps.live.graphpush.consumer import GraphLiveConsumer

websocket_urlpatterns = [
    path("ws/clusters/<slug:cluster>/events/", ClusterEventsConsumer.as_asgi()),
    path("ws/clusters/<slug:cluster>/graph/", GraphLiveConsumer.as_asgi()),
    path("ws/changes/", ChangesConsumer.as_asgi()),  # change notifications (apps.changes.consumers)
]
