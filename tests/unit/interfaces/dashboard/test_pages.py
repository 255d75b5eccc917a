"""Dashboard pages with NiceGUI's simulated User (no browser) over a fake client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_simulation import user_simulation

from ghtrader.interfaces.dashboard import DashboardConfig
from ghtrader.interfaces.dashboard.app import PAGES, Dashboard
from tests.unit.interfaces.dashboard.fake_client import FakeClient, job


def simulate(client: FakeClient, scenario: Callable[[User], Awaitable[None]], *, token: str | None = None) -> None:
    dash = Dashboard(DashboardConfig(target="127.0.0.1:1", token=token), client_factory=lambda: client)

    async def main() -> None:
        async with user_simulation(root=dash.root) as user:
            await scenario(user)

    asyncio.run(main())


async def should_see_in_table(user: User, value: str, retries: int = 100) -> None:
    """NiceGUI's should_see does not look into table rows; this does (waiting like it)."""
    for _ in range(retries):
        with user:
            tables = [t for t in user.current_layout.descendants() if isinstance(t, ui.table)]
        if any(value in map(str, row.values()) for t in tables for row in t.rows):
            return
        await asyncio.sleep(0.03)
    with user:
        labels = [e.text for e in user.current_layout.descendants() if isinstance(e, ui.label)]
        labels += [str(t.rows[:2]) for t in user.current_layout.descendants() if isinstance(t, ui.table)]
    raise AssertionError(f"no table row shows {value!r}; labels: {labels}")


@pytest.fixture
def client() -> FakeClient:
    return FakeClient(jobs=[job(1, "Download", "succeeded", summary="10 days"), job(2, "BuildMainL5", "running")])


@pytest.mark.parametrize(
    ("path", "heading"), [(p, h) for p, h, _i, _b in PAGES if p != "/"] + [("/", "Command center")]
)
def test_every_page_renders_its_content(client: FakeClient, path: str, heading: str) -> None:
    expected = {
        "/": "BuildMainL5",
        "/jobs": "Download",
        "/system": "NVIDIA H100 80GB",
        "/explorer": "Download CSV",
        "/data": "SHFE.cu2601",
        "/models": "cu-lgbm",
        "/trading": "paper-1",
        "/ops": "Run the pipeline",
    }[path]

    async def scenario(user: User) -> None:
        await user.open(path)
        await user.should_see(heading)
        if path in ("/jobs", "/data", "/models", "/trading"):
            await should_see_in_table(user, expected)
        else:
            await user.should_see(expected)

    simulate(client, scenario)


def test_command_center_shows_the_last_result_of_each_pipeline_stage(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/")
        await user.should_see("#1 Download succeeded")
        await user.should_see("#2 BuildMainL5 running")
        await user.should_see("cu-logistic@v3 in production")  # the Promote stage

    simulate(client, scenario)


def test_running_jobs_badge_counts_active_jobs(client: FakeClient) -> None:
    client.jobs.append(job(3, "Train", "queued"))

    async def scenario(user: User) -> None:
        await user.open("/system")
        with user:
            element = next(e for e in user.current_layout.descendants() if "running-jobs" in e._markers)
        for _ in range(50):
            if element.visible and element.text == "2":
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"badge shows {element.text!r}, visible={element.visible}")

    simulate(client, scenario)


def test_unreachable_server_shows_a_banner_not_a_traceback() -> None:
    async def scenario(user: User) -> None:
        await user.open("/jobs")
        await user.should_see("is not reachable")
        await user.should_see("server unreachable:")
        await user.should_not_see("Traceback")

    simulate(FakeClient(reachable=False), scenario)


