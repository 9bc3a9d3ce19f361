"""Learning from an external labelled table (issue 6, item 3): any CSV of claims with a label column.

Columns are typed automatically — numeric, categorical, date, free text — and identifier-like
columns are dropped before anything is learnt, with the reason reported. Everything that is
learnt from values (category codes, target statistics, text vocabularies) is fitted on the
training part of each fold only, so a cross-validated figure never sees its own test rows.

Pure numpy / scikit-learn / LightGBM: no Django, so the same code serves the CLI, the benchmark
and the tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MISSING = frozenset({"", "?", "na", "n/a", "nan", "null", "none", "-", "--"})
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y",
    "%d/%m/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M",
)
# A column is free text when its values are long and made of words; shorter strings with many
# distinct values are labels of a row (addresses, names) and are dropped as identifiers.
TEXT_MIN_WORDS = 5.0
TEXT_MIN_CHARS = 30.0
IDENTIFIER_RATIO = 0.9  # distinct values / rows above which a string or code column names the row
CATEGORY_MAX = 60  # distinct values above which a non-text string column is too fine to learn from
ID_NAME = re.compile(r"(^|[_\-\s.])(id|no|nr|num|number|code|key|uuid|guid|zip|zipcode|postcode|ref)$|id$", re.I)


class TableError(ValueError):
    """The table cannot be used as given (missing label column, a single class, too few rows)."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # numeric | categorical | date | text
    categories: tuple[str, ...] = ()  # for categorical columns: the values seen (fold encoders refit)


@dataclass(frozen=True)
class Dropped:
    name: str
    reason: str  # machine-readable: label, asked, identifier, empty, constant, high_cardinality


@dataclass
class Table:
    """A typed table: raw string values per column, the label vector, what was kept and dropped."""

    columns: list[Column]
    values: dict[str, list[str | None]]
    y: np.ndarray
    dropped: list[Dropped]
    label: str
    positive: str
    fingerprint: str  # SHA-256 of the file's bytes
    rows: int
    date_formats: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        kinds = Counter(c.kind for c in self.columns)
        return {
            "rows": self.rows,
            "positives": int(self.y.sum()),
            "label": self.label,
            "positive": self.positive,
            "columns": {c.name: c.kind for c in self.columns},
            "kinds": dict(kinds),
            "dropped": [{"column": d.name, "reason": d.reason} for d in self.dropped],
            "fingerprint": self.fingerprint,
        }


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in MISSING else value


def _to_float(value: str) -> float | None:
    try:
        number = float(value.replace(",", "")) if value.count(",") and "." in value else float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _date_format(values: Sequence[str]) -> str | None:
    """The one format that parses (nearly) every value, or None. Plain numbers are never dates."""
    sample = values[:200]
    numbers = not sample or all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in sample)
    if numbers and not all(re.fullmatch(r"(19|20)\d{6}", v) for v in sample):
        return None
    for fmt in DATE_FORMATS:
        ok = 0
        for v in sample:
            try:
                dt.datetime.strptime(v, fmt)  # noqa: DTZ007 (calendar dates, no time zone)
                ok += 1
            except ValueError:
                pass
        if ok >= 0.95 * len(sample):
            return fmt
    return None


