"""`claimwise fraud`: learn from an external labelled table of claims (issue 6, item 3).

claimwise fraud evaluate --csv PATH --label COLUMN [--positive VALUE] [--drop COLUMN ...] [--folds K]
claimwise fraud train    --csv PATH --label COLUMN [...] [--user NAME]
claimwise fraud evaluate --platform [--folds K]     the platform's own claims, labelled by investigations,
claimwise fraud train    --platform [--user NAME]   validated forward in time (issue 6, item 2)
claimwise fraud rules    install the preset red-flag rules (idempotent)
claimwise fraud score    [--all | --open] [--since YYYY-MM-DD] [--chunk N] [--rewrite] [--workers N]   rescore claims in batch
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from claimwise.core.errors import DomainError
from claimwise.fraud.learn import SEED, CrossValidation, cross_validate, fit_all, metrics
from claimwise.fraud.tabular import Table, TableError, read_table

REASONS = {
    "label": "the label",
    "asked": "asked (--drop)",
    "identifier": "identifier-like: (nearly) one value per row",
    "empty": "empty",
    "constant": "one value only",
    "high_cardinality": "too many distinct values to learn from",
}


class Command(BaseCommand):
    help = "Fraud models: cross-validate or train on a labelled CSV of claims; install the preset red flags."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("evaluate", "stratified K-fold cross-validation on a labelled CSV: ROC-AUC, PR-AUC, top-10% recall"),
            ("train", "cross-validate, train on all rows and register the model (active only if better)"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--csv", help="path of the CSV file (UTF-8, header row)")
            p.add_argument("--label", help="the column that says whether a claim was fraud")
            p.add_argument(
                "--platform",
                action="store_true",
                help="learn from the platform's own claims and closed investigations (time-aware folds)",
            )
            p.add_argument("--positive", help="the label's value for fraud (default: 1/true/yes/Y, else the rarer)")
            p.add_argument("--drop", nargs="*", default=[], metavar="COLUMN", help="columns never to learn from")
            p.add_argument(
                "--folds", type=int, help="K of the stratified K-fold (default 5); with --platform, periods (default 4)"
            )
            p.add_argument("--seed", type=int, default=SEED, help="random seed (results are reproducible)")
            p.add_argument("--no-baseline", action="store_true", help="skip the plain gradient-boosting baseline")
            p.add_argument("--json", action="store_true", help="print the result as JSON")
            if name == "train":
                p.add_argument("--user", help="username recorded as the trainer")
                p.add_argument("--name", help="a name for the model (default: the file name)")
        sub.add_parser("rules", help="install the preset red-flag rules that do not exist yet")
        p = sub.add_parser("score", help="rescore claims in batch (after a new model or rule is activated)")
        which = p.add_mutually_exclusive_group()
        which.add_argument("--all", action="store_true", help="every claim (the default)")
        which.add_argument("--open", action="store_true", help="open claims only")
        p.add_argument("--since", help="claims reported on or after this day (YYYY-MM-DD)")
        p.add_argument("--chunk", type=int, default=20000, help="claims per chunk and transaction")
        p.add_argument("--rewrite", action="store_true", help="write even when the score and version are unchanged")
        p.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes sharing the chunks (PostgreSQL; default 1, e.g. the cores)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts.get("platform"):
                if opts.get("csv") or opts.get("label"):
                    raise CommandError("--platform learns from the platform's claims: give no --csv or --label")
                self._platform(opts)
                return
            if opts["action"] in ("evaluate", "train") and not (opts.get("csv") and opts.get("label")):
                raise CommandError("give --csv PATH and --label COLUMN, or --platform")
            getattr(self, f"_{opts['action']}")(opts)
        except (TableError, DomainError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from exc

    def _progress(self, opts: dict[str, Any]) -> Any:
        if opts.get("json"):
            return lambda _line: None
        return lambda line: self.stderr.write(f"  {line}")

    def _read(self, opts: dict[str, Any]) -> Table:
        opts["folds"] = 5 if opts["folds"] is None else opts["folds"]
        if opts["folds"] < 2:
            raise CommandError("--folds must be at least 2")
        table = read_table(opts["csv"], label=opts["label"], positive=opts["positive"], drop=opts["drop"])
        if not opts.get("json"):
            d = table.describe()
            self.stdout.write(
                f"{table.rows} rows, {d['positives']} positive ({opts['label']} = {table.positive}); "
                f"data SHA-256 {table.fingerprint[:16]}…"
            )
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(d["kinds"].items()))
            self.stdout.write(f"columns used: {len(table.columns)} ({kinds})")
            for dropped in table.dropped:
                self.stdout.write(f"  dropped {dropped.name}: {REASONS[dropped.reason]}")
        return table

    def _cv(self, table: Table, opts: dict[str, Any]) -> CrossValidation:
        return cross_validate(
            table,
            folds=opts["folds"],
            seed=opts["seed"],
            baseline=not opts["no_baseline"],
            progress=self._progress(opts),
        )

    def _print(
        self, table: Table, cv: CrossValidation, opts: dict[str, Any], extra: dict[str, Any] | None = None
    ) -> None:
        if opts.get("json"):
            self.stdout.write(json.dumps({"table": table.describe(), "cv": cv.as_dict(), **(extra or {})}, indent=2))
            return
        self.stdout.write(f"stratified {cv.k}-fold cross-validation (seed {cv.seed}), {cv.seconds:.1f} s")
        self.stdout.write(f"{'fold':>6}  {'ROC-AUC':>8}  {'PR-AUC':>8}  {'top-10% recall':>14}")
        for i, m in enumerate(cv.folds, start=1):
            self.stdout.write(f"{i:>6}  {m['roc_auc']:8.4f}  {m['pr_auc']:8.4f}  {m['top10_recall']:14.4f}")
        rows = [("model", cv.summary)] + ([("baseline", cv.baseline_summary)] if cv.baseline else [])
        for name, s in rows:
            self.stdout.write(
                f"{name:>8}: ROC-AUC {s['roc_auc']['mean']:.4f} ± {s['roc_auc']['sd']:.4f}   "
                f"PR-AUC {s['pr_auc']['mean']:.4f} ± {s['pr_auc']['sd']:.4f}   "
                f"top-10% recall {s['top10_recall']['mean']:.4f} ± {s['top10_recall']['sd']:.4f}"
            )

    def _evaluate(self, opts: dict[str, Any]) -> None:
        table = self._read(opts)
        self._print(table, self._cv(table, opts), opts)

    def _train(self, opts: dict[str, Any]) -> None:
        from pathlib import Path

        from claimwise.accounts.models import User
        from claimwise.fraud.choices import ModelScope
        from claimwise.fraud.registry import model_register

        actor = None
        if opts.get("user"):
            actor = User.objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(f"no user named {opts['user']!r}")
        table = self._read(opts)
        cv = self._cv(table, opts)
        started = time.monotonic()
        model = fit_all(table, seed=opts["seed"])
        summary = cv.as_dict()
        columns_key = ",".join(sorted(c.name for c in table.columns))
        summary["validation"] = {"data": table.fingerprint, "columns": columns_key, "k": cv.k, "seed": cv.seed}

        def evaluate_active(active: Any) -> dict[str, float] | None:
            # The active model scored on this table; it may have seen these rows (favours it).
            return metrics(table.y, active.predict(table.values))

        result = model_register(
            actor=actor,
            model=model,
            scope=ModelScope.EXTERNAL,
            name=opts.get("name") or Path(opts["csv"]).name,
            data_fingerprint=table.fingerprint,
            rows=table.rows,
            label=table.label,
            columns={
                "used": {c.name: c.kind for c in table.columns},
                "dropped": [{"column": d.name, "reason": d.reason} for d in table.dropped],
                "positive": table.positive,
            },
            metrics=summary,
            evaluate_active=evaluate_active,
        )
        row, comparison = result.model, result.comparison
        extra = {"model": {"version": row.version, "status": row.status, "comparison": comparison}}
        self._print(table, cv, opts, extra)
        if not opts.get("json"):
            self.stdout.write(
                f"model v{row.version} registered ({time.monotonic() - started:.1f} s to train on all rows), "
                f"status {row.status}: {_comparison_text(comparison)}"
            )
            self.stdout.write(f"features kept: {', '.join(row.features)}")

    def _platform(self, opts: dict[str, Any]) -> None:
        """`evaluate --platform` / `train --platform`: progress on stderr, the result on stdout."""
        from claimwise.accounts.models import User
        from claimwise.fraud import platform

        folds = platform.FOLDS if opts["folds"] is None else opts["folds"]
        if folds < 2:
            raise CommandError("--folds must be at least 2")
        progress = lambda line: self.stderr.write(f"  {line}")  # noqa: E731 (stderr even with --json)
        if opts["action"] == "evaluate":
            data = platform.platform_table(progress=progress)
            validation = platform.validate(data, folds=folds, seed=opts["seed"], progress=progress)
            self._platform_print(data, validation, opts, {})
            return
        actor = None
        if opts.get("user"):
            actor = User.objects.filter(username=opts["user"]).first()
            if actor is None:
                raise CommandError(f"no user named {opts['user']!r}")
        done = platform.train(actor=actor, folds=folds, seed=opts["seed"], name=opts.get("name"), progress=progress)
        row = done.model
        extra = {
            "model": {
                "version": row.version,
                "status": row.status,
                "promoted": done.promoted,
                "comparison": done.comparison,
                "latest_period": {"candidate": done.validation.folds[-1], "active": done.latest_active},
                "features": row.features,
            }
        }
        self._platform_print(done.data, done.validation, opts, extra)
        if not opts.get("json"):
            self.stdout.write(
                f"model v{row.version} registered, status {row.status}: {_comparison_text(done.comparison)}"
            )
            if done.latest_active is not None:
                self.stdout.write(
                    f"on the latest period: candidate ROC-AUC {done.validation.folds[-1]['roc_auc']:.4f}, "
                    f"active v{done.comparison.get('active_version')} {done.latest_active['roc_auc']:.4f}"
                )
            self.stdout.write(f"features kept: {', '.join(row.features)}")

    def _platform_print(self, data: Any, validation: Any, opts: dict[str, Any], extra: dict[str, Any]) -> None:
        described = {
            "rows": data.table.rows,
            "labels": data.labels,
            "positives": data.positives,
            "presumed_negatives": data.table.rows - data.labels,
            "fingerprint": data.table.fingerprint,
        }
        if opts.get("json"):
            self.stdout.write(json.dumps({"table": described, "validation": validation.as_dict(), **extra}, indent=2))
            return
        self.stdout.write(
            f"{data.table.rows} claims: {data.labels} investigation outcomes ({data.positives} confirmed fraud), "
            f"{described['presumed_negatives']} presumed negatives; data SHA-256 {data.table.fingerprint[:16]}…"
        )
        self.stdout.write(f"forward-chaining validation over {validation.k} periods (seed {validation.seed})")
        self.stdout.write(
            f"{'period':>6}  {'from':>10}  {'train':>6}  {'rows':>5}  {'ROC-AUC':>8}  {'PR-AUC':>8}  top-10%"
        )
        for i, (m, p) in enumerate(zip(validation.folds, validation.periods, strict=True), start=1):
            self.stdout.write(
                f"{i:>6}  {(p['from'] or '')[:10]:>10}  {p['train']:>6}  {p['rows']:>5}  "
                f"{m['roc_auc']:8.4f}  {m['pr_auc']:8.4f}  {m['top10_recall']:.4f}"
            )
        mean = validation.mean
        self.stdout.write(
            f"    mean: ROC-AUC {mean['roc_auc']:.4f}   PR-AUC {mean['pr_auc']:.4f}   "
            f"top-10% recall {mean['top10_recall']:.4f}"
        )

    def _rules(self, opts: dict[str, Any]) -> None:
        from claimwise.fraud.rules import presets_install

        self.stdout.write(f"red-flag rules installed: {presets_install(actor=None)}")

    def _score(self, opts: dict[str, Any]) -> None:
        import datetime as dt

        from claimwise.fraud.batch import score_claims

        try:
            since = dt.date.fromisoformat(opts["since"]) if opts.get("since") else None
        except ValueError:
            raise CommandError("--since: give a day as YYYY-MM-DD") from None
        if opts["chunk"] < 1:
            raise CommandError("--chunk must be at least 1")
        if opts["workers"] < 1:
            raise CommandError("--workers must be at least 1")

        def progress(done: int, total: int, rate: float) -> None:
            self.stdout.write(f"  {done}/{total} claims, {rate:,.0f} claims/s")

        summary = score_claims(
            open_only=opts["open"],
            since=since,
            chunk=opts["chunk"],
            only_changed=not opts["rewrite"],
            progress=progress,
            workers=opts["workers"],
        )
        fallback = sorted(code for code, vector in summary.vectorised.items() if not vector)
        self.stdout.write(
            f"scored {summary.claims} claims in {summary.seconds:.1f} s ({summary.rate:,.0f} claims/s), "
            f"{summary.written} written" + (f"; rules evaluated row by row: {', '.join(fallback)}" if fallback else "")
        )


def _comparison_text(c: dict[str, Any]) -> str:
    reason = c.get("reason")
    if reason == "no_active_model":
        return "no model was active, this one is now"
    active = c.get("active")
    if reason == "better":
        return f"better than v{c['active_version']} ({c['candidate']:.4f} > {active:.4f} {c['metric']}), now active"
    if reason == "not_better":
        return f"not better than v{c['active_version']} ({c['candidate']:.4f} ≤ {active:.4f} {c['metric']}), kept as candidate"
    return f"not comparable with the active v{c.get('active_version')} (other columns), kept as candidate"
