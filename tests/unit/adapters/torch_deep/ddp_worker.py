"""Run by ``torchrun`` from test_ddp.py: fit a tiny TCN under DDP, report what each rank saw."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import torch

from ghtrader.adapters.torch import deep_families
from ghtrader.application.ports.models import TrainConfig
from tests.unit.adapters.torch_deep.frames import planted_frame
from tests.unit.adapters.torch_deep.tiny import TINY


def main(out: Path) -> None:
    rank = int(os.environ["RANK"])
    calls: list[list] = []
    config = TrainConfig(horizon=2, window=8, max_epochs=2, batch_size=64, device="cpu", params=TINY["tcn"])
    model = deep_families()["tcn"].fit(
        planted_frame(n=2000, seed=1), planted_frame(n=700, seed=2), config, lambda d, t, m: calls.append([d, t, m])
    )
    digest = hashlib.sha256(b"".join(v.numpy().tobytes() for v in model.module.state_dict().values())).hexdigest()
    saved = model.save(out / "model")
    (out / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "rank": rank,
                "world_size": model.training["world_size"],
                "weights": digest,
                "history": model.training["history"],
                "saved": [p.name for p in saved],
                "progress_calls": len(calls),
                "group_left": not torch.distributed.is_initialized(),
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
