"""End to end through `ghtrader serve` and the CLI: `regime fit`, `regime decode` (HMM filter,
BOCPD, k-means) and `regime show` on a small synthetic main_l5 window; the states land in
ghtrader_regime_states_v2."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_record_train_cli import Server, server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CONTRACT, START, END = "SHFE.cu2611", "2026-10-12", "2026-10-13"
ALIAS = "KQ.m@SHFE.cu"


def _ok(done: object, what: str) -> dict:
    assert done.returncode == 0, f"{what}: {done.stdout[-3000:]}{done.stderr[-3000:]}"  # type: ignore[attr-defined]
    return json.loads(done.stdout) if done.stdout.startswith("{") else {}  # type: ignore[attr-defined]


def _stored(server: Server, method: str, model_hash: str) -> int:  # noqa: F811
    from ghtrader.adapters.postgres import open_postgres_stores

    bundle, close = open_postgres_stores(None, server.tmp / "data" / "postgres", ensure_schema=False)
    try:
        with bundle.pool.connection() as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM ghtrader_regime_states_v2 WHERE symbol = %s AND detection_method = %s "
                "AND model_config_hash = %s",
                (ALIAS, method, model_hash),
            ).fetchone()
        return int(n)
    finally:
        close()


def test_regime_fit_decode_show(server: Server) -> None:  # noqa: F811
    for step in (
        ("download", CONTRACT, "--start", START, "--end", END),
        ("main-schedule", "--var", "SHFE.cu", "--start", START, "--end", END),
        ("main-l5", "--var", "SHFE.cu", "--start", START, "--end", END),
    ):
        _ok(server.cli(*step), step[0])

    fit = _ok(
        server.cli("--json", "regime", "fit", "--symbol", ALIAS, "--start", START, "--end", END, "--states", "3",
                   "--seeds", "0", "--n-iter", "20", timeout=600),
        "regime fit",
    )["result"]  # fmt: skip
    assert fit["n_states"] == 3 and fit["rows_used"] > 1000
    means = [s["means"]["log_rvol"] for s in fit["states"]]
    assert means == sorted(means)  # regime 0 is the calmest
    assert (server.tmp / "artifacts" / "regimes" / f"{fit['model_id']}.json").is_file()

    dec = _ok(
        server.cli("--json", "regime", "decode", "--symbol", ALIAS, "--start", START, "--end", END, timeout=600),
        "regime decode",
    )["result"]
    assert dec["model_id"] == fit["model_id"] and dec["written"] == fit["rows"]
    assert sum(v["rows"] for v in dec["stats"]["regimes"].values()) == fit["rows"]

    cp = _ok(
        server.cli("--json", "regime", "decode", "--symbol", ALIAS, "--start", START, "--end", END,
                   "--method", "bocpd", timeout=600),
        "regime decode bocpd",
    )["result"]  # fmt: skip
    assert cp["written"] == fit["rows"] and cp["model_config_hash"] != dec["model_config_hash"]

    km = _ok(
        server.cli("--json", "regime", "decode", "--symbol", ALIAS, "--start", START, "--end", END,
                   "--method", "kmeans", "--bootstraps", "2", timeout=600),
        "regime decode kmeans",
    )["result"]  # fmt: skip
    assert km["written"] == fit["rows"] and len(km["stats"]["stability_ari"]) == 2

    show = _ok(server.cli("--json", "regime", "show", "--symbol", ALIAS), "regime show")
    assert [m["model_id"] for m in show["models"]] == [fit["model_id"]]
    assert {(s["detection_method"], s["rows"]) for s in show["series"]} == {
        ("hmm-filter", fit["rows"]),
        ("bocpd", fit["rows"]),
        ("kmeans", fit["rows"]),
    }
    human = server.cli("regime", "show")
    assert human.returncode == 0 and "hmm-filter" in human.stdout and fit["model_id"] in human.stdout

    server.stop()  # the embedded database belongs to the server; read it after
    assert _stored(server, "hmm-filter", dec["model_config_hash"]) == fit["rows"]
