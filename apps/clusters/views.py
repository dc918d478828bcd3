from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.selectors import is_cluster_admin
from apps.audit.services import Target, audit_denied

from .forms import ClusterForm
from .selectors import get_cluster_for_user
from .services import ClusterInputError, cluster_create, cluster_target, cluster_test_connection


@login_required
def cluster_add(request):
    if not request.user.is_superuser:
        if request.method == "POST":
            audit_denied("cluster.create", target=Target(type="cluster", name=request.POST.get("name", "")[:63]),
                         message="Only superusers add clusters.")
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        form = ClusterForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                cluster = cluster_create(
                    name=data["name"], kind=data["kind"], simulator_topology=data.get("simulator_topology") or "demo",
                    kubeconfig=data.get("kubeconfig") or None, kube_context=data.get("kube_context"),
                    api_server_url=data.get("api_server_url"), token=data.get("token"), ca_pem=data.get("ca_pem"),
                    prometheus_url=data.get("prometheus_url") or "", grafana_url=data.get("grafana_url") or "",
                    tracing_url=data.get("tracing_url") or "", istio_namespace=data.get("istio_namespace"),
                )
            except ClusterInputError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Cluster {cluster.name} added. Test its connection below.")
                return redirect("clusters:detail", cluster=cluster.name)
    else:
        form = ClusterForm()
    return render(request, "clusters/cluster_form.html", {"form": form})


@login_required
def cluster_detail(request, cluster: str):
    obj = get_cluster_for_user(request.user, cluster)
    return render(
        request, "clusters/cluster_detail.html",
        {"cluster": obj, "can_admin": is_cluster_admin(request.user, obj), "report": obj.last_check_report,
         "tolerance_problems": obj.health_tolerances_problems},
    )


@login_required
@require_POST
def cluster_test(request, cluster: str):
    obj = get_cluster_for_user(request.user, cluster)
    if not is_cluster_admin(request.user, obj):
        message = "Only the cluster's admins can test its connection."
        audit_denied("cluster.test", target=cluster_target(obj), message=message)
        raise PermissionDenied(message)
    report = cluster_test_connection(obj, record=True)
    if report["ok"]:
        messages.success(request, "Connection works.")
    else:
        messages.error(request, "Connection test found problems; see below.")
    return redirect("clusters:detail", cluster=obj.name)
