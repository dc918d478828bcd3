from django.urls import path

from apps.changes.consumers import ChangesConsumer
from apps.live.consumers import ClusterEventsConsumer

websocket_urlpatterns = [
    path("ws/clusters/<slug:cluster>/events/", ClusterEventsConsumer.as_asgi()),
    path("ws/changes/", ChangesConsumer.as_asgi()),  # change notifications (apps.changes.consumers)
]
