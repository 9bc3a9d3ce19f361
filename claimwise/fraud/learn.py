"""The fraud model: a small, regularised LightGBM over automatically typed columns (issue 6, item 3).

What the model does, fold by fold, fitted on the training rows only:
1. category codes and free-text vocabularies (`tabular.FeatureSpace`);
2. out-of-fold target encoding of categories: each training row's category is encoded with the
   fraud rate of its category in the *other* inner folds (smoothed towards the overall rate), so no
   row ever sees its own label; the test rows get the rate over all training rows;
3. feature selection against shadows (as in Boruta): every feature is copied and shuffled, and a
   feature is kept only when its gain beats the best shuffled copies in most of a few rounds, so
   columns that carry nothing (most of a wide claims table) are not given to the final model;
4. LightGBM with shallow trees (4 leaves), a minimum gain per split that grows with the rows, and
   L2 regularisation.
The baseline (what the issue calls "plain gradient boosting") is scikit-learn's
GradientBoostingClassifier with its defaults on category codes.

A fitted model is stored as JSON (codes, encodings, the LightGBM text dump): no pickle, so loading a
model never runs code, and the registry checks its SHA-256 before loading it anyway.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from claimwise.fraud.tabular import Column, FeatureSpace, Table

SEED = 0
PARAMS: dict[str, Any] = {
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 4,
    "min_child_samples": 20,
    "colsample_bytree": 1.0,
    "reg_lambda": 5.0,
    "verbose": -1,
    "n_jobs": 1,
    "deterministic": True,
    "force_row_wise": True,
}
# Split gain is a sum over rows, so the least gain worth a split grows with the table: 3 at 800 rows.
MIN_GAIN_PER_ROW = 3.0 / 800
TARGET_SMOOTHING = 10.0
INNER_FOLDS = 5
SHADOW_ROUNDS = 5
SHADOW_PERCENTILE = 90.0
MODEL_FORMAT = "claimwise.fraud.tabular/v1"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def _lgbm(rows: int, seed: int, *, min_gain: float | None = None) -> Any:
    import lightgbm as lgb

    gain = MIN_GAIN_PER_ROW * rows if min_gain is None else min_gain
    return lgb.LGBMClassifier(**PARAMS, min_split_gain=gain, random_state=seed)


def _encode(codes: np.ndarray, y: np.ndarray, prior: float) -> dict[float, float]:
    table: dict[float, float] = {}
    present = ~np.isnan(codes)
    for value in np.unique(codes[present]):
        mask = codes == value
        table[float(value)] = float((y[mask].sum() + prior * TARGET_SMOOTHING) / (mask.sum() + TARGET_SMOOTHING))
    return table


def _apply(codes: np.ndarray, table: dict[float, float], prior: float) -> np.ndarray:
    return np.array([table.get(float(c), prior) if not np.isnan(c) else table.get(-1.0, prior) for c in codes])


@dataclass
class TabularModel:
    """Features, target encodings, selected columns and the booster; `fit`, `predict`, `explain`."""

    space: FeatureSpace
    seed: int = SEED
    prior: float = 0.0
    encodings: dict[int, dict[float, float]] = field(default_factory=dict)
    kept: list[int] = field(default_factory=list)
    booster: Any = None

    # -- fitting ----------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        columns: Sequence[Column],
        date_formats: dict[str, str],
        values: dict[str, list[str | None]],
        y: np.ndarray,
        rows: np.ndarray,
        *,
        seed: int = SEED,
    ) -> TabularModel:
        from sklearn.model_selection import StratifiedKFold

        space = FeatureSpace(list(columns), dict(date_formats)).fit(values, rows)
        x = space.transform(values, rows)
        yy = y[rows].astype(float)
        model = cls(space=space, seed=seed, prior=float(yy.mean()))
        for c in space.categorical:
            codes = x[:, c].copy()
            model.encodings[c] = _encode(codes, yy, model.prior)
            encoded = np.full(len(yy), model.prior)
            inner = StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed)
            for a, b in inner.split(codes, yy):
                encoded[b] = _apply(codes[b], _encode(codes[a], yy[a], float(yy[a].mean())), float(yy[a].mean()))
            x[:, c] = encoded
        model.kept = _shadow_select(x, yy, seed)
        model.booster = _lgbm(len(yy), seed).fit(x[:, model.kept], yy).booster_
        return model

    # -- use --------------------------------------------------------------------------------------

    def matrix(self, values: dict[str, list[str | None]], rows: np.ndarray | None = None) -> np.ndarray:
        x = self.space.transform(values, rows)
        for c, table in self.encodings.items():
            x[:, c] = _apply(x[:, c], table, self.prior)
        return x[:, self.kept]

    def predict(self, values: dict[str, list[str | None]], rows: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(self.booster.predict(self.matrix(values, rows)))

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.booster.predict(x))

    @property
    def features(self) -> list[str]:
        return [self.space.names[i] for i in self.kept]

    def explain(self, values: dict[str, list[str | None]], rows: np.ndarray | None = None) -> np.ndarray:
        """Per-row contributions of each kept feature to the log-odds (last column: the base value)."""
        return np.asarray(self.booster.predict(self.matrix(values, rows), pred_contrib=True))

    # -- storage (JSON, never pickle) ---------------------------------------------------------------

    def dumps(self) -> bytes:
        document = {
            "format": MODEL_FORMAT,
            "seed": self.seed,
            "prior": self.prior,
            "space": self.space.to_dict(),
            "encodings": {str(c): [[k, v] for k, v in t.items()] for c, t in self.encodings.items()},
            "kept": self.kept,
            "booster": self.booster.model_to_string(),
        }
        return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def loads(cls, blob: bytes) -> TabularModel:
        import lightgbm as lgb

        document = json.loads(blob)
        if document.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model")
        return cls(
            space=FeatureSpace.from_dict(document["space"]),
            seed=int(document["seed"]),
            prior=float(document["prior"]),
            encodings={int(c): {float(k): float(v) for k, v in t} for c, t in document["encodings"].items()},
            kept=[int(i) for i in document["kept"]],
            booster=lgb.Booster(model_str=document["booster"]),
        )


def _shadow_select(x: np.ndarray, y: np.ndarray, seed: int) -> list[int]:
    """Features whose gain beats the shuffled copies of all features in most rounds (all when none do)."""
    rng = np.random.default_rng(seed)
    hits = np.zeros(x.shape[1])
    for r in range(SHADOW_ROUNDS):
        shadow = np.column_stack([rng.permutation(x[:, j]) for j in range(x.shape[1])])
        model = _lgbm(len(y), seed + r, min_gain=0.0)
        model.set_params(importance_type="gain")
        model.fit(np.hstack([x, shadow]), y)
        gain = model.feature_importances_
        hits += gain[: x.shape[1]] > np.percentile(gain[x.shape[1] :], SHADOW_PERCENTILE)
    kept = [int(j) for j in np.where(hits > SHADOW_ROUNDS / 2)[0]]
    return kept or list(range(x.shape[1]))


def _baseline(table: Table, train: np.ndarray, test: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.ensemble import GradientBoostingClassifier

    space = FeatureSpace(table.columns, table.date_formats).fit(table.values, train)
    a, b = space.transform(table.values, train), space.transform(table.values, test)
    fill = np.nan_to_num(np.nanmedian(a, axis=0) if a.size else np.zeros(a.shape[1]))
    a = np.where(np.isnan(a), fill, a)
    b = np.where(np.isnan(b), fill, b)
    model = GradientBoostingClassifier(random_state=seed).fit(a, table.y[train])
    return np.asarray(model.predict_proba(b)[:, 1])


# -- metrics --------------------------------------------------------------------------------------


def top_recall(y: np.ndarray, scores: np.ndarray, share: float = 0.10) -> float:
    """Share of all positives found among the highest-scored `share` of rows (ties broken by order)."""
    k = max(1, int(round(len(scores) * share)))
    top = np.argsort(-scores, kind="stable")[:k]
    positives = int(y.sum())
    return float(y[top].sum() / positives) if positives else 0.0


def metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(y, scores)),
        "pr_auc": float(average_precision_score(y, scores)),
        "top10_recall": top_recall(y, scores),
    }


@dataclass
class CrossValidation:
    folds: list[dict[str, float]]
    baseline: list[dict[str, float]]
    seconds: float
    k: int
    seed: int

    @staticmethod
    def _summary(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
        return (
            {
                m: {"mean": float(np.mean([r[m] for r in rows])), "sd": float(np.std([r[m] for r in rows]))}
                for m in rows[0]
            }
            if rows
            else {}
        )

    @property
    def summary(self) -> dict[str, dict[str, float]]:
        return self._summary(self.folds)

    @property
    def baseline_summary(self) -> dict[str, dict[str, float]]:
        return self._summary(self.baseline)

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "seed": self.seed,
            "folds": self.folds,
            "mean": {m: v["mean"] for m, v in self.summary.items()},
            "sd": {m: v["sd"] for m, v in self.summary.items()},
            "baseline": {m: v["mean"] for m, v in self.baseline_summary.items()},
            "baseline_sd": {m: v["sd"] for m, v in self.baseline_summary.items()},
        }


def cross_validate(
    table: Table, *, folds: int = 5, seed: int = SEED, baseline: bool = True, progress: Progress = _quiet
) -> CrossValidation:
    """Stratified K-fold: every encoder, selection and model is fitted on the training folds only."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise ValueError("at least 2 folds")
    started = time.monotonic()
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    rows: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    for i, (train, test) in enumerate(split.split(np.zeros(table.rows), table.y), start=1):
        model = TabularModel.fit(table.columns, table.date_formats, table.values, table.y, train, seed=seed)
        rows.append(metrics(table.y[test], model.predict(table.values, test)))
        if baseline:
            base.append(metrics(table.y[test], _baseline(table, train, test, seed)))
        progress(
            f"fold {i}/{folds}: ROC-AUC {rows[-1]['roc_auc']:.4f}"
            + (f" (baseline {base[-1]['roc_auc']:.4f})" if baseline else "")
            + f", {time.monotonic() - started:.1f} s"
        )
    return CrossValidation(rows, base, time.monotonic() - started, folds, seed)


