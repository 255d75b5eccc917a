"""``FamilyRegistry``: the name -> ModelFamily lookup the container fills (ModelFamilies port)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ghtrader.application.errors import InvalidArgument
from ghtrader.application.ports.models import ModelFamily

__all__ = ["FamilyRegistry"]


class FamilyRegistry:
    """ModelFamilies backed by a dict; names are unique and kept in registration order.

    ``resolve`` may name families that are not registered (e.g. stored ensembles,
    ``ensemble-<id>``): it returns the family for a name it knows and None otherwise.
    """

    def __init__(self, families: Iterable[ModelFamily] = ()) -> None:
        self._families: dict[str, ModelFamily] = {}
        self.resolve: Callable[[str], ModelFamily | None] | None = None
        for family in families:
            self.register(family)

    def register(self, family: ModelFamily) -> None:
        """Add ``family`` under ``family.name``; raises InvalidArgument when the name is taken."""
        name = family.name
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"a model family needs a non-empty name (got {name!r})")
        if name in self._families:
            raise InvalidArgument(f"model family {name!r} is already registered")
        self._families[name] = family

    def get(self, name: str) -> ModelFamily:
        try:
            return self._families[name]
        except KeyError:
            resolved = self.resolve(name) if self.resolve is not None else None
            if resolved is not None:
                return resolved
            known = ", ".join(self._families) or "none"
            raise InvalidArgument(f"unknown model family {name!r}; known families: {known}") from None

    def names(self) -> list[str]:
        return list(self._families)

    def __contains__(self, name: object) -> bool:
        return name in self._families

    def __len__(self) -> int:
        return len(self._families)
