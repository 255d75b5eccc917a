"""Small architecture sizes so every family trains and exports in about a second on a CPU."""

from __future__ import annotations

from typing import Any

TINY: dict[str, dict[str, Any]] = {
    "deeplob": {"book_width": 8, "conv_channels": 4, "inception_channels": 4, "lstm_hidden": 8},
    "tcn": {"channels": 8, "levels": 3},
    "transformer": {"d_model": 16, "heads": 2, "layers": 1},
    "tlob": {"hidden": 8, "layers": 1, "temporal_heads": 2, "head_hidden": 16},
    "ssm": {"d_model": 8, "layers": 1, "d_state": 4},
    "tkan": {"hidden": 8, "grid_size": 4},
    "patchtst": {"patch_len": 4, "stride": 4, "d_model": 8, "heads": 2, "layers": 1},
}
