from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .overview import overview_for_user


@login_required
def overview(request):
    return render(request, "core/overview.html", {"clusters": overview_for_user(request.user)})
