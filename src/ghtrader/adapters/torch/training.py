"""The one training loop every deep family uses.

Features: deterministic seeding, class-weighted cross-entropy (optional), early stopping on the
validation split's macro loss (per-class mean cross-entropy averaged over classes) with the best
weights restored, AMP (``torch.autocast`` + ``GradScaler``) on CUDA only, DDP when launched by
``torchrun`` with ``WORLD_SIZE > 1`` (NCCL on GPUs, Gloo on CPU; a ``DistributedSampler`` with
``set_epoch`` each epoch; rank 0 alone reports progress), plain single-process otherwise.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from ghtrader.adapters.torch.windows import (
    WindowData,
    WindowDataset,
    evenly_spaced,
    gather_windows,
)
from ghtrader.application.ports.models import TrainConfig
from ghtrader.application.progress import ProgressCallback

__all__ = [
    "DistributedContext",
    "EpochRecord",
    "LoopOptions",
    "TrainResult",
    "distributed_context",
    "is_primary_process",
    "predict_probabilities",
    "resolve_device",
    "seed_everything",
    "train_module",
]

ClassWeighting = Literal["none", "balanced"]


@dataclass(frozen=True)
class LoopOptions:
    """Loop settings beyond :class:`TrainConfig` (family params of the same names)."""

    class_weighting: ClassWeighting = "none"
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    min_delta: float = 0.0
    amp_dtype: Literal["float16", "bfloat16"] = "float16"
    eval_batch_size: int = 2048
    data_on_device: bool = True

    def __post_init__(self) -> None:
        if self.class_weighting not in ("none", "balanced"):
            raise ValueError(f"invalid class_weighting={self.class_weighting!r}: expected 'none' or 'balanced'")
        if self.amp_dtype not in ("float16", "bfloat16"):
            raise ValueError(f"invalid amp_dtype={self.amp_dtype!r}: expected 'float16' or 'bfloat16'")
        for name in ("weight_decay", "grad_clip", "min_delta"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"invalid {name}={v!r}: expected a finite number >= 0")
        if not (isinstance(self.eval_batch_size, int) and self.eval_batch_size >= 1):
            raise ValueError(f"invalid eval_batch_size={self.eval_batch_size!r}: expected an int >= 1")


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    valid_loss: float
    valid_macro_loss: float
    valid_accuracy: float
    samples_per_s: float
    seconds: float


@dataclass
class TrainResult:
    """The trained module (best weights, eval mode, on the CPU) and how training went."""

    module: nn.Module
    history: list[EpochRecord]
    best_epoch: int
    best_valid_macro_loss: float
    stopped_early: bool
    device: str
    amp: bool
    world_size: int
    rank: int
    train_samples: int
    valid_samples: int
    class_weights: list[float] | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """JSON-ready description (no module)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("module", "history")}
        out["history"] = [asdict(r) for r in self.history]
        return out


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (every device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cuda"`` without a GPU is an error."""
    if name not in ("auto", "cpu", "cuda") and not name.startswith("cuda:"):
        raise ValueError(f"invalid device={name!r}: expected 'auto', 'cpu' or 'cuda'")
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"device={name!r} asked for but torch sees no CUDA device")
    return torch.device(name if name.startswith("cuda:") else f"cuda:{local_rank}")


def is_primary_process() -> bool:
    """True unless this is a non-zero rank of a distributed (torchrun) launch."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


@dataclass(frozen=True)
class DistributedContext:
    world_size: int
    rank: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def primary(self) -> bool:
        return self.rank == 0


@contextmanager
def distributed_context(device: str) -> Iterator[DistributedContext]:
    """Join the process group a ``torchrun`` launch describes (``WORLD_SIZE > 1``), else run alone.

    The group is created here (NCCL on CUDA, Gloo on CPU) unless the caller already made one,
    and destroyed on exit only if created here.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        yield DistributedContext(1, 0, 0, resolve_device(device))
        return
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    created = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
        created = True
    try:
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        yield DistributedContext(dist.get_world_size(), dist.get_rank(), local_rank, dev)
    finally:
        if created:
            dist.destroy_process_group()


