"""Buffer and calibrator together, as the runner drives them, on overlapping event-time labels."""

from __future__ import annotations

import numpy as np

from ghtrader.domain.online import (
    CALIBRATOR_ARMED,
    SIGNALS_DISABLED,
    CalibratorConfig,
    DelayedLabelBuffer,
    OnlineCalibrator,
)

H = 50
TICK = 10.0
N = 40_000
FLIP_AT = 25_000


def _market(seed: int, informed: bool):
    """Random-walk mid; model probabilities either noise or an (imperfect) view of the move over
    the next H ticks that turns backwards at FLIP_AT."""
    rng = np.random.default_rng(seed)
    mid = 70_000.0 + TICK / 2 * np.cumsum(rng.choice([-1, 0, 0, 0, 1], size=N + H))
    if informed:
        move = (mid[H:] - mid[:-H]) / TICK
        s = np.where(np.arange(N) < FLIP_AT, 0.5, -0.5) * move + rng.normal(size=N)
        logits = np.stack([-s, np.zeros(N), s], axis=1)
    else:
        logits = rng.normal(size=(N, 3))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return mid, probs, rng.normal(size=(N, 4))


def _drive(mid, probs, feats, stride: int):
    buf = DelayedLabelBuffer(H, TICK, 1.0, n_features=4)
    cal = OnlineCalibrator(CalibratorConfig(n_features=4, detector_stride=stride))
    events, served, raw = [], [], []
    pending: dict[int, np.ndarray] = {}
    for t in range(N):
        row = buf.push(t, float(mid[t]), probs[t], feats[t])
        if row is not None:
            q = pending.pop(row.tick_index)
            served.append(-np.log(q[row.label]))
            raw.append(-np.log(row.probs[row.label]))
            ev = cal.update(row.probs, row.features, row.label)
            if ev is not None:
                events.append((t, ev))
        pending[t] = cal.predict(probs[t], feats[t])
    return cal, events, np.array(served), np.array(raw)


def test_block_means_keep_detectors_quiet_on_overlapping_labels() -> None:
    mid, probs, feats = _market(0, informed=False)
    cal, events, _, _ = _drive(mid, probs, feats, stride=1)
    # per-row losses of overlapping labels are far from independent: row by row, the detectors
    # see "drifts" in pure noise
    assert cal.state().n_drifts > 20 and sum(ev.event == SIGNALS_DISABLED for _, ev in events) > 10
    cal, events, served, raw = _drive(mid, probs, feats, stride=H)
    assert [ev.event for _, ev in events] == [CALIBRATOR_ARMED] and cal.state().n_drifts == 0
    assert served[5000:].mean() < raw[5000:].mean()  # it learns to distrust the noise model


def test_a_model_that_turns_wrong_triggers_fallback_then_relearns() -> None:
    mid, probs, feats = _market(1, informed=True)
    cal, events, served, raw = _drive(mid, probs, feats, stride=H)
    disabled = [t for t, ev in events if ev.event == SIGNALS_DISABLED]
    assert disabled and FLIP_AT <= disabled[0] <= FLIP_AT + H + 2000
    assert all(ev.reason.startswith("drift: ") for _, ev in events if ev.event == SIGNALS_DISABLED)
    assert cal.enabled
    after = slice(FLIP_AT + 5000, None)
    assert served[after].mean() < raw[after].mean() - 0.5
