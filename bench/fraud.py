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

    python bench/fraud.py --part batch --claims 1000000      # PostgreSQL only (default claimwise_bench_fraud)
    python bench/fraud.py --part batch --reuse                # again on the database generated before
    python bench/fraud.py --part single --reuse               # report-time claim_score p50/p99 on it

Part "batch": a fresh PostgreSQL database (`--database-url`, default
postgres://postgres@127.0.0.1:5432/claimwise_bench_fraud; the name must contain "bench"), the book
of bench/pages.py `generate()` (`--claims` claims set-based, about 2 minutes for 1,000,000), then:
1 % of customers share a phone in fours (phone rings), the 200 pooled payee accounts on 30 % of
claims (account rings), the link index written set-based (keyed hashes computed once per distinct
value), a few watch-list entries, the preset red flags, and a platform model trained on a labelled
sample of 20,000 claims (their facts from `fraud.batch`, a synthetic label) and registered, so all
three parts are active. Then `fraud.batch` over every claim, `--chunk` claims per chunk: claims/s
computing only, then computing and storing (COPY of the assessments, one UPDATE per chunk), each
with the load average before and after.

Part "single": `claim_score` as at report time (the claim loaded before the clock, as it is in
memory when reported; documents and partners given: the facts, the rules, the model, the claim's
rings looked up in the index, the assessment and the claim's score written) over `--batch` random
stored claims of the bench database, one process, each in its own transaction: p50, p99; the commit
after it is timed apart (at report time it is the report's one commit, see bench/intake.py).
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


DEFAULT_BENCH_DB = "postgres://postgres@127.0.0.1:5432/claimwise_bench_fraud"


def _setup(args: argparse.Namespace, *, fresh: bool) -> None:
    import django

    from bench.pages import recreate_database

    url = args.database_url
    if not url.startswith("postgres"):
        sys.exit("the batch and single parts run on PostgreSQL (--database-url)")
    if fresh:
        recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CLAIMWISE_DATA_DIR", "/tmp/cw-bench-fraud")
    Path(os.environ["CLAIMWISE_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "claimwise.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _link_index() -> int:
    """The link index of the generated book, set-based: keyed hashes once per distinct value."""
    from django.db import connection

    from claimwise.claims.fnol import normalise_account
    from claimwise.core.crypto import decrypt, keyed_hash
    from claimwise.fraud.links import normalise_plate

    raw = connection.cursor().connection
    with connection.cursor() as cur:
        # Phone rings: 1 % of customers give a phone shared by four of them.
        cur.execute(
            "UPDATE policies_customer SET phone = '+86139' || lpad(((id / 400) * 400)::text, 8, '0') WHERE id % 100 = 7"
        )
        cur.execute("CREATE TEMP TABLE bench_keys (kind text, value text, key text)")
        cur.execute("SELECT DISTINCT phone FROM policies_customer WHERE phone <> ''")
        phones = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT DISTINCT payee_account FROM claims_claim WHERE payee_account IS NOT NULL")
        accounts = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT DISTINCT vehicle_plate FROM policies_policy WHERE vehicle_plate <> ''")
        plates = [r[0] for r in cur.fetchall()]
    with raw.cursor() as c, c.copy("COPY bench_keys (kind, value, key) FROM STDIN") as copy:
        for phone in phones:
            copy.write_row(("phone", phone, keyed_hash(phone)))
        for token in accounts:
            copy.write_row(("account", token, keyed_hash(normalise_account(decrypt(token)))))
        for plate in plates:
            if normal := normalise_plate(plate):
                copy.write_row(("plate", plate, keyed_hash(normal)))
    with connection.cursor() as cur:
        cur.execute("CREATE INDEX ON bench_keys (kind, value)")
        cur.execute("ANALYZE bench_keys")
        cur.execute(
            """
            INSERT INTO fraud_linkkey (claim_id, claimant_id, kind, key, at)
            SELECT c.id, c.claimant_id, 'phone', k.key, c.reported_at
            FROM claims_claim c JOIN policies_customer cu ON cu.id = c.claimant_id
            JOIN bench_keys k ON k.kind = 'phone' AND k.value = cu.phone
            UNION ALL
            SELECT c.id, c.claimant_id, 'account', k.key, c.reported_at
            FROM claims_claim c JOIN bench_keys k ON k.kind = 'account' AND k.value = c.payee_account
            UNION ALL
            SELECT c.id, c.claimant_id, 'plate', k.key, c.reported_at
            FROM claims_claim c JOIN policies_policy p ON p.id = c.policy_id
            JOIN bench_keys k ON k.kind = 'plate' AND k.value = p.vehicle_plate
            UNION ALL
            SELECT DISTINCT d.claim_id, c.claimant_id, 'document', d.sha256, c.reported_at
            FROM claims_document d JOIN claims_claim c ON c.id = d.claim_id
            ORDER BY 1
            """
        )
        cur.execute("DROP TABLE bench_keys")
        cur.execute("SELECT count(*) FROM fraud_linkkey")
        return int(cur.fetchone()[0])


def _platform_model(sample: int) -> str:
    """Train and register a platform model on the facts of `sample` claims with a synthetic label."""
    import csv
    import random

    from claimwise.fraud.batch import _Run, _selection
    from claimwise.fraud.learn import fit_all
    from claimwise.fraud.registry import active_changed, model_register
    from claimwise.fraud.scoring import PLATFORM_FEATURES
    from claimwise.fraud.tabular import read_table

    where, params = _selection(False, None)
    chunk = _Run(where, params).chunk(1, sample)
    columns = {name: chunk.text_column(name) for name in PLATFORM_FEATURES}
    rng = random.Random(0)
    path = Path(tempfile.mkdtemp()) / "platform.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow([*PLATFORM_FEATURES, "fraud"])
        for i in range(chunk.size):
            ratio = float(columns["amount_ratio"][i] or 0)
            risky = ratio > 0.08 or float(columns["prior_claims_12m"][i] or 0) >= 3
            label = rng.random() < (0.35 if risky else 0.05)
            out.writerow([*(columns[name][i] for name in PLATFORM_FEATURES), "1" if label else "0"])
    table = read_table(path, label="fraud")
    row = model_register(
        actor=None,
        model=fit_all(table),
        scope="platform",
        name="bench",
        data_fingerprint=table.fingerprint,
        rows=table.rows,
        label="fraud",
        columns={},
        metrics={},
    ).model
    active_changed()
    return f"v{row.version}, features kept: {', '.join(row.features)}"


def part_batch(args: argparse.Namespace) -> None:
    _setup(args, fresh=not args.reuse)
    from django.db import connection

    from claimwise.fraud import batch
    from claimwise.fraud.rules import presets_install
    from claimwise.fraud.services import watchlist_add

    if not args.reuse:
        from bench.pages import generate

        args.claims = args.claims or 1_000_000
        print(f"generating {args.claims:,} claims ...", flush=True)
        print(f"data generated in {generate(args):.1f} s", flush=True)
        started = time.monotonic()
        print(f"link index: {_link_index():,} keys in {time.monotonic() - started:.1f} s", flush=True)
        presets_install(actor=None)
        for i in range(3):
            watchlist_add(actor=None, kind="phone", value=f"+86139{i * 1000 + 11:08d}", reason="bench")
        started = time.monotonic()
        print(f"platform model {_platform_model(20_000)} ({time.monotonic() - started:.1f} s)", flush=True)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM claims_claim")
        total = cur.fetchone()[0]
    print(f"database: {total:,} claims; chunk {args.chunk:,}", flush=True)
    from claimwise.fraud.registry import _active_platform

    _active_platform()  # loaded (LightGBM imported) before the clock starts, as in a running server

    def progress(done: int, all_: int, rate: float) -> None:
        if done == all_ or (done // args.chunk) % 10 == 0:
            print(f"  {done:,}/{all_:,} claims, {rate:,.0f} claims/s", flush=True)

    before = load()
    cpu = time.process_time()
    computed = batch.score_claims(chunk=args.chunk, write=False, progress=progress, workers=args.workers)
    cpu = time.process_time() - cpu
    fallback = sum(1 for v in computed.vectorised.values() if not v)
    per_cpu = f" ({computed.claims / cpu:,.0f} per CPU-second of this process)" if args.workers == 1 else ""
    print(
        f"batch compute only: {computed.claims:,} claims in {computed.seconds:.1f} s = {computed.rate:,.0f} claims/s"
        f"{per_cpu}, {args.workers} process(es) ({len(computed.vectorised) - fallback} rules vectorised, "
        f"{fallback} row by row); load average {before} -> {load()}",
        flush=True,
    )
    before, cpu = load(), time.process_time()
    summary = batch.score_claims(
        chunk=args.chunk, only_changed=not args.reuse, progress=progress, prefetch=args.prefetch, workers=args.workers
    )
    cpu = time.process_time() - cpu
    print(
        f"batch compute + store: {summary.claims:,} claims in {summary.seconds:.1f} s = {summary.rate:,.0f} claims/s "
        + (f"({summary.claims / cpu:,.0f} per CPU-second of this process), " if args.workers == 1 else "")
        + f"{args.workers} process(es), "
        f"{summary.written:,} written; load average {before} -> {load()}",
        flush=True,
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FILTER (WHERE risk_score >= 0.5), count(*) FILTER (WHERE risk_score IS NOT NULL) "
            "FROM claims_claim"
        )
        high, scored = cur.fetchone()
    print(f"claims scored: {scored:,}, of which {high:,} at 0.5 or more")


def part_single(args: argparse.Namespace) -> None:
    _setup(args, fresh=False)
    from django.db import transaction
    from django.utils import timezone

    from claimwise.claims.models import Claim
    from claimwise.fraud.scoring import claim_score

    with transaction.atomic():
        ids = list(Claim.objects.order_by("?").values_list("pk", flat=True)[: args.batch])
    times, commits = [], []
    before = load()
    for n, pk in enumerate(ids):
        # At report time the claim, its policy and claimant are in memory: loaded outside the clock.
        claim = Claim.objects.select_related("policy", "coverage", "claimant").get(pk=pk)
        with transaction.atomic():
            started = time.perf_counter()
            claim_score(claim, trigger="bench", at=timezone.now(), documents=(), partners=())
            scored = time.perf_counter()
        # The commit is the report's own (one per report, measured by bench/intake.py): timed apart.
        if n >= 50:  # after a warm-up
            times.append(scored - started)
            commits.append(time.perf_counter() - scored)

    def figures(values: list[float]) -> str:
        values = sorted(values)
        p50, p99 = values[len(values) // 2], values[int(0.99 * (len(values) - 1))]
        return f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, mean {statistics.mean(values) * 1000:.2f} ms"

    print(
        f"claim_score at report time over {len(times)} stored claims (facts, rules, model, rings, the writes): "
        f"{figures(times)}; the transaction's commit after it: {figures(commits)}; "
        f"load average {before} -> {load()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["cv", "scoring", "batch", "single", "all"], default="all")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_BENCH_DB))
    parser.add_argument("--reuse", action="store_true", help="batch/single: the database generated before")
    parser.add_argument("--chunk", type=int, default=20_000, help="batch: claims per chunk")
    parser.add_argument("--prefetch", action="store_true", help="batch: read the next chunk on a second connection")
    parser.add_argument("--workers", type=int, default=1, help="batch: processes sharing the chunks")
    parser.add_argument("--csv", default=str(SHARED))
    parser.add_argument("--seeds", default="0", help="fold-split seeds for the CV part, e.g. 0,1,2,3,4")
    parser.add_argument("--policies", type=int, default=300)
    parser.add_argument(
        "--claims", type=int, default=None, help="scoring: reports per mode (1000); batch: claims generated (1,000,000)"
    )
    parser.add_argument("--batch", type=int, default=2000, help="stored claims evaluated in one loop")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {load()} (shared with other work)")
    if args.part in ("cv", "all"):
        part_cv(args)
    if args.part in ("scoring", "all"):
        args.claims = args.claims or 1000
        part_scoring(args)
    if args.part == "batch":
        part_batch(args)
    if args.part == "single":
        part_single(args)


if __name__ == "__main__":
    main()
