"""AlertService calls of :class:`~ghtrader.interfaces.client.GhTraderClient` (a mixin: the
client's channel, metadata, ``_call`` and ``_run`` are used as they are)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ghtrader.v1 import alerts_pb2, alerts_pb2_grpc

__all__ = ["SEVERITIES", "AlertsMixin", "alert_dict"]

#: CLI / dashboard severity names -> the proto enum.
SEVERITIES = {
    "": alerts_pb2.ALERT_SEVERITY_UNSPECIFIED,
    "info": alerts_pb2.ALERT_SEVERITY_INFO,
    "warning": alerts_pb2.ALERT_SEVERITY_WARNING,
    "critical": alerts_pb2.ALERT_SEVERITY_CRITICAL,
}
_NAMES = {v: k.upper() for k, v in SEVERITIES.items() if k}


def alert_dict(e: alerts_pb2.AlertEvent) -> dict[str, Any]:
    """One event as plain values (severity by name, details parsed)."""
    return {
        "seq": e.seq, "event_id": e.event_id, "datetime_ns": e.datetime_ns, "anomaly_type": e.anomaly_type,
        "severity": _NAMES.get(e.severity, "UNSPECIFIED"), "symbol": e.symbol,
        "details": json.loads(e.details_json or "{}"),
        "drift_score": e.drift_score if e.HasField("drift_score") else None,
        "detection_method": e.detection_method, "created_ns": e.created_ns,
    }  # fmt: skip


class AlertsMixin:
    _channel: grpc.Channel
    _metadata: tuple[tuple[str, str], ...]
    _call: Callable[..., Any]
    _run: Callable[..., Any]
    _translate: Callable[[grpc.RpcError], Exception]

    @property
    def _alerts(self) -> alerts_pb2_grpc.AlertServiceStub:
        stub = self.__dict__.get("_alerts_stub")
        if stub is None:
            stub = self.__dict__["_alerts_stub"] = alerts_pb2_grpc.AlertServiceStub(self._channel)
        return stub

    def list_alerts(
        self,
        *,
        severity: str = "",
        anomaly_type: str = "",
        symbol: str = "",
        since_ns: int | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Stored anomaly events, newest first: ``{"events": [...], "counts": {severity: n}}``
        (``severity`` keeps that level and worse: info, warning or critical)."""
        req = alerts_pb2.ListAlertsRequest(min_severity=SEVERITIES[severity.lower()], anomaly_type=anomaly_type,
                                           symbol=symbol)  # fmt: skip
        if since_ns is not None:
            req.since_ns = since_ns
        if limit is not None:
            req.limit = limit
        r = self._call(self._alerts.ListAlerts, req)
        return {"events": [alert_dict(e) for e in r.events], "counts": dict(r.counts_by_severity)}

    def watch_alerts(
        self, *, severity: str = "", symbol: str = "", after_seq: int | None = None, poll_s: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events as they are written (until the caller stops iterating or the server goes away)."""
        req = alerts_pb2.WatchAlertsRequest(min_severity=SEVERITIES[severity.lower()], symbol=symbol)
        if after_seq is not None:
            req.after_seq = after_seq
        if poll_s is not None:
            req.poll_s = poll_s
        call = self._alerts.WatchAlerts(req, metadata=self._metadata)
        try:
            for e in call:
                yield alert_dict(e)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                raise self._translate(exc) from None
        finally:
            call.cancel()

    def scan_anomalies(
        self,
        symbol: str = "",
        *,
        start_day: str = "",
        end_day: str = "",
        ticks_lake: str = "",
        run_id: str = "",
        model_id: str = "",
        model_version: str = "",
        on_progress: Any = None,
    ) -> Any:
        """Scan stored ticks, a trading run's journal (``run_id``) or a model's drift (``model_id``)
        for anomalies (a job); the result holds the scan summary."""
        req = alerts_pb2.ScanAnomaliesRequest(symbol=symbol, start_day=start_day, end_day=end_day,
                                              ticks_lake=ticks_lake, run_id=run_id, model_id=model_id,
                                              model_version=model_version)  # fmt: skip
        return self._run(self._alerts.ScanAnomalies, req, on_progress or (lambda _p: None))
