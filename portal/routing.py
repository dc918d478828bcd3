from django.urls import path

from apps.live.consumers import ClusterEventsConsumer

websocket_urlpatterns = [
    path("ws/clusters/<slug:cluster>/events/", ClusterEventsConsumer.as_asgi()),
]
