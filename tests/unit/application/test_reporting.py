"""to_jsonable: result dataclasses become plain JSON (the RunResult's result_json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from ghtrader.application.reporting import to_jsonable


@dataclass(frozen=True)
class _Result:
    artifact_dir: Path
    days: list[tuple[str, date]]
    count: np.int64


def test_paths_become_strings_so_results_with_artifact_paths_serialise() -> None:
    result = _Result(Path("/tmp/artifacts/models/lightgbm/3"), [("SHFE.cu2602", date(2026, 1, 5))], np.int64(7))
    text = json.dumps(to_jsonable(result), sort_keys=True)
    assert json.loads(text) == {
        "artifact_dir": "/tmp/artifacts/models/lightgbm/3",
        "days": [["SHFE.cu2602", "2026-01-05"]],
        "count": 7,
    }
