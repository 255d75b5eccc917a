"""``OnnxEnsembleGraphWriter``: one ONNX graph running every member graph and combining them.

Each member graph (raw ``features`` in, ``probabilities`` out; calibrator included) is brought
to one default-domain opset (at least 13) with onnx's version converter, its names prefixed
``m<i>_``, and its input wired to the shared ``features`` input. Then:

    Unsqueeze(p_i, 1) -> Concat(axis 1)                         -> member_probabilities (batch, K, 3)
    vote:  Mul(w[1,K,1]) -> ReduceSum(axis 1)                    -> probabilities (batch, 3)
    stack: Max(eps) -> Log -> Reshape(-1, 3K) -> MatMul(W) -> Add(b) -> Softmax -> probabilities
    Sub(vote_w) -> Abs -> ReduceSum(axis 2) -> Mul(0.5) -> MatMul(w) -> disagreement (batch,)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, compose, helper, numpy_helper, version_converter

from ghtrader.application.errors import FailedPrecondition, InvalidArgument
from ghtrader.application.ports.ensembles import GraphCombination
from ghtrader.application.ports.models import OnnxSignature

__all__ = ["OnnxEnsembleGraphWriter", "combine_graphs"]

INPUT_NAME = "features"
OUTPUT_NAME = "probabilities"
DISAGREEMENT = "disagreement"
MEMBERS = "member_probabilities"
_MIN_OPSET = 13  # Unsqueeze / ReduceSum take their axes as inputs from 13 on


def _default_opset(model: onnx.ModelProto) -> int:
    return max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=_MIN_OPSET)


def _const(name: str, value: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(value, name)


def combine_graphs(
    members: Sequence[onnx.ModelProto],
    *,
    combination: GraphCombination,
    weights: np.ndarray,
    meta_weights: np.ndarray | None = None,
    meta_bias: np.ndarray | None = None,
    eps: float = 1e-6,
) -> onnx.ModelProto:
    """The combined ModelProto (see the module docstring); the members are not changed."""
    k = len(members)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if k == 0 or w.shape != (k,):
        raise InvalidArgument(f"{w.shape[0]} weights for {k} member graphs")
    opset = max(_MIN_OPSET, *(_default_opset(m) for m in members))
    ml_opset = max((o.version for m in members for o in m.opset_import if o.domain == "ai.onnx.ml"), default=0)
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []
    n_features: int | str | None = None
    unsqueezed: list[str] = []
    inits.append(_const("ens_axis1", np.array([1], dtype=np.int64)))
    inits.append(_const("ens_axis2", np.array([2], dtype=np.int64)))
    for i, member in enumerate(members):
        if [x.name for x in member.graph.input] != [INPUT_NAME]:
            raise FailedPrecondition(f"member graph {i} does not take one input {INPUT_NAME!r}")
        if OUTPUT_NAME not in [o.name for o in member.graph.output]:
            raise FailedPrecondition(f"member graph {i} has no {OUTPUT_NAME!r} output")
        dims = member.graph.input[0].type.tensor_type.shape.dim
        width = dims[1].dim_value if dims[1].HasField("dim_value") else dims[1].dim_param
        if n_features is not None and width != n_features:
            raise FailedPrecondition(f"member graph {i} takes {width} features, member 0 takes {n_features}")
        n_features = width
        converted = member if _default_opset(member) == opset else version_converter.convert_version(member, opset)
        prefixed = compose.add_prefix(converted, f"m{i}_")
        shared = {f"m{i}_{INPUT_NAME}": INPUT_NAME}
        for node in prefixed.graph.node:
            node.input[:] = [shared.get(n, n) for n in node.input]
            nodes.append(node)
        inits.extend(prefixed.graph.initializer)
        unsqueezed.append(f"ens_u{i}")
        nodes.append(helper.make_node("Unsqueeze", [f"m{i}_{OUTPUT_NAME}", "ens_axis1"], [unsqueezed[-1]]))
    nodes.append(helper.make_node("Concat", unsqueezed, [MEMBERS], axis=1))
    inits.append(_const("ens_w", (w / w.sum()).astype(np.float32).reshape(1, k, 1)))
    nodes.append(helper.make_node("Mul", [MEMBERS, "ens_w"], ["ens_weighted"]))
    nodes.append(helper.make_node("ReduceSum", ["ens_weighted", "ens_axis1"], ["ens_vote"], keepdims=0))
    if combination == "vote":
        nodes.append(helper.make_node("Identity", ["ens_vote"], [OUTPUT_NAME]))
    elif combination == "stack":
        if meta_weights is None or meta_bias is None:
            raise InvalidArgument("a stacked graph needs the meta-learner's weights and bias")
        mw = np.asarray(meta_weights, dtype=np.float32)
        if mw.shape != (3 * k, 3):
            raise InvalidArgument(f"meta-learner weights {mw.shape} do not fit {k} members")
        inits += [
            _const("ens_eps", np.array(eps, dtype=np.float32)),
            _const("ens_flat", np.array([-1, 3 * k], dtype=np.int64)),
            _const("ens_meta_w", mw),
            _const("ens_meta_b", np.asarray(meta_bias, dtype=np.float32)),
        ]
        nodes += [
            helper.make_node("Max", [MEMBERS, "ens_eps"], ["ens_floored"]),
            helper.make_node("Log", ["ens_floored"], ["ens_log"]),
            helper.make_node("Reshape", ["ens_log", "ens_flat"], ["ens_stack_in"]),
            helper.make_node("MatMul", ["ens_stack_in", "ens_meta_w"], ["ens_mixed"]),
            helper.make_node("Add", ["ens_mixed", "ens_meta_b"], ["ens_logits"]),
            helper.make_node("Softmax", ["ens_logits"], [OUTPUT_NAME], axis=-1),
        ]
    else:
        raise InvalidArgument(f"unknown combination {combination!r}: 'vote' or 'stack'")
    inits += [_const("ens_half", np.array(0.5, dtype=np.float32)), _const("ens_wv", (w / w.sum()).astype(np.float32))]
    nodes += [
        helper.make_node("Unsqueeze", ["ens_vote", "ens_axis1"], ["ens_vote3"]),
        helper.make_node("Sub", [MEMBERS, "ens_vote3"], ["ens_diff"]),
        helper.make_node("Abs", ["ens_diff"], ["ens_abs"]),
        helper.make_node("ReduceSum", ["ens_abs", "ens_axis2"], ["ens_l1"], keepdims=0),
        helper.make_node("Mul", ["ens_l1", "ens_half"], ["ens_tv"]),
        helper.make_node("MatMul", ["ens_tv", "ens_wv"], [DISAGREEMENT]),
    ]
    graph = helper.make_graph(
        nodes,
        "ghtrader_ensemble",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", n_features])],
        [
            helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info(DISAGREEMENT, TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info(MEMBERS, TensorProto.FLOAT, ["batch", k, 3]),
        ],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", opset)]
    if ml_opset:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ml_opset))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ghtrader")
    model.ir_version = max(helper.find_min_ir_version_for(opsets), *(m.ir_version for m in members))
    onnx.checker.check_model(model)
    return model


class OnnxEnsembleGraphWriter:
    """EnsembleGraphWriter on the onnx package."""

    def combine(
        self,
        member_graphs: Sequence[Path],
        path: Path,
        *,
        combination: GraphCombination,
        weights: np.ndarray,
        meta_weights: np.ndarray | None = None,
        meta_bias: np.ndarray | None = None,
        eps: float = 1e-6,
    ) -> OnnxSignature:
        members = []
        for p in member_graphs:
            if not Path(p).is_file():
                raise FailedPrecondition(f"no member ONNX graph at {p}")
            members.append(onnx.load(str(p)))
        model = combine_graphs(
            members, combination=combination, weights=weights, meta_weights=meta_weights, meta_bias=meta_bias, eps=eps
        )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save_model(model, str(path))
        dims = model.graph.input[0].type.tensor_type.shape.dim
        return OnnxSignature(
            input_name=INPUT_NAME,
            input_shape=("batch", dims[1].dim_value or dims[1].dim_param),
            output_name=OUTPUT_NAME,
            opset=int(model.opset_import[0].version),
        )
