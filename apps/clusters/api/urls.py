from rest_framework.routers import SimpleRouter

from .views import ClusterViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("clusters", ClusterViewSet, basename="api-cluster")
urlpatterns = router.urls
