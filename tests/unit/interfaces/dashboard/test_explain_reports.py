"""The models page lists a finished explain job's report once (its HTML), so its figures can be shown."""

from __future__ import annotations

import json

from ghtrader.interfaces.dashboard.pages.models import report_rows
from tests.unit.interfaces.dashboard.fake_client import job


def test_explain_report_is_listed_once() -> None:
    done = job(3, "Explain", "succeeded", summary="explain m v1")
    done["report_path"] = "runs/explain/x.html"
    done["result_json"] = json.dumps({"kind": "explain", "report_paths": {"html_path": "runs/explain/x.html"}})
    rows = report_rows([done, job(4, "Explain", "running")])
    assert [(r["id"], r["report_path"]) for r in rows] == [(3, "runs/explain/x.html")]
