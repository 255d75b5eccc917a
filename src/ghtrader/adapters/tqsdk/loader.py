"""Import tqsdk without letting it take over the process's logging.

tqsdk imports ``shinny_structlog``, which at import time replaces ``logging.Logger.root``,
``logging.Logger.manager`` and ``logging.getLogger`` with its own. Loggers created before that
(every ``ghtrader.*`` module logger) stay attached to the old root and its handlers, while loggers
created afterwards hang off a new root without handlers: the server's log would silently lose
records. :func:`import_tqsdk` imports tqsdk once, puts the standard root, manager and
``getLogger`` back, and parents tqsdk's root under ours so its records reach our handlers too.
"""

from __future__ import annotations

import importlib
import logging
import threading
from types import ModuleType

__all__ = ["import_tqsdk"]

_lock = threading.Lock()
_module: ModuleType | None = None


def import_tqsdk() -> ModuleType:
    """The ``tqsdk`` module (raises ImportError when it is not installed); safe to call often."""
    global _module
    with _lock:
        if _module is not None:
            return _module
        root = logging.Logger.root
        manager = logging.Logger.manager
        get_logger = logging.getLogger
        try:
            module = importlib.import_module("tqsdk")
        finally:
            foreign_root = logging.Logger.root
            logging.Logger.root = root
            logging.Logger.manager = manager
            logging.getLogger = get_logger
            if foreign_root is not root:
                # tqsdk's loggers already exist under its root: let their records climb into ours
                foreign_root.parent = root
                foreign_root.propagate = True
        # The logger class tqsdk sets stays: loggers it creates later (per TqApi) need its
        # structured-logging methods, and it subclasses logging.Logger.
        _module = module
        return module
