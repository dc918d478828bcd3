"""A base for management commands with subcommands whose writes are audited."""
from __future__ import annotations

from django.core.management.base import CommandError

from apps.core.commands import SubcommandsCommand
from apps.core.errors import MeshdeckError

from .actor import Actor, acting_as


class AuditedCommand(SubcommandsCommand):
    """Runs ``do_<subcommand>`` acting as ``manage.py <command> <subcommand>``.

    Every audit event written inside names the command (and the OS user) as
    its actor; ``input_errors`` become a CommandError with their message.
    """

    # Errors with a message a person can act on (bad input, a refused change): a CommandError, no traceback.
    input_errors: tuple[type[Exception], ...] = (MeshdeckError,)

    def handle(self, *args, action, **opts):
        command = self.__module__.rsplit(".", 1)[-1]
        with acting_as(Actor.command(f"{command} {action}")):
            try:
                return super().handle(*args, action=action, **opts)
            except self.input_errors as exc:
                raise CommandError(getattr(exc, "message", str(exc))) from exc
