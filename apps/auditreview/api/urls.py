from django.urls import path

from . import views

urlpatterns = [
    path("audit/events/", views.AuditEventListView.as_view(), name="api-audit-events"),
    path("audit/events/export", views.AuditEventExportView.as_view(), name="api-audit-export"),
    path("audit/chain/", views.ChainStatusView.as_view(), name="api-audit-chain"),
]
