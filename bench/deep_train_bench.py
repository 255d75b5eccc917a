"""Deep models: training throughput of the one training loop, and torch vs ONNX latency at batch 1.

For every architecture (default sizes unless ``--tiny``) this runs ``train_module`` for
``--epochs`` epochs on random windows with a planted label and reports the loop's own
samples/s (last epoch): fp32 always, and AMP (float16 and bfloat16 autocast) when a CUDA device
is present. It then exports the trained module to ONNX and times single-window inference with
torch (eval, no_grad, CPU) and ONNX Runtime (CPU provider, one intra-op thread and the default),
printing a markdown table with the command line that produced it.

Run:  .venv/bin/python bench/deep_train_bench.py [--models tcn,ssm] [--window 50] [--features 18]
      [--rows 20000] [--batch-size 256] [--epochs 2] [--latency-runs 300] [--threads 1] [--tiny]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ghtrader.adapters.torch.export import export_onnx
from ghtrader.adapters.torch.models import ARCHITECTURES
from ghtrader.adapters.torch.training import LoopOptions, seed_everything, train_module
from ghtrader.adapters.torch.windows import WindowData, labelled_window_ends
from ghtrader.application.ports.models import TrainConfig

TINY = {
    "deeplob": {"book_width": 8, "conv_channels": 4, "inception_channels": 4, "lstm_hidden": 8},
    "tcn": {"channels": 8, "levels": 3},
    "transformer": {"d_model": 16, "heads": 2, "layers": 1},
    "tlob": {"hidden": 8, "layers": 1, "temporal_heads": 2, "head_hidden": 16},
    "ssm": {"d_model": 8, "layers": 1, "d_state": 4},
    "tkan": {"hidden": 8, "grid_size": 4},
    "patchtst": {"patch_len": 4, "stride": 4, "d_model": 8, "heads": 2, "layers": 1},
}


def _data(rows: int, features: int, window: int, seed: int) -> WindowData:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    lagged = np.roll(x[:, 0], 3)
    labels = np.where(lagged > 0.5, 2.0, np.where(lagged < -0.5, 0.0, 1.0))
    seg = np.repeat(np.arange(rows // 5000 + 1), 5000)[:rows]
    return WindowData(x, labelled_window_ends(seg, labels, window), labels)


def _quiet(done: int, total: int, message: str) -> None:
    pass


def _throughput(name: str, params: dict, args: argparse.Namespace, amp: str | None) -> tuple[float, torch.nn.Module]:
    seed_everything(0)
    module = ARCHITECTURES[name].build(args.features, args.window, params)
    train = _data(args.rows, args.features, args.window, 1)
    valid = _data(max(args.rows // 10, args.window * 4), args.features, args.window, 2)
    config = TrainConfig(
        horizon=3,
        window=args.window,
        max_epochs=args.epochs,
        patience=args.epochs,
        batch_size=args.batch_size,
        device="cuda" if amp else args.device,
        amp=amp is not None,
    )
    result = train_module(module, train, valid, config, LoopOptions(amp_dtype=amp or "float16"), _quiet)
    return result.history[-1].samples_per_s, result.module


def _latency_us(fn, runs: int) -> tuple[float, float]:
    for _ in range(10):
        fn()
    t = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        t[i] = time.perf_counter_ns() - t0
    return float(np.percentile(t, 50) / 1e3), float(np.percentile(t, 99) / 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(ARCHITECTURES))
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--features", type=int, default=18)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--latency-runs", type=int, default=300)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--tiny", action="store_true", help="the small sizes the unit tests use")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available() and args.device != "cpu"

    lines = [
        f"`{' '.join([Path(sys.executable).name, *sys.argv])}`",
        "",
        (
            f"torch {torch.__version__}, onnxruntime {ort.__version__}, {platform.processor() or platform.machine()}, "
            f"{torch.get_num_threads()} torch threads, "
            f"device {'cuda: ' + torch.cuda.get_device_name() if cuda else 'cpu'}; "
            f"window {args.window}, {args.features} features, batch {args.batch_size}, {args.rows} rows"
        ),
        "",
        (
            "| model | params | train fp32 samples/s | train AMP fp16 samples/s | train AMP bf16 samples/s "
            "| torch b1 p50/p99 us | ONNX b1 p50/p99 us (1 thread) | ONNX b1 p50/p99 us (default) |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rng = np.random.default_rng(0)
    x1 = rng.standard_normal((1, args.window, args.features)).astype(np.float32)
    for name in args.models.split(","):
        params = {**ARCHITECTURES[name].DEFAULTS, **(TINY[name] if args.tiny else {})}
        fp32, module = _throughput(name, params, args, None)
        fp16 = bf16 = "n/a (no GPU)"
        if cuda:
            fp16 = f"{_throughput(name, params, args, 'float16')[0]:,.0f}"
            bf16 = f"{_throughput(name, params, args, 'bfloat16')[0]:,.0f}"
        n_params = sum(p.numel() for p in module.parameters())
        module = module.to("cpu").eval()
        xt = torch.from_numpy(x1)

        def torch_call(module: torch.nn.Module = module, xt: torch.Tensor = xt) -> None:
            with torch.no_grad():
                torch.softmax(module(xt), dim=-1)

        t50, t99 = _latency_us(torch_call, args.latency_runs)
        with tempfile.TemporaryDirectory() as tmp:
            sig = export_onnx(module, Path(tmp) / "m.onnx", args.window, args.features)
            onnx_cells = []
            for threads in (1, 0):
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = threads
                sess = ort.InferenceSession(str(Path(tmp) / "m.onnx"), opts, providers=["CPUExecutionProvider"])
                o50, o99 = _latency_us(
                    lambda s=sess, sig=sig: s.run([sig.output_name], {sig.input_name: x1}), args.latency_runs
                )
                onnx_cells.append(f"{o50:,.0f} / {o99:,.0f}")
        lines.append(
            f"| {name} | {n_params:,} | {fp32:,.0f} | {fp16} | {bf16} | {t50:,.0f} / {t99:,.0f} | "
            f"{onnx_cells[0]} | {onnx_cells[1]} |"
        )
        print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
