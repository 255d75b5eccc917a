"""The command center's alerts panel and the top-bar alerts badge (simulated user, fake client)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from nicegui.testing import User

from ghtrader.interfaces.dashboard.alerts_panel import badge_text
from tests.unit.interfaces.dashboard.fake_client import FakeClient
from tests.unit.interfaces.dashboard.test_pages import should_see_in_table, simulate


def _alert(seq: int, severity: str, kind: str, ago_s: float = 60.0) -> dict[str, Any]:
    return {
        "seq": seq, "event_id": f"e{seq}", "datetime_ns": time.time_ns() - int(ago_s * 1e9), "anomaly_type": kind,
        "severity": severity, "symbol": "SHFE.cu2612", "details": {"rows": 1}, "drift_score": 42.0,
        "detection_method": "robust_z", "created_ns": time.time_ns(),
    }  # fmt: skip


async def _badge(user: User, expected: str) -> None:
    with user:
        badge = next(e for e in user.current_layout.descendants() if "alerts-badge" in e._markers)
    for _ in range(100):
        if (badge.visible and badge.text == expected) or (not expected and not badge.visible):
            return
        await asyncio.sleep(0.03)
    raise AssertionError(f"alerts badge shows {badge.text!r}, visible={badge.visible}")


def test_panel_lists_warnings_and_criticals_and_the_badge_counts_criticals() -> None:
    client = FakeClient(alerts=[_alert(3, "CRITICAL", "crossed_book"), _alert(2, "WARNING", "tick_gap"),
                                _alert(1, "INFO", "spread_widening")])  # fmt: skip

    async def scenario(user: User) -> None:
        await user.open("/")
        await user.should_see("Alerts")
        await should_see_in_table(user, "crossed_book")
        await should_see_in_table(user, "tick_gap")
        await _badge(user, "alerts: 1 critical")

    simulate(client, scenario)


def test_no_alerts_hides_the_badge_and_says_so() -> None:
    client = FakeClient(alerts=[_alert(1, "INFO", "spread_widening")])

    async def scenario(user: User) -> None:
        await user.open("/")
        await user.should_see("no warnings or critical anomalies")
        await _badge(user, "")

    simulate(client, scenario)


def test_badge_text() -> None:
    assert badge_text({"CRITICAL": 2, "WARNING": 5}) == ("2 critical", "red")
    assert badge_text({"WARNING": 5}) == ("5 warning", "orange")
    assert badge_text({}) == ("", "grey")
