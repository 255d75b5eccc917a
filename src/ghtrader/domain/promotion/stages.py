"""Staged model statuses and the moves allowed between them.

A version is born in ``development``, is evaluated in ``staging``, may run beside production
without executing in ``shadow``, and serves in ``production``; ``retired`` ends any stage.
Manual moves go one stage at a time (or back one stage); a version reaches ``production`` only
through a promotion (the gate, or a forced promotion with a reason) from any pre-production
stage, or through a rollback of a retired version that served before. Production leaves only
when another version replaces it (it is then retired) or when it is retired itself.
"""

from __future__ import annotations

from typing import Literal, get_args

from ghtrader.domain.errors import DomainError

__all__ = [
    "MODEL_STATUSES",
    "PRE_PRODUCTION",
    "ModelStatus",
    "PromotionError",
    "allowed_transitions",
    "check_transition",
    "is_allowed",
]

ModelStatus = Literal["development", "staging", "shadow", "production", "retired"]
MODEL_STATUSES: tuple[ModelStatus, ...] = get_args(ModelStatus)
#: Stages a candidate may be promoted from.
PRE_PRODUCTION: frozenset[str] = frozenset({"development", "staging", "shadow"})

# how: "manual" = a plain status change; "promote" = the gate (or a forced promotion);
# "rollback" = production handed back to a version that served before; "replace" = the old
# production version moved out by a promotion or rollback.
_MANUAL: dict[str, frozenset[str]] = {
    "development": frozenset({"staging", "retired"}),
    "staging": frozenset({"development", "shadow", "retired"}),
    "shadow": frozenset({"staging", "retired"}),
    "production": frozenset({"retired"}),
    "retired": frozenset({"staging"}),
}
_BY_HOW: dict[str, dict[str, frozenset[str]]] = {
    "manual": _MANUAL,
    "promote": {s: frozenset({"production"}) for s in PRE_PRODUCTION},
    "rollback": {"retired": frozenset({"production"}), "staging": frozenset({"production"}),
                 "shadow": frozenset({"production"})},
    "replace": {"production": frozenset({"retired"})},
}  # fmt: skip
HOWS: tuple[str, ...] = tuple(_BY_HOW)


class PromotionError(DomainError):
    """A status move that the stages do not allow."""


def allowed_transitions(status: str, how: str = "manual") -> frozenset[str]:
    """The statuses ``status`` may move to by ``how`` (manual | promote | rollback | replace)."""
    if how not in _BY_HOW:
        raise PromotionError(f"unknown kind of status change {how!r}: expected one of {', '.join(HOWS)}")
    return _BY_HOW[how].get(status, frozenset())


def is_allowed(from_status: str, to_status: str, how: str = "manual") -> bool:
    return to_status in allowed_transitions(from_status, how)


def check_transition(from_status: str, to_status: str, how: str = "manual") -> None:
    """Raise PromotionError naming the allowed moves unless ``from_status -> to_status`` is one."""
    for s in (from_status, to_status):
        if s not in MODEL_STATUSES:
            raise PromotionError(f"unknown model status {s!r}: expected one of {', '.join(MODEL_STATUSES)}")
    allowed = allowed_transitions(from_status, how)
    if to_status not in allowed:
        options = ", ".join(sorted(allowed)) or "nothing"
        hint = ""
        if to_status == "production" and how == "manual":
            hint = " (production is reached by `promote` through the gate or by `rollback`)"
        raise PromotionError(
            f"{how} move {from_status} -> {to_status} is not allowed: {from_status} may go to {options}{hint}"
        )
