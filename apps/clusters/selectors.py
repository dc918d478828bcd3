from django.db.models import Q
from django.http import Http404

from .models import Cluster


def clusters_for_user(user):
    """Clusters on which the user holds any grant (directly or via a team)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Cluster.objects.none()
    if user.is_superuser:
        return Cluster.objects.all()
    return Cluster.objects.filter(Q(grants__user=user) | Q(grants__team__members=user)).distinct()


def get_cluster_for_user(user, name: str) -> Cluster:
    """The named cluster if the user may see it; 404 otherwise (no existence leak)."""
    cluster = clusters_for_user(user).filter(name=name).first()
    if cluster is None:
        raise Http404("No such cluster.")
    return cluster