@contextmanager
def _deterministic(device: torch.device) -> Iterator[None]:
    if device.type != "cpu":
        yield
        return
    was, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was, warn_only=warn_only)


def _class_weights(counts: np.ndarray, how: ClassWeighting) -> np.ndarray | None:
    if how == "none":
        return None
    total = counts.sum()
    w = np.where(counts > 0, total / (3.0 * np.maximum(counts, 1)), 0.0)
    return w.astype(np.float32)


def _batches(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    return list(torch.split(order, batch_size))


def _evaluate(
    module: nn.Module,
    data: WindowDataset,
    items: torch.Tensor,
    batch_size: int,
    device: torch.device,
    autocast: dict[str, Any],
    ctx: DistributedContext,
) -> tuple[float, float, float]:
    """(mean loss, macro loss, accuracy) over ``items``, reduced over all ranks."""
    sums = torch.zeros(7, dtype=torch.float64, device=device)  # loss per class, count per class, correct
    module.eval()
    with torch.no_grad():
        for chunk in torch.split(items, batch_size):
            x, y = data.batch(chunk)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(**autocast):
                logits = module(x)
            loss = F.cross_entropy(logits.float(), y, reduction="none").double()
            sums[:3] += torch.zeros(3, dtype=torch.float64, device=device).index_add_(0, y, loss)
            sums[3:6] += torch.bincount(y, minlength=3)[:3].double()
            sums[6] += (logits.argmax(dim=1) == y).sum().double()
    if ctx.distributed:
        dist.all_reduce(sums)
    per_class, counts = sums[:3].cpu().numpy(), sums[3:6].cpu().numpy()
    n = counts.sum()
    present = counts > 0
    mean_loss = float(per_class.sum() / max(n, 1.0))
    macro = float(np.mean(per_class[present] / counts[present])) if present.any() else float("nan")
    return mean_loss, macro, float(sums[6].item() / max(n, 1.0))


def train_module(
    module: nn.Module,
    train: WindowData,
    valid: WindowData,
    config: TrainConfig,
    options: LoopOptions,
    progress: ProgressCallback,
) -> TrainResult:
    """Train ``module`` on the windows of ``train`` with early stopping on ``valid``.

    ``train``/``valid`` carry normalized features and the window end rows to learn/evaluate.
    Under ``torchrun`` (``WORLD_SIZE > 1``) each rank trains on its shard of every epoch and all
    ranks return the same weights. The returned module is on the CPU in eval mode.
    """
    with distributed_context(config.device) as ctx:
        device = ctx.device
        with _deterministic(device):
            return _train(module, train, valid, config, options, progress, ctx, device)


def _train(
    module: nn.Module,
    train: WindowData,
    valid: WindowData,
    config: TrainConfig,
    options: LoopOptions,
    progress: ProgressCallback,
    ctx: DistributedContext,
    device: torch.device,
) -> TrainResult:
    report = progress if ctx.primary else (lambda done, total, message: None)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False
    train_ends = evenly_spaced(train.ends, config.max_train_rows)
    data_device = device if options.data_on_device else torch.device("cpu")
    train_ds = WindowDataset(torch.from_numpy(train.features).to(data_device), train_ends, train.labels, config.window)
    valid_ds = WindowDataset(torch.from_numpy(valid.features).to(data_device), valid.ends, valid.labels, config.window)
    counts = train_ds.class_counts()
    weights = _class_weights(counts, options.class_weighting)

    use_amp = bool(config.amp) and device.type == "cuda"
    amp_dtype = torch.bfloat16 if options.amp_dtype == "bfloat16" else torch.float16
    autocast = {"device_type": device.type, "dtype": amp_dtype, "enabled": use_amp}
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    module.to(device)
    model: nn.Module = module
    if ctx.distributed:
        model = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(module.parameters(), lr=config.learning_rate, weight_decay=options.weight_decay)
    loss_weight = torch.as_tensor(weights, device=device) if weights is not None else None
    sampler = DistributedSampler(
        train_ds, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=config.seed, drop_last=False
    )
    valid_items = torch.tensor_split(torch.arange(len(valid_ds)), ctx.world_size)[ctx.rank]

    history: list[EpochRecord] = []
    notes: list[str] = []
    best_loss, best_epoch, best_state = math.inf, 0, copy.deepcopy(module.state_dict())
    bad_epochs, stopped_early = 0, False
    total = config.max_epochs
    for epoch in range(1, total + 1):
        started = time.perf_counter()
        sampler.set_epoch(epoch)
        order = torch.as_tensor(list(iter(sampler)), dtype=torch.int64)
        model.train()
        loss_sum = torch.zeros(2, dtype=torch.float64, device=device)
        for items in _batches(order, config.batch_size):
            x, y = train_ds.batch(items)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(**autocast):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y, weight=loss_weight)
            scaler.scale(loss).backward()
            if options.grad_clip > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(module.parameters(), options.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            loss_sum[0] += loss.detach().double() * y.shape[0]
            loss_sum[1] += y.shape[0]
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # kernels run asynchronously: time them, not their launches
        train_seconds = time.perf_counter() - started
        if ctx.distributed:
            dist.all_reduce(loss_sum)
        train_loss = float(loss_sum[0] / loss_sum[1].clamp(min=1))
        v_loss, v_macro, v_acc = _evaluate(
            module, valid_ds, valid_items, options.eval_batch_size, device, autocast, ctx
        )
        record = EpochRecord(
            epoch=epoch,
            train_loss=train_loss,
            valid_loss=v_loss,
            valid_macro_loss=v_macro,
            valid_accuracy=v_acc,
            samples_per_s=float(loss_sum[1]) / max(train_seconds, 1e-9),
            seconds=time.perf_counter() - started,
        )
        history.append(record)
        if not (math.isfinite(train_loss) and math.isfinite(v_macro)):
            notes.append(f"epoch {epoch}: loss is not finite (train {train_loss}, valid {v_macro}); stopped")
            report(epoch, total, notes[-1])
            stopped_early = True
            break
        if v_macro < best_loss - options.min_delta:
            best_loss, best_epoch, bad_epochs = v_macro, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            bad_epochs += 1
        report(
            epoch,
            total,
            f"epoch {epoch}/{total}: train loss {train_loss:.4f}, valid loss {v_loss:.4f} "
            f"(macro {v_macro:.4f}, acc {v_acc:.3f}), {record.samples_per_s:,.0f} samples/s",
        )
        if bad_epochs > 0 and bad_epochs >= config.patience:
            stopped_early = epoch < total
            break

    module.load_state_dict(best_state)
    module.to("cpu").eval()
    report(total, total, f"done: best epoch {best_epoch} (valid macro loss {best_loss:.4f})")
    return TrainResult(
        module=module,
        history=history,
        best_epoch=best_epoch,
        best_valid_macro_loss=best_loss,
        stopped_early=stopped_early,
        device=str(device),
        amp=use_amp,
        world_size=ctx.world_size,
        rank=ctx.rank,
        train_samples=len(train_ds),
        valid_samples=len(valid_ds),
        class_weights=None if weights is None else [float(w) for w in weights],
        notes=notes,
    )


def predict_probabilities(
    module: nn.Module, features: np.ndarray, ends: np.ndarray, window: int, batch_size: int = 4096
) -> np.ndarray:
    """``(len(ends), 3)`` float32 softmax of ``module`` (on its own device) for windows ending at ``ends``.

    Windows are gathered batch by batch, so memory stays ``O(batch_size * window * f)``.
    """
    device = next(module.parameters()).device
    out = np.empty((ends.shape[0], 3), dtype=np.float32)
    module.eval()
    with torch.no_grad():
        for start in range(0, ends.shape[0], batch_size):
            part = ends[start : start + batch_size]
            x = torch.from_numpy(gather_windows(features, part, window)).to(device)
            out[start : start + part.shape[0]] = torch.softmax(module(x).float(), dim=-1).cpu().numpy()
    return out
