"""The deep model families the container registers, one per architecture."""

from __future__ import annotations

from ghtrader.adapters.torch.family import TorchModelFamily
from ghtrader.adapters.torch.models import ARCHITECTURES
from ghtrader.application.ports.models import ModelFamily

__all__ = ["deep_families"]


def _summary(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def deep_families() -> dict[str, ModelFamily]:
    """``{name: family}`` for deeplob, tcn, transformer, tlob, ssm, tkan and patchtst."""
    return {
        name: TorchModelFamily(name, module.build, module.DEFAULTS, _summary(module.__doc__))
        for name, module in ARCHITECTURES.items()
    }
