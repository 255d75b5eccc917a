"""A real two-node Ray cluster on loopback (a head and a second node, each `ray start`ed with
one CPU, its own port and temp dir): an HPO study of a few trials runs through the Ray
executor, trials run on BOTH nodes (each trial records its node id), and the study's best
trial is stored in the embedded PostgreSQL (Optuna storage and ghtrader_hpo_trials_v2).

Only this test's processes are stopped at the end: each `ray start` runs in its own session,
and every Ray daemon it launches stays in that process group, which teardown signals.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghtrader.adapters.postgres import EmbeddedPostgres, open_postgres_stores
from ghtrader.adapters.postgres.hpo_store import PostgresHpoTrialStore
from tests.fakes.frames import synthetic_frame
from tests.fakes.system import FakeClock
from tests.unit.application.research.bench_families import FRAME_ARGS, REQUEST, bayes_frame

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RAY = Path(sys.executable).with_name("ray")
ROOT = Path(__file__).resolve().parents[2]
SPACE = """
params:
  l2_path: {type: float, low: 0.0001, high: 10.0, log: true}
  max_iter: {type: int, low: 50, high: 300, step: 50}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_group(pgid: int) -> None:
    """SIGTERM then SIGKILL the process group of one `ray start` (our daemons only)."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


def _ray_start(args: list[str], env: dict[str, str], groups: list[int]) -> None:
    proc = subprocess.Popen(
        [str(RAY), "start", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    groups.append(proc.pid)  # its session's process group holds every daemon it starts
    try:
        out, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        pytest.skip(f"`ray start {' '.join(args[:2])}` did not finish in 90 s on this machine")
    if proc.returncode != 0:
        pytest.skip(f"Ray cannot start here: `ray start` exited {proc.returncode}: {out[-800:]}")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    tmp = Path(tempfile.mkdtemp(prefix="rh", dir="/tmp"))  # Ray's socket paths must stay short
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),  # workers import ghtrader and the test tasks
        "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    common = ["--num-cpus", "1", "--disable-usage-stats", "--object-store-memory", "100000000",
              "--node-ip-address", "127.0.0.1"]  # fmt: skip
    groups: list[int] = []
    try:
        _ray_start(
            ["--head", "--port", str(port), "--temp-dir", str(tmp / "head"), "--include-dashboard=false", *common],
            env,
            groups,
        )
        _ray_start(["--address", f"127.0.0.1:{port}", "--temp-dir", str(tmp / "node2"), *common], env, groups)
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        for pgid in reversed(groups):
            _stop_group(pgid)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", settings={"fsync": "off"})
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def test_hpo_trials_run_on_both_ray_nodes_and_the_best_is_stored(ray_cluster: str, postgres_url: str) -> None:
    from ghtrader.adapters.linear import LogisticFamily
    from ghtrader.adapters.optuna import OptunaStudies, YamlSpaceCatalog
    from ghtrader.adapters.ray import RayFanoutExecutor
    from ghtrader.application.research.benchmark import RunBenchmark
    from ghtrader.application.research.families import FamilyRegistry
    from ghtrader.application.research.hpo import HpoRequest, RunHpo

    executor = RayFanoutExecutor(ray_cluster)
    deadline = time.monotonic() + 30
    while len(executor.node_ids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    nodes = set(executor.node_ids())
    assert len(nodes) == 2 and executor.slots() == 2

    bundle, close = open_postgres_stores(postgres_url, Path("unused"), max_connections=2)
    try:
        trials = PostgresHpoTrialStore(bundle.pool)
        families = FamilyRegistry([LogisticFamily()])
        uc = RunHpo(
            benchmark=RunBenchmark(families=families, clock=FakeClock()),
            families=families,
            studies=OptunaStudies(postgres_url),
            spaces=YamlSpaceCatalog(),
            trials=trials,
            executor=executor,
            clock=FakeClock(),
        )
        frame = bayes_frame(synthetic_frame(**FRAME_ARGS))
        report = uc(
            HpoRequest("logistic", REQUEST, study="ray2", n_trials=4, space_text=SPACE, pruner="none"), frame=frame
        )
        assert report.executor == "ray" and report.counts()["completed"] == 4
        workers = {t.worker for t in report.trials}
        assert workers == nodes  # both nodes ran trials (one CPU each, two trials at a time)
        rows = trials.list("ray2")
        assert {r.worker for r in rows} == nodes and all(r.state == "completed" for r in rows)
        best = OptunaStudies(postgres_url).load("ray2").best()
        assert best and best[0].values is not None
        assert best[0].values[0] == max(r.values[0] for r in rows if r.values)
        assert any(r.number == best[0].number and r.state == "completed" for r in rows)
    finally:
        close()
