from django.urls import path

from . import views

urlpatterns = [
    path("clusters/<slug:cluster>/changes/", views.ClusterChangeListView.as_view(), name="api-cluster-changes"),
    path("changes/", views.ChangeListView.as_view(), name="api-changes"),
    path("changes/<int:change_id>/", views.ChangeDetailView.as_view(), name="api-change"),
    path("changes/<int:change_id>/submit/", views.ChangeSubmitView.as_view(), name="api-change-submit"),
    path("changes/<int:change_id>/approve/", views.ChangeApproveView.as_view(), name="api-change-approve"),
    path("changes/<int:change_id>/reject/", views.ChangeRejectView.as_view(), name="api-change-reject"),
    path("changes/<int:change_id>/apply/", views.ChangeApplyView.as_view(), name="api-change-apply"),
    path("changes/<int:change_id>/cancel/", views.ChangeCancelView.as_view(), name="api-change-cancel"),
    path("changes/<int:change_id>/rollback/", views.ChangeRollbackView.as_view(), name="api-change-rollback"),
]
