"""DDP under torchrun (two CPU processes, Gloo): same weights on every rank, rank 0 alone saves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]


def test_two_ranks_train_one_model_and_only_rank_zero_saves(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nnodes=1",
            "--nproc_per_node=2",
            str(Path(__file__).with_name("ddp_worker.py")),
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert r0["world_size"] == r1["world_size"] == 2
    assert r0["weights"] == r1["weights"]
    keys = ("epoch", "train_loss", "valid_loss", "valid_macro_loss", "valid_accuracy")
    losses = [[[h[k] for k in keys] for h in r["history"]] for r in (r0, r1)]
    assert losses[0] == losses[1] and len(losses[0]) == 2  # losses are reduced over both ranks
    assert sorted(r0["saved"]) == ["torch_model.json", "torch_normalizer.npz", "torch_weights.pt"]
    assert r1["saved"] == []
    assert r0["progress_calls"] == 3 and r1["progress_calls"] == 0  # 2 epochs + done, rank 0 only
    assert r0["group_left"] and r1["group_left"]
