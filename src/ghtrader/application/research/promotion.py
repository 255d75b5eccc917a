"""Promote, roll back and change the status of model versions; every change is recorded in the
registry's change log with its reason, actor and (for promotions) the gate's decision.

- :meth:`ModelPromotion.promote`: a version in development / staging / shadow goes to
  production when the :class:`~ghtrader.domain.promotion.PromotionGate` says so (or when forced,
  with a reason); the previous production version is **retired** in the same change batch.
- :meth:`ModelPromotion.rollback`: production goes back to a named version that served in
  production before; the current production version is retired.
- :meth:`ModelPromotion.set_status`: a manual one-stage move (never into production).

The gate reads the newest *evaluation* recorded for the version: the ``evaluation`` block of a
change-log decision (written by daily-train: every model evaluated on the same days, by
version), and falls back to the registry entry's own metrics (training validation scores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ghtrader.application.errors import FailedPrecondition, InvalidArgument, NotFound
from ghtrader.application.ports.clock import Clock
from ghtrader.application.ports.models import ModelRegistry, ModelStatus, RegistryEntry, StatusChange
from ghtrader.application.research.registry_entries import check_status
from ghtrader.domain.promotion import (
    GateDecision,
    GateMetrics,
    GateThresholds,
    PromotionError,
    PromotionGate,
    check_transition,
)

__all__ = [
    "ModelPromotion",
    "PromoteRequest",
    "PromoteResult",
    "RollbackRequest",
    "evaluation_metrics",
]


@dataclass(frozen=True)
class PromoteRequest:
    model_id: str
    version: str
    reason: str = ""
    actor: str = "api"
    force: bool = False  # promote whatever the gate says (needs a reason; the decision is still recorded)
    thresholds: GateThresholds = field(default_factory=GateThresholds)
    # measured gate metrics (daily-train gives them); None = the newest recorded evaluation
    candidate_metrics: GateMetrics | None = None
    incumbent_metrics: GateMetrics | None = None
    evaluation: Mapping[str, Any] | None = None  # recorded with the decision
    reject_to: ModelStatus | None = None  # where a kept candidate goes (recorded); None = it stays


@dataclass(frozen=True)
class PromoteResult:
    model_id: str
    version: str
    promoted: bool
    forced: bool
    decision: GateDecision
    previous_production: str | None  # the version that was in production before (None: none)
    metrics_source: str  # where the candidate's gate metrics came from
    entry: RegistryEntry  # the candidate after the call
    changes: list[StatusChange]


@dataclass(frozen=True)
class RollbackRequest:
    model_id: str
    to_version: str
    reason: str = ""
    actor: str = "api"


def evaluation_metrics(history: Sequence[StatusChange], version: str) -> tuple[GateMetrics, str] | None:
    """The newest recorded evaluation of ``version`` in a model's change log, and where it is."""
    for change in reversed(history):
        evaluation = change.decision.get("evaluation") if isinstance(change.decision, Mapping) else None
        models = evaluation.get("models") if isinstance(evaluation, Mapping) else None
        if isinstance(models, Mapping) and isinstance(models.get(version), Mapping):
            days = evaluation.get("test_days", "") if isinstance(evaluation, Mapping) else ""
            return GateMetrics.from_mapping(models[version]), f"evaluation of {change.actor} on {days}"
    return None


