"""Fraud benchmark (issue 6): the model's cross-validated metrics on the shared data set, and what
scoring costs a claim at report time.

    python bench/fraud.py                                   # both parts, SQLite in a temporary file
    python bench/fraud.py --part cv --seeds 0,1,2,3,4       # metrics over several fold splits
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/claimwise_bench_fraud python bench/fraud.py --part scoring

Part "cv": `claimwise fraud evaluate` on ../shared/data/auto_insurance_claims.csv (label
fraud_reported = Y, identifier columns dropped automatically), 5-fold stratified CV, the model and the
plain gradient-boosting baseline (scikit-learn's defaults), for each split seed; mean ± sd of ROC-AUC,
PR-AUC and the recall of the top 10 % of scores.

Part "scoring": a fresh database (the PostgreSQL one's name must contain "bench"; it is dropped and
recreated), a motor product, `--policies` policies, the preset red flags; then `--claims` reports
through `claim_submit` with the presets active and as many with every rule disabled: the difference
per report is what scoring adds to the report path. Then `evaluate` (the facts and the rules, no
write) over the stored claims in one loop: claims/s of scoring in batch as it stands.
Prints the load average before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "auto_insurance_claims.csv"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def part_cv(args: argparse.Namespace) -> None:
    from claimwise.fraud.learn import cross_validate
    from claimwise.fraud.tabular import read_table

    path = Path(args.csv)
    table = read_table(path, label="fraud_reported", positive="Y")
    dropped = ", ".join(f"{d.name} ({d.reason})" for d in table.dropped)
    print(f"{path.name}: {table.rows} rows, {int(table.y.sum())} positive; dropped: {dropped}")
    model_auc, base_auc = [], []
    for seed in [int(s) for s in args.seeds.split(",")]:
        cv = cross_validate(table, folds=5, seed=seed)
        s, b = cv.summary, cv.baseline_summary
        model_auc.append(s["roc_auc"]["mean"])
        base_auc.append(b["roc_auc"]["mean"])
        print(
            f"seed {seed}: model ROC-AUC {s['roc_auc']['mean']:.4f} ± {s['roc_auc']['sd']:.4f}, "
            f"PR-AUC {s['pr_auc']['mean']:.4f}, top-10% recall {s['top10_recall']['mean']:.4f} | "
            f"baseline ROC-AUC {b['roc_auc']['mean']:.4f} ± {b['roc_auc']['sd']:.4f}, "
            f"PR-AUC {b['pr_auc']['mean']:.4f}, top-10% recall {b['top10_recall']['mean']:.4f} | {cv.seconds:.1f} s"
        )
    if len(model_auc) > 1:
        print(
            f"over {len(model_auc)} splits: model ROC-AUC {statistics.mean(model_auc):.4f} "
            f"(min {min(model_auc):.4f}), baseline {statistics.mean(base_auc):.4f} (min {min(base_auc):.4f})"
        )


def recreate(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the bench database's name must contain 'bench'")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def part_scoring(args: argparse.Namespace) -> None:
    import datetime as dt
    from decimal import Decimal

    import django

    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        recreate(url)
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ.setdefault("CLAIMWISE_DATA_DIR", tempfile.mkdtemp())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "claimwise.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from claimwise.accounts.choices import Role
    from claimwise.accounts.models import Branch, Team
    from claimwise.accounts.services import reference_save, user_create
    from claimwise.claims.fnol import claim_submit
    from claimwise.claims.models import Claim
    from claimwise.fraud.models import RedFlagRule
    from claimwise.fraud.rules import presets_install, rules_changed
    from claimwise.fraud.scoring import evaluate
    from claimwise.policies.services import customer_create, policy_create, product_create

    now = timezone.now()
    branch = reference_save(actor=None, instance=Branch(code="BJ", name="Beijing"))
    team = reference_save(actor=None, instance=Team(code="BJ-M", name="Motor", branch=branch))
    handler = user_create(
        actor=None, username="h", password="Secret-pass-123", role=Role.HANDLER, branch=branch, team=team
    )
    product = product_create(
        actor=None,
        code="MOTOR",
        name="Motor",
        line="motor",
        coverages=[
            {
                "code": "own",
                "name": "Own damage",
                "limit": Decimal("300000"),
                "deductible": Decimal("0"),
                "loss_types": ["collision"],
            }
        ],
    )
    from stdnum.cn import ric

    policies = []
    for i in range(args.policies):
        body = f"110101{dt.date(1970, 1, 1) + dt.timedelta(days=i):%Y%m%d}{100 + i % 900:03d}"
        holder = customer_create(
            actor=None, name=f"客户{i}", id_number=body + ric.calc_check_digit(body + "0"), phone=f"+8613800{i:06d}"
        )
        policies.append(
            policy_create(
                actor=None,
                number=f"PL{i:08d}",
                product=product,
                holder=holder,
                branch=branch,
                effective_from=now - dt.timedelta(days=5 + i % 300),
                effective_to=now + dt.timedelta(days=300),
                sum_insured=Decimal("300000"),
                premium=Decimal("3000"),
                vehicle_plate=f"京A{i:05d}",
            ).number
        )
    presets_install(actor=None)
    print(f"database: {connection.vendor}; {args.policies} policies; load average {load()}")

    def submits(n: int, offset: int) -> list[float]:
        times = []
        for i in range(n):
            started = time.perf_counter()
            claim_submit(
                actor=handler,
                policy_number=policies[(offset + i) % len(policies)],
                incident_at=now - dt.timedelta(hours=1 + (i % 200)),
                incident_place="北京",
                loss_type="collision",
                claimed_amount=str(1000 + (i * 37) % 9000),
            )
            times.append(time.perf_counter() - started)
        return times

    def p(times: list[float], q: float) -> float:
        return sorted(times)[int(q * (len(times) - 1))] * 1000

    submits(50, 0)  # warm-up
    # Alternate rounds so that a neighbour's load falls on both modes alike.
    scored: list[float] = []
    plain: list[float] = []
    rounds = 5
    for r in range(rounds):
        RedFlagRule.objects.update(status="active")
        rules_changed()
        scored += submits(args.claims // rounds, r * 1000)
        RedFlagRule.objects.update(status="disabled")
        rules_changed()
        plain += submits(args.claims // rounds, r * 1000 + 500)
    RedFlagRule.objects.update(status="active")
    rules_changed()
    for name, t in (("with scoring", scored), ("without", plain)):
        print(
            f"report {name}: mean {statistics.mean(t) * 1000:.2f} ms, p50 {p(t, 0.5):.2f} ms, p99 {p(t, 0.99):.2f} ms ({len(t)} reports)"
        )
    print(
        f"scoring adds {(statistics.mean(scored) - statistics.mean(plain)) * 1000:.2f} ms per report on average, "
        f"{p(scored, 0.5) - p(plain, 0.5):.2f} ms at the median"
    )
    claims = list(Claim.objects.select_related("policy", "coverage", "claimant")[: args.batch])
    started = time.perf_counter()
    single = []
    for claim in claims:
        t0 = time.perf_counter()
        evaluate(claim)
        single.append(time.perf_counter() - t0)
    seconds = time.perf_counter() - started
    print(
        f"evaluate (facts + 11 rules, no write) over {len(claims)} stored claims: {len(claims) / seconds:.0f} claims/s; "
        f"per claim p50 {p(single, 0.5):.2f} ms, p99 {p(single, 0.99):.2f} ms"
    )
    print(f"load average after: {load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["cv", "scoring", "all"], default="all")
    parser.add_argument("--csv", default=str(SHARED))
    parser.add_argument("--seeds", default="0", help="fold-split seeds for the CV part, e.g. 0,1,2,3,4")
    parser.add_argument("--policies", type=int, default=300)
    parser.add_argument("--claims", type=int, default=1000, help="reports per mode (with and without scoring)")
    parser.add_argument("--batch", type=int, default=2000, help="stored claims evaluated in one loop")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {load()} (shared with other work)")
    if args.part in ("cv", "all"):
        part_cv(args)
    if args.part in ("scoring", "all"):
        part_scoring(args)


if __name__ == "__main__":
    main()