def parse_date(value: str | None, fmt: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.strptime(value, fmt)  # noqa: DTZ007
    except ValueError:
        return None


def _is_identifier_name(name: str) -> bool:
    return bool(ID_NAME.search(name.strip()))


def type_columns(
    header: Sequence[str], data: dict[str, list[str | None]], *, skip: Iterable[str] = ()
) -> tuple[list[Column], list[Dropped], dict[str, str]]:
    """Decide each column's kind, or why it is dropped. Returns (columns, dropped, date formats)."""
    rows = len(next(iter(data.values()))) if data else 0
    skip = set(skip)
    columns: list[Column] = []
    dropped: list[Dropped] = []
    date_formats: dict[str, str] = {}
    for name in header:
        if name in skip:
            continue
        present = [v for v in data[name] if v is not None]
        if not present:
            dropped.append(Dropped(name, "empty"))
            continue
        distinct = len(set(present))
        if distinct == 1:
            dropped.append(Dropped(name, "constant"))
            continue
        ratio = distinct / rows
        numbers = [_to_float(v) for v in present]
        if all(n is not None for n in numbers):
            fmt = _date_format(present)
            if fmt is not None and re.fullmatch(r"\d{8}", present[0]):
                date_formats[name] = fmt
                columns.append(Column(name, "date"))
                continue
            integers = all(float(n).is_integer() for n in numbers if n is not None)
            widths = {len(v.lstrip("-")) for v in present}
            # Codes that name a row: integers (nearly) unique per row, of one width or with an
            # identifier's name (policy numbers, zip codes); measured amounts keep varying widths.
            if (
                integers
                and ratio >= IDENTIFIER_RATIO
                and (len(widths) == 1 or _is_identifier_name(name) or ratio == 1.0 and _is_sequence(numbers))
            ):
                dropped.append(Dropped(name, "identifier"))
                continue
            if integers and _is_identifier_name(name) and ratio >= 0.5:
                dropped.append(Dropped(name, "identifier"))
                continue
            columns.append(Column(name, "numeric"))
            continue
        fmt = _date_format(present)
        if fmt is not None:
            date_formats[name] = fmt
            columns.append(Column(name, "date"))
            continue
        words = sum(len(v.split()) for v in present) / len(present)
        chars = sum(len(v) for v in present) / len(present)
        if words >= TEXT_MIN_WORDS and chars >= TEXT_MIN_CHARS and ratio >= 0.2:
            columns.append(Column(name, "text"))
            continue
        if ratio >= IDENTIFIER_RATIO or (_is_identifier_name(name) and ratio >= 0.5):
            dropped.append(Dropped(name, "identifier"))
            continue
        if distinct > CATEGORY_MAX and ratio > 0.2:
            dropped.append(Dropped(name, "high_cardinality"))
            continue
        columns.append(Column(name, "categorical", tuple(sorted(set(present)))))
    return columns, dropped, date_formats


def _is_sequence(numbers: Sequence[float | None]) -> bool:
    ordered = sorted(n for n in numbers if n is not None)
    return len(ordered) > 1 and ordered[-1] - ordered[0] == len(ordered) - 1


def read_table(
    path: str | Path,
    *,
    label: str,
    positive: str | None = None,
    drop: Sequence[str] = (),
) -> Table:
    """Read a CSV, type its columns and separate the label. `positive` is the label value of the
    positive class (default: 1/true/yes/y if present, else the rarer value)."""
    raw = Path(path).read_bytes()
    fingerprint = hashlib.sha256(raw).hexdigest()
    text = raw.decode("utf-8-sig")
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise TableError("the file is empty") from None
    records = [r for r in reader if any(cell.strip() for cell in r)]
    if label not in header:
        raise TableError(f"no column named {label!r}; the columns are: {', '.join(header)}")
    unknown = [d for d in drop if d not in header]
    if unknown:
        raise TableError(f"--drop names columns that do not exist: {', '.join(unknown)}")
    data: dict[str, list[str | None]] = {h: [] for h in header}
    for record in records:
        for i, name in enumerate(header):
            data[name].append(_clean(record[i]) if i < len(record) else None)
    labels = data[label]
    if any(v is None for v in labels):
        keep = [i for i, v in enumerate(labels) if v is not None]
        data = {k: [col[i] for i in keep] for k, col in data.items()}
        labels = data[label]
    classes = Counter(v for v in labels if v is not None)
    if len(classes) != 2:
        raise TableError(f"the label column must have exactly two values; it has {len(classes)}")
    if positive is None:
        usual = [c for c in classes if c.lower() in {"1", "true", "yes", "y", "fraud", "t"}]
        positive = usual[0] if usual else min(classes, key=lambda c: (classes[c], c))
    elif positive not in classes:
        raise TableError(f"the label column has no value {positive!r}; it has {', '.join(sorted(classes))}")
    y = np.array([1 if v == positive else 0 for v in labels], dtype=np.int8)
    if y.sum() < 10 or (len(y) - y.sum()) < 10:
        raise TableError("each class needs at least 10 rows to learn and validate")
    dropped = [Dropped(label, "label")] + [Dropped(d, "asked") for d in drop]
    columns, auto_dropped, date_formats = type_columns(header, data, skip={label, *drop})
    table = Table(
        columns=columns,
        values={c.name: data[c.name] for c in columns},
        y=y,
        dropped=dropped + auto_dropped,
        label=label,
        positive=positive,
        fingerprint=fingerprint,
        rows=len(y),
        date_formats=date_formats,
    )
    return table


# ---------------------------------------------------------------------------------------------
# Features: a matrix from a typed table, with every learnt encoding fitted on given rows only.


@dataclass
class FeatureSpace:
    """How raw columns become numbers; `fit` on training rows, `transform` any rows."""

    columns: list[Column]
    date_formats: dict[str, str]
    text_components: int = 8
    names: list[str] = field(default_factory=list)
    categorical: list[int] = field(default_factory=list)  # positions of category-code features
    _codes: dict[str, dict[str, int]] = field(default_factory=dict)
    _text: dict[str, TextModel] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [[c.name, c.kind] for c in self.columns],
            "date_formats": self.date_formats,
            "text_components": self.text_components,
            "names": self.names,
            "categorical": self.categorical,
            "codes": self._codes,
            "text": {
                name: {"vocabulary": t.vocabulary, "idf": t.idf.tolist(), "components": t.components.tolist()}
                for name, t in self._text.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpace:
        space = cls(
            columns=[Column(name, kind) for name, kind in data["columns"]],
            date_formats=dict(data["date_formats"]),
            text_components=int(data["text_components"]),
            names=list(data["names"]),
            categorical=[int(i) for i in data["categorical"]],
        )
        space._codes = {k: {str(v): int(i) for v, i in codes.items()} for k, codes in data["codes"].items()}
        space._text = {
            name: TextModel(dict(t["vocabulary"]), np.array(t["idf"], dtype=float), np.array(t["components"]))
            for name, t in data["text"].items()
        }
        return space

    def fit(self, values: dict[str, list[str | None]], rows: np.ndarray) -> FeatureSpace:
        self.names, self.categorical = [], []
        dates = [c.name for c in self.columns if c.kind == "date"]
        for column in self.columns:
            col = values[column.name]
            if column.kind == "numeric":
                self.names.append(column.name)
            elif column.kind == "categorical":
                # Codes in order of frequency in the training rows; unseen values share one code.
                seen = Counter(col[i] for i in rows if col[i] is not None)
                order = [v for v, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))]
                self._codes[column.name] = {v: i for i, v in enumerate(order)}
                self.categorical.append(len(self.names))
                self.names.append(column.name)
            elif column.kind == "date":
                self.names += [f"{column.name}:year", f"{column.name}:month", f"{column.name}:weekday"]
                self.names.append(f"{column.name}:days")
            elif column.kind == "text":
                self._text[column.name] = _fit_text([col[i] or "" for i in rows], self.text_components)
                k = self._text[column.name].n_components
                self.names += [f"{column.name}:text{j}" for j in range(k)]
        for i, a in enumerate(dates):
            for b in dates[i + 1 :]:
                self.names.append(f"{b}-{a}:days")
        return self

    def transform(self, values: dict[str, list[str | None]], rows: np.ndarray | None = None) -> np.ndarray:
        n = len(next(iter(values.values())))
        index = np.arange(n) if rows is None else rows
        out: list[np.ndarray] = []
        parsed: dict[str, list[dt.datetime | None]] = {}
        for column in self.columns:
            col = values[column.name]
            if column.kind == "numeric":
                out.append(np.array([_num(col[i]) for i in index], dtype=float))
            elif column.kind == "categorical":
                codes = self._codes[column.name]
                unseen = float(len(codes))
                out.append(
                    np.array(
                        [np.nan if col[i] is None else float(codes.get(col[i], unseen)) for i in index],  # type: ignore[arg-type]
                        dtype=float,
                    )
                )
            elif column.kind == "date":
                fmt = self.date_formats[column.name]
                days = [parse_date(col[i], fmt) for i in index]
                parsed[column.name] = days
                out.append(np.array([d.year if d else np.nan for d in days], dtype=float))
                out.append(np.array([d.month if d else np.nan for d in days], dtype=float))
                out.append(np.array([d.weekday() if d else np.nan for d in days], dtype=float))
                out.append(np.array([d.toordinal() if d else np.nan for d in days], dtype=float))
            elif column.kind == "text":
                reduced = self._text[column.name].transform([col[i] or "" for i in index])
                out += list(reduced.T)
        dates = [c.name for c in self.columns if c.kind == "date"]
        for i, a in enumerate(dates):
            for b in dates[i + 1 :]:
                out.append(
                    np.array(
                        [(y - x).days if x and y else np.nan for x, y in zip(parsed[a], parsed[b], strict=True)],
                        dtype=float,
                    )
                )
        return np.column_stack(out) if out else np.zeros((len(index), 0))


