"""schedule_chart: what the roll chart draws, from a hand-made open-interest history."""

from __future__ import annotations

from datetime import date

from ghtrader.application.datasets.schedule_chart import schedule_chart
from ghtrader.domain.schedule import MainSchedule, ScheduleRow

D = [date(2024, 3, d) for d in (4, 5, 6, 7, 8)]
EOD = {
    D[0]: {"SHFE.cu2404": 100.0, "SHFE.cu2405": 50.0, "SHFE.cu2406": 5.0},
    D[1]: {"SHFE.cu2404": 100.0, "SHFE.cu2405": 120.0},  # 1.2x the main: switch effective D[2]
    D[2]: {"SHFE.cu2404": 80.0, "SHFE.cu2405": 130.0},
    D[3]: {"SHFE.cu2404": 60.0, "SHFE.cu2405": 140.0},
    D[4]: {"SHFE.cu2404": 40.0, "SHFE.cu2405": 150.0},
}


def test_series_markers_and_the_switch_ratio() -> None:
    rows = [ScheduleRow(D[1], "SHFE.cu2404", 0), *(ScheduleRow(d, "SHFE.cu2405", 1) for d in D[2:])]
    schedule = MainSchedule.from_rows(rows, exchange="SHFE", variety="cu", switch_ratio=1.1)
    (fig,), (table,) = schedule_chart(schedule, EOD)
    by_label = {s.label: s for s in fig.series}
    assert list(by_label) == ["SHFE.cu2404", "SHFE.cu2405", "1 contract seen on one day", "main contract"]
    assert by_label["SHFE.cu2405"].y == [50.0, 120.0, 130.0, 140.0, 150.0]
    assert by_label["main contract"].y == [100.0, 130.0, 140.0, 150.0] and by_label["main contract"].color == "black"
    assert fig.vlines == ((D[2] - date(1970, 1, 1)).days,)
    assert table.rows == (
        ("0", "SHFE.cu2404", "2024-03-05", "2024-03-05", "1", ""),
        ("1", "SHFE.cu2405", "2024-03-06", "2024-03-08", "3", "1.20 on 2024-03-05"),
    )
