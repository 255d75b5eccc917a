"""Fetch a small text document over HTTP(S) with a timeout."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable


def text_fetcher(url: str, timeout_s: float = 10.0) -> Callable[[], str]:
    """A callable returning the document at ``url`` as text (raises OSError on failure)."""

    def fetch() -> str:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - configured URL
            return response.read().decode("utf-8")

    return fetch