class ModelPromotion:
    """Promotion, rollback, manual status changes and history of registered models."""

    def __init__(self, *, registry: ModelRegistry, clock: Clock) -> None:
        self._registry = registry
        self._clock = clock

    def _entry(self, model_id: str, version: str) -> RegistryEntry:
        if not model_id:
            raise InvalidArgument("model_id is required (see `ghtrader models`)")
        entry = self._registry.get(model_id, version)
        if entry is None:
            raise NotFound(f"model {model_id!r} version {version} is not registered (see `ghtrader models`)")
        return entry

    def production(self, model_id: str) -> RegistryEntry | None:
        """The model's production version, if any."""
        live = [e for e in self._registry.list(status="production") if e.model_id == model_id]
        return live[0] if live else None

    def _metrics(self, entry: RegistryEntry, history: Sequence[StatusChange]) -> tuple[GateMetrics, str]:
        found = evaluation_metrics(history, entry.version)
        if found is not None:
            return found
        return GateMetrics.from_mapping(entry.metrics), "registry metrics (training validation)"

    def promote(self, request: PromoteRequest) -> PromoteResult:
        entry = self._entry(request.model_id, request.version)
        if request.force and not request.reason.strip():
            raise InvalidArgument("a forced promotion needs a reason (--reason)")
        if entry.status == "production":
            raise FailedPrecondition(f"{entry.model_id} v{entry.version} is already in production")
        try:
            check_transition(entry.status, "production", "promote")
        except PromotionError as exc:
            raise FailedPrecondition(str(exc)) from exc
        incumbent = self.production(entry.model_id)
        history = self._registry.history(entry.model_id)
        if request.candidate_metrics is not None:
            cand, source = request.candidate_metrics, "measured by the caller"
        else:
            cand, source = self._metrics(entry, history)
        inc: GateMetrics | None = None
        if incumbent is not None:
            inc = request.incumbent_metrics or self._metrics(incumbent, history)[0]
        decision = PromotionGate(request.thresholds).decide(cand, inc)
        record: dict[str, Any] = {**decision.to_dict(), "forced": request.force, "metrics_source": source}
        if request.evaluation is not None:
            record["evaluation"] = dict(request.evaluation)
        now = self._clock.now_ns()
        changes: list[StatusChange] = []
        promoted = decision.promote or request.force
        why = request.reason.strip()
        if promoted:
            label = "forced" if request.force and not decision.promote else "gate passed"
            if incumbent is not None:
                changes.append(
                    StatusChange(
                        incumbent.model_id, incumbent.version, "production", "retired",
                        f"replaced by v{entry.version} ({label})" + (f": {why}" if why else ""),
                        request.actor, now, record,
                    )
                )  # fmt: skip
            changes.append(
                StatusChange(
                    entry.model_id, entry.version, entry.status, "production",
                    f"promoted ({label}; {decision.summary()})" + (f": {why}" if why else ""),
                    request.actor, now, record,
                )
            )  # fmt: skip
        elif request.reject_to is not None and request.reject_to != entry.status:
            check_status(request.reject_to)
            changes.append(
                StatusChange(
                    entry.model_id, entry.version, entry.status, request.reject_to,
                    f"kept out of production ({decision.summary()})" + (f": {why}" if why else ""),
                    request.actor, now, record,
                )
            )  # fmt: skip
        if changes:
            updated = self._registry.change_statuses(changes)
            entry = updated[-1]
        return PromoteResult(
            model_id=entry.model_id,
            version=entry.version,
            promoted=promoted,
            forced=request.force and not decision.promote,
            decision=decision,
            previous_production=None if incumbent is None else incumbent.version,
            metrics_source=source,
            entry=entry,
            changes=changes,
        )

    def rollback(self, request: RollbackRequest) -> list[StatusChange]:
        """Production back to ``to_version`` (which served before); returns the changes made."""
        target = self._entry(request.model_id, request.to_version)
        current = self.production(target.model_id)
        if current is not None and current.version == target.version:
            raise FailedPrecondition(f"{target.model_id} v{target.version} is already in production")
        if target.promoted_at_ns is None:
            raise FailedPrecondition(
                f"{target.model_id} v{target.version} never served in production: roll back only to a version "
                "that did (use `promote` for a new one)"
            )
        try:
            check_transition(target.status, "production", "rollback")
        except PromotionError as exc:
            raise FailedPrecondition(str(exc)) from exc
        now = self._clock.now_ns()
        why = request.reason.strip()
        record = {"rollback": {"from": None if current is None else current.version, "to": target.version}}
        changes: list[StatusChange] = []
        if current is not None:
            changes.append(
                StatusChange(
                    current.model_id, current.version, "production", "retired",
                    f"rolled back to v{target.version}" + (f": {why}" if why else ""), request.actor, now, record,
                )
            )  # fmt: skip
        src = f" from v{current.version}" if current is not None else ""
        changes.append(
            StatusChange(
                target.model_id, target.version, target.status, "production",
                f"rollback{src}" + (f": {why}" if why else ""), request.actor, now, record,
            )
        )  # fmt: skip
        self._registry.change_statuses(changes)
        return changes

    def set_status(
        self, model_id: str, version: str, status: str, reason: str = "", actor: str = "api"
    ) -> RegistryEntry:
        """A manual one-stage move (see :mod:`ghtrader.domain.promotion.stages`), recorded."""
        to = check_status(status)
        entry = self._entry(model_id, version)
        if entry.status == to:
            return entry
        try:
            check_transition(entry.status, to, "manual")
        except PromotionError as exc:
            raise FailedPrecondition(str(exc)) from exc
        change = StatusChange(
            model_id,
            entry.version,
            entry.status,
            to,
            reason.strip() or "manual status change",
            actor,
            self._clock.now_ns(),
        )
        return self._registry.change_statuses([change])[0]

    def record(self, changes: Sequence[StatusChange]) -> list[RegistryEntry]:
        """Record raw status changes (e.g. an evaluation moving a candidate to staging); the
        caller has checked them against the stages."""
        for c in changes:
            try:
                check_transition(c.from_status, c.to_status, "manual")
            except PromotionError as exc:
                raise FailedPrecondition(str(exc)) from exc
        return self._registry.change_statuses(changes)

    def history(self, model_id: str) -> list[StatusChange]:
        if not model_id:
            raise InvalidArgument("model_id is required")
        return self._registry.history(model_id)
