"""The server's scheduler: APScheduler 3.x with a persistent SQLite job store, and the daily
update ledger beside it (``runs/control/schedules.db``)."""

from ghtrader.adapters.scheduling.ledger import SqliteUpdateLedger
from ghtrader.adapters.scheduling.scheduler import ServerScheduler

__all__ = ["ServerScheduler", "SqliteUpdateLedger"]
