"""``InMemoryStoreProbe``: StoreProbe of the in-memory stores (always reachable)."""

from __future__ import annotations

from ghtrader.application.ports.system import StoreHealth

__all__ = ["InMemoryStoreProbe"]


class InMemoryStoreProbe:
    """The in-process stores have no server to lose: healthy for as long as the process runs."""

    def health(self) -> StoreHealth:
        return StoreHealth("memory", True, "in-process stores (nothing persists)")