def _num(value: str | None) -> float:
    if value is None:
        return np.nan
    number = _to_float(value)
    return np.nan if number is None else number


@dataclass
class TextModel:
    """TF-IDF over character n-grams reduced by SVD, kept as plain arrays (JSON, no pickle)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    components: np.ndarray  # (k, vocabulary)

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def transform(self, texts: list[str]) -> np.ndarray:
        from scipy.sparse import csr_matrix

        analyzer = _text_analyzer()
        rows, cols, data = [], [], []
        for i, text in enumerate(texts):
            counts = Counter(g for g in analyzer(text) if g in self.vocabulary)
            for gram, count in counts.items():
                rows.append(i)
                cols.append(self.vocabulary[gram])
                data.append((1.0 + math.log(count)) * self.idf[self.vocabulary[gram]])
        matrix = csr_matrix((data, (rows, cols)), shape=(len(texts), len(self.vocabulary)))
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        matrix = csr_matrix(matrix.multiply(1.0 / norms[:, None]))
        return np.asarray(matrix @ self.components.T)


def _text_analyzer() -> Callable[[str], list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Character n-grams work for Chinese (no word breaks) as for English.
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3)).build_analyzer()  # type: ignore[no-any-return]


def _fit_text(texts: list[str], components: int) -> TextModel:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), min_df=3, max_features=5000, sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    k = max(1, min(components, matrix.shape[1] - 1, matrix.shape[0] - 1))
    svd = TruncatedSVD(n_components=k, random_state=0).fit(matrix)
    vocabulary = {str(g): int(i) for g, i in vectorizer.vocabulary_.items()}
    return TextModel(vocabulary, np.asarray(vectorizer.idf_, dtype=float), np.asarray(svd.components_, dtype=float))


ProgressFn = Callable[[str], None]
