"""Does storing factors as float32 instead of float64 change what models learn?

    PYTHONPATH=src .venv/bin/python bench/factor_dtype_bench.py [--days 10] [--horizon 50]

Synthetic L5 ticks of one contract (the domain's synthetic market, which plants an order-flow
signal), every registered factor computed in float64, direction labels ``dir_h{horizon}``
(down / flat / up). The first 70% of the days train, the rest test (a time split). Two models,
LightGBM (multiclass) and a standardised multinomial logistic regression, are fitted twice: on
the float64 factors and on the same factors rounded to float32 (what the features table
stores). Prints test log loss, accuracy and macro one-vs-rest AUC of each, and how far the two
models' predicted probabilities are apart.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ghtrader.domain.calendar import TradingCalendar
from ghtrader.domain.factors.engine import compute_factor_matrix
from ghtrader.domain.labels.direction import direction_labels
from ghtrader.domain.market_sim import SyntheticMarket, SyntheticMarketConfig


def _data(symbol: str, days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cal = TradingCalendar([])
    market = SyntheticMarket(SyntheticMarketConfig(anchor_date=date(2024, 1, 2)), cal)
    parts = [market.ticks(symbol, d) for d in cal.trading_days(date(2024, 2, 19), date(2030, 1, 1))[:days]]
    ticks = np.concatenate([p for p in parts if p.shape[0]])
    tdays = cal.trading_days_of(ticks["datetime_ns"])
    return ticks, tdays, np.zeros(ticks.shape[0], dtype=np.int64), np.unique(tdays)


def _metrics(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    return (
        float(log_loss(y, p, labels=[0, 1, 2])),
        float(accuracy_score(y, p.argmax(axis=1))),
        float(roc_auc_score(y, p, multi_class="ovr", average="macro", labels=[0, 1, 2])),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbol", default="SHFE.cu2404")
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--horizon", type=int, default=50)
    args = ap.parse_args()

    ticks, tdays, seg, days = _data(args.symbol, args.days)
    x64, names = compute_factor_matrix(ticks, tdays, seg, price_tick=10.0)
    y = direction_labels(ticks["bid_price1"], ticks["ask_price1"], seg, (args.horizon,), 10.0)[f"dir_h{args.horizon}"]
    split_day = days[int(len(days) * 0.7)]
    ok = ~np.isnan(y)
    train = ok & (tdays < split_day)
    test = ok & (tdays >= split_day)
    x32 = x64.astype(np.float32).astype(np.float64)
    finite = np.isfinite(x64)
    rel = np.abs(x32 - x64)[finite] / np.maximum(np.abs(x64[finite]), 1e-300)
    print(
        f"{ticks.shape[0]:,} ticks, {len(names)} factors, {len(days)} days; train {int(train.sum()):,} / "
        f"test {int(test.sum()):,} rows; label dir_h{args.horizon} classes "
        f"{np.bincount(y[ok].astype(int), minlength=3).tolist()}"
    )
    print(f"float32 rounding: max relative error {rel.max():.2e}, median {np.median(rel):.2e}\n")
    ytr, yte = y[train].astype(int), y[test].astype(int)

    def fit_lgb(x: np.ndarray, seed: int = 0) -> np.ndarray:
        model = lgb.LGBMClassifier(
            n_estimators=100,
            learning_rate=0.1,
            num_leaves=31,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=seed,
            verbose=-1,
            n_jobs=1,
        )
        model.fit(x[train], ytr)
        return np.asarray(model.predict_proba(x[test]))

    def fit_logit(x: np.ndarray, seed: int = 0) -> np.ndarray:
        clean = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.1))
        model.fit(clean[train], ytr)
        return np.asarray(model.predict_proba(clean[test]))

    print(f"{'model':<10} {'dtype':<8} {'log loss':>9} {'accuracy':>9} {'AUC':>7} {'fit s':>6}")
    # LightGBM also refits float64 with another seed: the float32 difference is judged against
    # the difference one random seed makes.
    runs = (
        ("lightgbm", fit_lgb, (("float64", x64, 0), ("float32", x32, 0), ("float64", x64, 1))),
        ("logistic", fit_logit, (("float64", x64, 0), ("float32", x32, 0))),
    )
    for label, fit, variants in runs:
        probs = {}
        for dtype, x, seed in variants:
            t0 = time.perf_counter()
            probs[(dtype, seed)] = fit(x, seed)
            ll, acc, auc = _metrics(yte, probs[(dtype, seed)])
            tag = dtype if seed == 0 else f"{dtype} seed {seed}"
            print(f"{label:<10} {tag:<8} {ll:9.5f} {acc:9.5f} {auc:7.4f} {time.perf_counter() - t0:6.1f}")
        base = probs[("float64", 0)]
        for other in [k for k in probs if k != ("float64", 0)]:
            d = np.abs(base - probs[other])
            same = float(np.mean(base.argmax(1) == probs[other].argmax(1)))
            print(
                f"{label:<10} float64 vs {other[0]} seed {other[1]}: |dp| max {d.max():.2e} mean {d.mean():.2e}; "
                f"same predicted class {same:.2%}"
            )


if __name__ == "__main__":
    main()
