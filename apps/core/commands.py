"""Management commands made of sub-commands: ``manage.py <command> <action> ...``.

Each action is a ``do_<action>`` method marked with ``@subcommand``, which declares its help and its
arguments next to the code that runs it::

    @subcommand("List a cluster's snapshots", arg("cluster"), arg("--limit", type=int, default=50))
    def do_list(self, cluster, limit, **_): ...
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.management.base import BaseCommand

Argument = tuple[tuple[str, ...], dict[str, Any]]
F = TypeVar("F", bound=Callable[..., Any])


def arg(*names: str, **options: Any) -> Argument:
    """One argument of a sub-command: what ``ArgumentParser.add_argument`` takes."""
    return names, options


def subcommand(help: str, *arguments: Argument) -> Callable[[F], F]:
    """Marks ``do_<action>`` as the action ``<action>``, with its help and arguments."""
    def mark(method: F) -> F:
        method.subcommand = (help, arguments)  # type: ignore[attr-defined]
        return method
    return mark


class SubcommandsCommand(BaseCommand):
    """Runs ``do_<action>(**options)``; the actions are its ``@subcommand`` methods, in their order."""

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name, (help, arguments) in self.subcommands().items():
            action = sub.add_parser(name, help=help)
            for names, options in arguments:
                action.add_argument(*names, **options)

    @classmethod
    def subcommands(cls) -> dict[str, tuple[str, tuple[Argument, ...]]]:
        found: dict[str, tuple[str, tuple[Argument, ...]]] = {}
        for klass in reversed(cls.__mro__):
            for name, method in vars(klass).items():
                if name.startswith("do_") and hasattr(method, "subcommand"):
                    found[name.removeprefix("do_")] = method.subcommand
        return found

    def handle(self, *args, action, **opts):
        return getattr(self, f"do_{action}")(**opts)
