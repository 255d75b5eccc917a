"""Host resources through psutil, and the GPU through nvidia-smi (cached, best effort)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from ghtrader.application.ports.system import DiskUsage, HostSnapshot

_GPU_QUERY = "name,memory.used,memory.total,utilization.gpu"


def query_gpu(timeout_s: float = 5.0) -> str:
    """One line per GPU from nvidia-smi, or a diagnostic saying why there is none."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return "no GPU: nvidia-smi not found on PATH"
    try:
        out = subprocess.run(
            [exe, f"--query-gpu={_GPU_QUERY}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"no GPU: nvidia-smi failed ({exc.__class__.__name__}: {exc})"
    if out.returncode != 0:
        reason = (out.stderr or out.stdout).strip().splitlines()
        return f"no GPU: nvidia-smi exited {out.returncode} ({reason[0] if reason else 'no output'})"
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return "; ".join(lines) if lines else "no GPU: nvidia-smi listed none"


def disk_usage(path: Path) -> DiskUsage:
    """Usage of the volume holding ``path`` (its nearest existing ancestor when it does not exist)."""
    probe = path if path.exists() else path.resolve().parent
    while not probe.exists():
        probe = probe.parent
    usage = psutil.disk_usage(str(probe))
    return DiskUsage(str(path), usage.used, usage.free, usage.total)


class PsutilStorageSpace:
    """StorageSpace: the volume holding ``path`` (the data dir of the embedded database)."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)

    def usage(self) -> DiskUsage:
        return disk_usage(self._path)


class PsutilHostProbe:
    """HostProbe: CPU, memory, the disks holding data/runs/artifacts, and the GPU summary."""

    def __init__(self, paths: Sequence[Path], gpu_ttl_s: float = 60.0) -> None:
        self._paths = tuple(paths)
        self._gpu_ttl_s = gpu_ttl_s
        self._gpu: tuple[float, str] | None = None
        self._lock = threading.Lock()
        psutil.cpu_percent(interval=None)  # prime: the first reading is always 0

    def _gpu_summary(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._gpu is None or now - self._gpu[0] > self._gpu_ttl_s:
                self._gpu = (now, query_gpu())
            return self._gpu[1]

    def snapshot(self) -> HostSnapshot:
        mem = psutil.virtual_memory()
        disks = [disk_usage(path) for path in self._paths]
        return HostSnapshot(
            cpu_percent=float(psutil.cpu_percent(interval=None)),
            cpu_count=psutil.cpu_count() or 1,
            memory_used_bytes=int(mem.total - mem.available),
            memory_total_bytes=int(mem.total),
            disks=tuple(disks),
            gpu=self._gpu_summary(),
        )
