"""``OnnxInferenceRuntime``: ONNX Runtime sessions tuned for batch-1 latency.

CUDA is used when ``prefer_gpu`` and the installed onnxruntime offers the CUDA execution
provider; onnxruntime-gpu lists it even on a machine without a usable GPU and then falls back
to CPU (logging why once), so a session's ``providers`` report what it really runs on, and
after one failed CUDA attempt no runtime in the process asks for it again.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound

__all__ = ["OnnxInferenceRuntime", "OnnxInferenceSession"]

CUDA = "CUDAExecutionProvider"


def _nvidia_driver_present() -> bool:
    """onnxruntime-gpu lists CUDA even on machines without a GPU and then logs a loud load
    error; ask only where an NVIDIA driver is loaded."""
    return os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi") is not None


CPU = "CPUExecutionProvider"
#: Name the exporters give the probability output; other graphs fall back to a (batch, 3) output.
PROBABILITIES = "probabilities"
#: Further outputs of an ensemble graph (``adapters/onnx/ensemble_graph.py``), read by ``run_detail``.
ENSEMBLE_OUTPUTS = ("disagreement", "member_probabilities")


def _probability_output(outputs: list[ort.NodeArg]) -> ort.NodeArg:
    by_name = {o.name: o for o in outputs}
    if PROBABILITIES in by_name:
        return by_name[PROBABILITIES]
    float_outputs = [o for o in outputs if o.type == "tensor(float)"]
    three = [o for o in float_outputs if o.shape and o.shape[-1] == 3]
    if len(three) == 1:
        return three[0]
    if len(float_outputs) == 1:
        return float_outputs[0]
    names = ", ".join(f"{o.name} {o.type} {o.shape}" for o in outputs)
    raise FailedPrecondition(f"cannot tell the probability output among the ONNX outputs: {names}")


class OnnxInferenceSession:
    """One loaded graph: ``run(x)`` -> (batch, 3) float32 probabilities."""

    def __init__(self, session: ort.InferenceSession, path: Path) -> None:
        self._session = session
        self.path = path
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise FailedPrecondition(f"{path}: expected one ONNX input, found {[i.name for i in inputs]}")
        self.input_name: str = inputs[0].name
        self.input_shape: tuple[int | str | None, ...] = tuple(inputs[0].shape)
        self.output_name: str = _probability_output(session.get_outputs()).name
        self.providers: tuple[str, ...] = tuple(session.get_providers())
        self._outputs = [self.output_name]
        names = {o.name for o in session.get_outputs()}
        #: the ensemble outputs this graph has (empty for a single model)
        self.detail_outputs: tuple[str, ...] = tuple(n for n in ENSEMBLE_OUTPUTS if n in names)
        self._detail = [self.output_name, *self.detail_outputs]

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        rank = len(self.input_shape)
        if x.ndim != rank:
            raise InvalidArgument(f"model input must have {rank} dimensions {self.input_shape}; got shape {x.shape}")
        for axis, (want, got) in enumerate(zip(self.input_shape, x.shape, strict=True)):
            if isinstance(want, int) and want != got:
                raise InvalidArgument(
                    f"model input axis {axis} must be {want} (shape {self.input_shape}); got {x.shape}"
                )
        (out,) = self._session.run(self._outputs, {self.input_name: x})
        return np.asarray(out)

    def run_detail(self, x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The probabilities and, in the same run, the :attr:`detail_outputs` by name (an
        ensemble's disagreement and member probabilities); ``x`` already in the graph's shape."""
        out = self._session.run(self._detail, {self.input_name: np.ascontiguousarray(x, dtype=np.float32)})
        return np.asarray(out[0]), dict(zip(self.detail_outputs, out[1:], strict=True))


class OnnxInferenceRuntime:
    """InferenceRuntime on onnxruntime (thread-safe: sessions may be loaded from any thread).

    Args:
        intra_op_threads: threads inside one operator; 1 (default) gives the steadiest batch-1
            latency and leaves cores to other work. None lets onnxruntime choose.
        inter_op_threads: threads across operators (sequential execution when 1).
        device_id: CUDA device of GPU sessions.
    """

    # CUDA that failed to initialise (missing libraries, no device) fails the same way for the
    # whole process, so the first failure is remembered for every runtime.
    _cuda_failed = False
    _lock = threading.Lock()

    def __init__(
        self, *, intra_op_threads: int | None = 1, inter_op_threads: int | None = 1, device_id: int = 0
    ) -> None:
        self._intra = intra_op_threads
        self._inter = inter_op_threads
        self._device_id = int(device_id)

    @staticmethod
    def available_providers() -> tuple[str, ...]:
        return tuple(ort.get_available_providers())

    def _options(self) -> ort.SessionOptions:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        if self._intra is not None:
            options.intra_op_num_threads = int(self._intra)
        if self._inter is not None:
            options.inter_op_num_threads = int(self._inter)
        options.log_severity_level = 3  # errors only
        return options

    def providers_for(self, prefer_gpu: bool) -> list[str | tuple[str, dict[str, object]]]:
        """The provider list a session is created with."""
        if (
            prefer_gpu
            and not OnnxInferenceRuntime._cuda_failed
            and CUDA in ort.get_available_providers()
            and _nvidia_driver_present()
        ):
            return [(CUDA, {"device_id": self._device_id}), CPU]
        return [CPU]

    def load(self, onnx_path: Path, prefer_gpu: bool = True) -> OnnxInferenceSession:
        path = Path(onnx_path)
        if not path.is_file():
            raise NotFound(f"ONNX model {path} does not exist")
        providers = self.providers_for(prefer_gpu)
        try:
            session = ort.InferenceSession(str(path), sess_options=self._options(), providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
            raise FailedPrecondition(f"cannot load ONNX model {path}: {exc}") from exc
        if len(providers) > 1 and CUDA not in session.get_providers():
            with OnnxInferenceRuntime._lock:
                OnnxInferenceRuntime._cuda_failed = True
        return OnnxInferenceSession(session, path)
