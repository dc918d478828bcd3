from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from .lockout import client_ip, is_locked_out, lockout_message
from .models import ApiToken


class _LockoutMixin:
    """Says plainly when a login is locked out, instead of 'wrong password'."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if username and is_locked_out(username, client_ip(self.request)):
            from .services import login_refused_locked_out
            from .signals import entry_point

            login_refused_locked_out(username=username, request=self.request, entry_point=entry_point(self.request))
            raise forms.ValidationError(lockout_message(), code="locked_out")
        return super().clean()


class LockoutAuthenticationForm(_LockoutMixin, AuthenticationForm):
    pass


class LockoutAdminAuthenticationForm(_LockoutMixin, AdminAuthenticationForm):
    pass


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'kiali-script'.")
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=365, required=False, help_text="Leave empty for a token that does not expire."
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ, widget=forms.RadioSelect, required=False,
        help_text="Read only: the token can only read. Read and write: it can do whatever your grants allow.",
    )

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or ApiToken.Scope.READ  # none chosen: the least
