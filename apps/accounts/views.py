from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm, LockoutAuthenticationForm
from .models import ApiToken
from .selectors import grants_for_user
from .services import api_token_create, api_token_revoke


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def profile(request):
    """Who am I, what may I see, and my API tokens."""
    new_secret = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            _, new_secret = api_token_create(
                user=request.user, name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data.get("expires_in_days"), scope=form.cleaned_data["scope"],
            )
            messages.success(request, "Token created. Copy it now: it will not be shown again.")
            form = ApiTokenForm()
    else:
        form = ApiTokenForm()
    grants = grants_for_user(request.user).select_related("cluster", "team", "user")
    tokens = ApiToken.objects.filter(user=request.user, revoked_at__isnull=True)
    return render(
        request, "accounts/profile.html",
        {"form": form, "grants": grants, "tokens": tokens, "new_secret": new_secret},
    )


@login_required
@require_POST
def token_revoke(request, token_id: int):
    if api_token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked.")
    else:
        messages.error(request, "That token does not exist or is already revoked.")
    return redirect("accounts:profile")
