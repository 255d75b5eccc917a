"""Deep LOB architectures: each maps ``(batch, window, f)`` float32 windows to ``(batch, 3)`` logits.

Every module exposes ``DEFAULTS`` (its hyper-parameters) and ``build(n_features, window, params)``.
"""

from ghtrader.adapters.torch.models import (
    deeplob,
    patchtst,
    ssm,
    tcn,
    tkan,
    tlob,
    transformer,
)

ARCHITECTURES = {
    "deeplob": deeplob,
    "tcn": tcn,
    "transformer": transformer,
    "tlob": tlob,
    "ssm": ssm,
    "tkan": tkan,
    "patchtst": patchtst,
}

__all__ = ["ARCHITECTURES"]
