from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts and grants"

    def ready(self) -> None:
        from apps.audit.actions import register_actions

        from . import schema, signals  # noqa: F401

        register_actions({
            "token.write_refused": "A read-only API token tried to write (outcome denied; method and path in after).",
            "auth.rate_limited": "Too many failed logins from one address: its login attempts are refused for a "
                                 "while (once per window).",
        })