def test_build_form_submits_a_job_after_confirmation(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/ops")
        user.find("Commands").click()
        user.find(marker="build-symbol").clear().type("SHFE.cu2612")
        user.find(marker="build-start").type("2026-10-12")
        user.find(marker="build-submit").click()
        await user.should_see("Start build SHFE.cu2612?")
        assert not any(c[0] == "build_dataset" for c in client.calls)  # nothing before confirming
        user.find(marker="confirm").click()
        for _ in range(100):
            if any(c[0] == "build_dataset" for c in client.calls):
                break
            await asyncio.sleep(0.02)
        name, args, kwargs = next(c for c in client.calls if c[0] == "build_dataset")
        assert args == ("SHFE.cu2612",) and kwargs["start_day"] == "2026-10-12"
        await user.open("/jobs")
        await should_see_in_table(user, "built SHFE.cu2612")

    simulate(client, scenario)


def test_cancel_asks_for_confirmation_then_cancels(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/jobs")
        user.find(marker="job-id").type("2")
        user.find("Show").click()
        await user.should_see("Job 2: BuildMainL5 (running)")
        await user.should_see("job 2 log line")
        user.find(marker="cancel-job").click()
        await user.should_see("Cancel job 2?")
        user.find(marker="confirm").click()
        for _ in range(100):
            if ("cancel_job", (2,), {}) in client.calls:
                break
            await asyncio.sleep(0.02)
        assert ("cancel_job", (2,), {}) in client.calls

    simulate(client, scenario)


def test_explorer_shows_rows_and_explains_refusals(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/explorer")
        user.find(marker="sql").clear().type("SELECT 1")
        user.find(marker="run-query").click()
        await user.should_see("1 rows in")
        user.find(marker="sql").clear().type("DROP TABLE ghtrader_ticks_raw_v2")
        user.find(marker="run-query").click()
        await user.should_see("refused: only one read-only statement")

    simulate(client, scenario)


def test_trading_start_form_warns_before_live_orders(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/trading")
        user.find("Start a run").click()
        await user.should_not_see("LIVE ORDER ROUTING")
        user.find(marker="mode").click()
        user.find("live").click()
        await user.should_see("LIVE ORDER ROUTING: real orders on a real account.")
        await user.should_see("Type I_UNDERSTAND")

    simulate(client, scenario)


def test_token_login_refuses_a_wrong_token_and_admits_the_right_one(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/jobs")
        await user.should_see("ghTrader dashboard")
        await user.should_not_see("Jobs")
        user.find(marker="token").type("wrong")
        user.find(marker="login").click()
        await user.should_see("wrong token")
        user.find(marker="token").clear().type("s3cret")
        user.find(marker="login").click()
        await user.open("/jobs")
        await should_see_in_table(user, "BuildMainL5")

    simulate(client, scenario, token="s3cret")


def test_data_heatmap_is_read_from_the_day_index(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/data")
        await user.should_see("Heatmap")
        user.find("Heatmap").click()
        for _ in range(100):
            with user:
                charts = [e for e in user.current_layout.descendants() if isinstance(e, ui.echart)]
            heat = [c for c in charts if c.options["series"][0]["type"] == "heatmap"]
            if heat:
                break
            await asyncio.sleep(0.03)
        assert heat, "no heatmap"
        assert heat[0].options["yAxis"]["data"] == ["SHFE.cu2601", "SHFE.cu2602"]
        assert heat[0].options["series"][0]["data"] == [[0, 0, 5000], [1, 1, 7000]]

    simulate(client, scenario)


def test_data_stepper_says_why_schedule_and_main_l5_cannot_run(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/data")
        await user.should_see("6 main_l5")
        with user:
            toggle = next(iter(user.find(marker="variety").elements))
        toggle.value = "SHFE.au"  # raw ticks indexed, no schedule yet (fake readiness)
        await user.should_see("schedule missing: run main-schedule")
        await user.should_not_see("no raw ticks indexed")
        toggle.value = "SHFE.ag"  # nothing indexed: the schedule cannot be built either
        await user.should_see("no raw ticks indexed: download or update first")

    simulate(client, scenario)


def test_data_keeps_the_picked_tab_when_the_section_is_rebuilt(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/data")
        await user.should_see("Heatmap")
        user.find("Heatmap").click()
        with user:
            toggle = next(iter(user.find(marker="variety").elements))
        toggle.value = "SHFE.au"  # rebuilds the section, like the 15 s refresh does
        await asyncio.sleep(0.2)
        for _ in range(100):
            with user:
                panels = [e for e in user.current_layout.descendants() if isinstance(e, ui.tab_panels)]
            values = [
                p.value if isinstance(p.value, str) else getattr(p.value, "_props", {}).get("name") for p in panels
            ]
            if values:
                break
            await asyncio.sleep(0.03)
        assert values == ["Heatmap"], values

    simulate(client, scenario)


def test_models_reports_list_finished_research_jobs_with_their_report(client: FakeClient) -> None:
    finished = job(3, "Benchmark", "succeeded", summary="logistic: 3 folds")
    finished["report_path"] = "runs/benchmarks/logistic.json"
    client.jobs += [finished, job(4, "Train", "running")]

    async def scenario(user: User) -> None:
        await user.open("/models")
        user.find("Reports").click()  # tabs are built when first shown
        await should_see_in_table(user, "runs/benchmarks/logistic.json")
        with user:
            rows = [r for t in user.current_layout.descendants() if isinstance(t, ui.table) for r in t.rows]
        assert not any(r.get("command") == "Train" for r in rows)  # still running: no report yet

    simulate(client, scenario)


def test_ops_lists_the_latest_audits_with_their_reports(client: FakeClient) -> None:
    audit = job(3, "Audit", "failed", summary="2 days differ")
    audit["report_path"] = "runs/audit/a.json"
    client.jobs.append(audit)

    async def scenario(user: User) -> None:
        await user.open("/ops")
        user.find("Audit reports").click()  # tabs are built when first shown
        await should_see_in_table(user, "runs/audit/a.json")
        await should_see_in_table(user, "2 days differ")

    simulate(client, scenario)


def test_models_reports_show_a_reports_figures_from_the_server(client: FakeClient) -> None:
    finished = job(3, "Benchmark", "succeeded", summary="logistic: 3 folds")
    finished["report_path"] = "runs/benchmarks/logistic.json"
    client.jobs.append(finished)

    async def scenario(user: User) -> None:
        await user.open("/models")
        user.find("Reports").click()
        user.find(marker="report-path").type("runs/benchmarks/logistic.json")
        user.find(marker="show-figures").click()
        for _ in range(100):
            with user:
                images = [e for e in user.current_layout.descendants() if isinstance(e, ui.image)]
            if images:
                break
            await asyncio.sleep(0.03)
        assert len(images) == 2 and all(str(i.source).startswith("data:image/png;base64,") for i in images)
        await user.should_see("reliability")
        assert ("report_figures", ("runs/benchmarks/logistic.json",), {}) in client.calls

    simulate(client, scenario)


def test_models_reports_list_the_main_jobs_compare_and_backtest_reports() -> None:
    """A ``make run`` job (RunPipeline) names its compare and backtest reports in its result:
    each gets a row, so their figures can be shown."""
    from ghtrader.interfaces.dashboard.pages.models import report_rows

    main = job(7, "RunPipeline", "succeeded", summary="run: OK")
    main["report_path"] = "runs/audit/a.json"
    main["result_json"] = json.dumps(
        {
            "research": {
                "report_html": "runs/benchmarks/cmp.html",
                "backtest": {"report_html": "runs/benchmarks/bt.html"},
            }
        }
    )
    rows = report_rows([main, job(8, "Download", "succeeded"), job(9, "Backtest", "running")])
    assert [r["report_path"] for r in rows] == [
        "runs/audit/a.json",
        "runs/benchmarks/cmp.html",
        "runs/benchmarks/bt.html",
    ]
    assert len({r["row"] for r in rows}) == 3


def _tables(user: User) -> list[ui.table]:
    with user:
        return [t for t in user.current_layout.descendants() if isinstance(t, ui.table)]


def test_a_refresh_that_brings_nothing_new_does_not_rebuild_the_section(client: FakeClient) -> None:
    """The section built from the cache is refreshed once after 1 s; with the same status it
    must keep its elements (the user's sorting and paging), not rebuild them."""

    async def scenario(user: User) -> None:
        await user.open("/system")
        await user.should_see("NVIDIA H100 80GB")
        await user.open("/system")  # now built from the cache, with a refresh 1 s later
        await user.should_see("NVIDIA H100 80GB")
        first = _tables(user)
        assert first
        await asyncio.sleep(1.5)
        assert not any(t.is_deleted for t in first)
        assert [id(t) for t in _tables(user)] == [id(t) for t in first]

    simulate(client, scenario)


def test_jobs_are_listed_fifty_a_page_newest_first() -> None:
    client = FakeClient(jobs=[job(i, "Download", "succeeded") for i in range(1, 121)])

    async def scenario(user: User) -> None:
        await user.open("/jobs")
        await should_see_in_table(user, "120")
        await user.should_see("jobs 1-50")
        [t] = [t for t in _tables(user) if "jobs-table" in t._markers]
        assert [r["id"] for r in t.rows] == list(range(120, 70, -1))
        user.find(marker="jobs-older").click()
        await user.should_see("jobs 51-100")
        [t] = [t for t in _tables(user) if "jobs-table" in t._markers]
        assert [r["id"] for r in t.rows] == list(range(70, 20, -1))
        pages = [c[2] for c in client.calls if c[0] == "list_jobs" and c[2]["before_id"] is not None]
        assert pages and pages[-1] == {"limit": 51, "before_id": 71}  # only this page (+1) crossed the wire
        user.find(marker="jobs-older").click()
        await user.should_see("jobs 101-120")
        with user:
            older = next(iter(user.find(marker="jobs-older").elements))
        assert not older.enabled  # nothing older than job 1
        user.find(marker="jobs-newer").click()
        await user.should_see("jobs 51-100")

    simulate(client, scenario)


def test_data_builds_the_charts_only_when_their_tab_is_opened(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/data")
        await should_see_in_table(user, "SHFE.cu2601")
        with user:
            assert not [e for e in user.current_layout.descendants() if isinstance(e, ui.echart)]
        assert not any(c[0] == "run_query" for c in client.calls)
        user.find("Coverage").click()
        for _ in range(100):
            with user:
                charts = [e for e in user.current_layout.descendants() if isinstance(e, ui.echart)]
            if charts:
                break
            await asyncio.sleep(0.03)
        assert [c.options["series"][0]["name"] for c in charts] == ["present"]

    simulate(client, scenario)


def test_system_shows_folder_sizes_and_says_when_a_walk_was_cut(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/system")
        await should_see_in_table(user, "3.0 GiB")
        await should_see_in_table(user, "at least 5.0 MiB")
        await should_see_in_table(user, "not a folder (does not exist yet?)")
        await user.should_see("each walk stops after 10 s")

    simulate(client, scenario)


def test_ops_stage_buttons_say_why_they_cannot_run(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/ops")
        await should_see_in_table(user, "2026-02-27")  # cu's main_l5 last day, from the readiness read
        await user.should_see("schedule missing: run main-schedule")  # au: raw ticks, no schedule
        await user.should_see("no raw ticks indexed: download or update first")  # ag
        with user:
            buttons = {m: next(iter(user.find(marker=m).elements)) for m in (
                "stage-SHFE.cu-build", "stage-SHFE.au-main-l5", "stage-SHFE.au-main-schedule",
                "stage-SHFE.ag-main-schedule",
            )}  # fmt: skip
        assert buttons["stage-SHFE.cu-build"].enabled and buttons["stage-SHFE.au-main-schedule"].enabled
        assert not buttons["stage-SHFE.au-main-l5"].enabled and not buttons["stage-SHFE.ag-main-schedule"].enabled
        with user:
            why = next(iter(user.find(marker="why-SHFE.au-build").elements))
        assert why.text == "main_l5 not built: run main-l5"

    simulate(client, scenario)


def test_ops_stage_buttons_say_store_not_reachable() -> None:
    from ghtrader.interfaces.client.views import StatusView
    from ghtrader.interfaces.dashboard.cache import Entry
    from ghtrader.interfaces.dashboard.pages.ops import stage_blockers

    down = FakeClient().get_status()
    down = StatusView(**{**down.to_dict(), "disks": down.disks, "store_reachable": False})
    why = stage_blockers(Entry(down, "", False, 0.0), None)
    assert why["SHFE.cu"] == dict.fromkeys(("main-schedule", "main-l5", "build"), "store not reachable")


def test_models_card_shows_training_window_calibration_history_and_onnx(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/models")
        user.find("Model cards").click()
        with user:
            select = next(iter(user.find(marker="card-model").elements))
        for _ in range(100):
            if "cu-logistic@v3" in select.options:
                break
            await asyncio.sleep(0.03)
        assert select.options["cu-logistic@v3"] == "cu-logistic vv3 (production)"  # the fake's versions read "v3"
        select.value = "cu-logistic@v3"
        await user.should_see("cu-logistic vv3")
        await should_see_in_table(user, "2026-01-05 .. 2026-02-27")
        await should_see_in_table(user, "artifacts/m/model.onnx (2.0 KiB)")
        await should_see_in_table(user, "isotonic")
        await should_see_in_table(user, "gate passed")
        assert ("model_card", ("cu-logistic", "v3"), {}) in client.calls

    simulate(client, scenario)


def test_trading_run_detail_draws_its_equity_and_pnl_curve(client: FakeClient) -> None:
    async def scenario(user: User) -> None:
        await user.open("/trading")
        await should_see_in_table(user, "paper-1")
        user.find(marker="runs-table").trigger("rowClick", [{}, {"run_id": "paper-1"}, 0])
        await user.should_see("equity: 4 of 9000 snapshots shown; max drawdown 350.00")
        with user:
            [chart] = [e for e in user.current_layout.descendants() if isinstance(e, ui.echart)]
        equity, pnl = chart.options["series"]
        assert equity["data"] == [100_000.0, 100_250.0, 99_900.0, 100_400.0]
        assert pnl["data"] == [0.0, 250.0, -100.0, 400.0] and pnl["yAxisIndex"] == 1
        assert ("trading_run_equity", ("paper-1",), {}) in client.calls
        await asyncio.sleep(3.3)  # the detail refreshes every 3 s; the curve (a whole-file read) waits 30 s
        assert client.calls.count(("trading_run_equity", ("paper-1",), {})) == 1

    simulate(client, scenario)
