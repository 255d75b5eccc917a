"""Fixtures shared by the integration tests."""

from tests.questdb_server import qdb  # noqa: F401  (the QuestDB stores fixture)
