from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from apps.audit.export import FILTERS, AuditFilterError, apply_filters
from apps.audit.models import Outcome

from .diff import diff_rows
from .selectors import chain_status, events_for_user

PAGE_SIZE = 50


@login_required
def event_list(request):
    """The audit history: filters, pages, each event with its before/after diff."""
    filters = {name: request.GET.get(name, "").strip() for name in FILTERS}
    error = ""
    try:
        events = apply_filters(events_for_user(request.user), filters)
    except AuditFilterError as exc:
        error, events = exc.message, events_for_user(request.user).none()
    page = Paginator(events.order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(event, diff_rows(event.before, event.after)) for event in page.object_list]
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "auditreview/event_list.html", {
        "page": page, "rows": rows, "filters": filters, "error": error, "status": chain_status(),
        "export_query": query, "outcomes": Outcome.values,
    })