def fit_all(table: Table, *, seed: int = SEED) -> TabularModel:
    return TabularModel.fit(table.columns, table.date_formats, table.values, table.y, np.arange(table.rows), seed=seed)


def time_folds(
    times: np.ndarray, folds: int, *, validate: np.ndarray | None = None, first: int | None = None
) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """Rolling-origin (forward-chaining) folds over rows stamped with a time. The rows to validate on
    (`validate`, default all), in time order, are cut into `folds + 1` consecutive periods: the first,
    only ever trained on, holds `first` of them (default: an equal share), the others equal shares
    of the rest. Fold i trains on every row strictly earlier than period i begins and validates on
    the `validate` rows of period i, so a fold never learns from anything later than what it is
    judged on. Rows with the same time always fall in the same period. Returns (train, validation,
    period start, period end (inf for the last)) per fold."""
    if folds < 1:
        raise ValueError("at least 1 fold")
    candidates = np.flatnonzero(np.ones(len(times), dtype=bool) if validate is None else validate)
    first = len(candidates) // (folds + 1) if first is None else first
    if first < 1 or len(candidates) - first < folds:
        raise ValueError("fewer rows to validate on than periods")
    ordered = candidates[np.argsort(times[candidates], kind="stable")]
    starts = [float(times[ordered[0]])] + [float(times[b[0]]) for b in np.array_split(ordered[first:], folds)]
    result: list[tuple[np.ndarray, np.ndarray, float, float]] = []
    for i in range(1, folds + 1):
        start, end = starts[i], starts[i + 1] if i < folds else float("inf")
        train = np.flatnonzero(times < start)
        valid = ordered[(times[ordered] >= start) & (times[ordered] < end)]
        result.append((train, valid, start, end))
    return result
