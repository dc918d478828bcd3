from django.apps import AppConfig


class AuditReviewConfig(AppConfig):
    name = "apps.auditreview"
    label = "auditreview"
    verbose_name = "Audit history review"
