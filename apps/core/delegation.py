"""Attributes read from another object: ``kind = Delegated[str]("mesh")`` is ``self.mesh.kind``."""
from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Delegated(Generic[T]):
    """A read-only attribute: the attribute of the same name of the object in ``self.<to>``."""

    def __init__(self, to: str) -> None:
        self.to = to
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Delegated[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.to), self.name)
