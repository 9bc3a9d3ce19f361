"""Workbench pages benchmark: the staff pages' server time at 1,000,000 claims on PostgreSQL, measured
over loopback HTTP against the real web server (gunicorn, production settings).

    python bench/pages.py                     # generate 1,000,000 claims, measure, keep the database
    python bench/pages.py --reuse             # measure again on the database generated before
    python bench/pages.py --claims 50000 --drop

What it does, in order:
1. drops and recreates the bench database (`--database-url`, default
   postgres://postgres@127.0.0.1:5432/claimwise_bench_pages; the name must contain "bench"), runs
   `migrate`; with `--reuse` it keeps a database generated before (and only runs `migrate`);
2. builds the reference data through the services (branches, teams, six lines' products and their
   published process presets, the two signed-in accounts with known passwords), then generates the
   bulk set-based (`INSERT .. SELECT generate_series`, `COPY`): hundreds of handlers in teams,
   customers holding several policies each (ID numbers encrypted with the app's keys, keyed hashes,
   mobile numbers), policies (plates on the motor ones), the claims (about 92 % closed or withdrawn
   over three years, the rest open across the lifecycle, recent), a process row per claim (step,
   urgency and nearest deadline consistent with the state), clocks, timeline events and document
   rows for the open claims; then VACUUM ANALYZE;
3. counts the SQL statements of each page (Django's test client, in process);
4. starts `claimwise web` with production settings and the keys the data was encrypted with (kept
   in `<data dir>/bench-pages-keys.json` for `--reuse`), signs in over HTTP through /work/login/ as
   a handler and as a supervisor (CSRF token, session cookie);
5. for each page, one client on a keep-alive connection sends warm-up requests, then `--requests`
   measured ones, and the round trip of each is timed: the handler's queue (My work), the
   supervisor's branch-wide team queue, searches (claim number prefix, mobile number, ID number,
   licence plate, start of a name) on the team queue, the claim page of open claims with events and
   documents, later pages of both queues, and the team queue narrowed by filters (a line, the
   unassigned pool, a state, a risk band nobody is in);
6. prints p50, p95, p99 and max per page and the load average before and after (the machine may be
   shared); exits non-zero when any response is not 200.

The generated database is kept for `--reuse` unless `--drop` is given.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import free_port, launch, run, stop_server  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/claimwise_bench_pages"
PASSWORD = "Bench-pages-2026!"  # noqa: S105  (the bench's own accounts, in its own database)
HANDLER, SUPERVISOR = "bench-handler", "bench-supervisor"

# code, name, share of the policies (percent)
BRANCHES = [
    ("BJ", "北京分公司", 25),
    ("SH", "上海分公司", 20),
    ("GZ", "广东分公司", 15),
    ("SZ", "深圳分公司", 12),
    ("CD", "四川分公司", 10),
    ("HZ", "浙江分公司", 8),
    ("WH", "湖北分公司", 5),
    ("XA", "陕西分公司", 5),
]
TEAMS_PER_BRANCH = 5
HANDLERS_PER_TEAM = 8
# line, share of the policies (percent), loss type of its claims, claim number prefix
LINES = [
    ("motor", 60, "collision", "MV"),
    ("health", 18, "hospitalization", "MH"),
    ("accident", 8, "accidental_injury", "AC"),
    ("property", 7, "fire", "PR"),
    ("life", 4, "death", "LF"),
    ("travel", 3, "accidental_injury", "TR"),
]
# Open claims older than two days, by state (weights); younger ones are new reports, not assigned yet.
OPEN_STATES = [
    ("registered", 15),
    ("investigation", 10),
    ("assessment", 25),
    ("awaiting_documents", 15),
    ("pending_approval", 10),
    ("approved", 5),
    ("payment_pending", 5),
    ("denied", 5),
    ("paid", 10),
]
# The event that moved a claim into a state.
ENTERED_BY = {
    "registered": "register",
    "investigation": "investigate",
    "assessment": "assess",
    "awaiting_documents": "request_documents",
    "pending_approval": "submit_for_approval",
    "approved": "approve",
    "payment_pending": "request_payment",
    "denied": "deny",
    "paid": "confirm_payment",
    "closed": "close",
    "withdrawn": "withdraw",
}
SURNAMES = "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰春梅海燕文辉鹏飞晓东雪琳"
POOL = 200  # encrypted payee accounts reused across claims (any value the app can decrypt will do)


# --- database, keys and environment -------------------------------------------------------------


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))


def _db_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to use {name!r}: the bench database's name must contain 'bench'")
    return name


def database_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [_db_name(url)]).fetchone() is not None


def recreate_database(url: str, *, create: bool = True) -> None:
    import psycopg

    name = _db_name(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_keys(path: Path, *, fresh: bool) -> dict[str, str]:
    """The production keys the data is encrypted and hashed with: new for a new database, read back
    for `--reuse` (the server must decrypt what was generated before)."""
    if not fresh:
        if not path.exists():
            sys.exit(f"--reuse: {path} is missing (the keys of the generated data); generate again")
        return dict(json.loads(path.read_text()))
    keys = {
        "CLAIMWISE_SECRET_KEY": secrets.token_urlsafe(50),
        "CLAIMWISE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "CLAIMWISE_HASH_KEY": secrets.token_urlsafe(32),
    }
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    return keys


def server_environment(args: argparse.Namespace, keys: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        **keys,
        "DATABASE_URL": args.database_url,
        "CLAIMWISE_DATA_DIR": args.data_dir,
        "DJANGO_SETTINGS_MODULE": "claimwise.settings",
        "CLAIMWISE_ENV": "production",
        "CLAIMWISE_DEBUG": "0",
        "CLAIMWISE_WEB_THREADS": str(args.threads),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }


# --- data ------------------------------------------------------------------------------------------


def id_number(i: int) -> str:
    """A valid resident ID number, distinct for every i below 900 × 36,500."""
    import datetime as dt

    from stdnum.cn import ric

    birth = dt.date(1950, 1, 1) + dt.timedelta(days=i // 900)
    body = f"110101{birth:%Y%m%d}{100 + i % 900:03d}"
    return body + ric.calc_check_digit(body + "0")


def _weighted_case(expr: str, items: list[tuple[str, int]]) -> str:
    """CASE over a uniform [0, 1) value choosing items by weight."""
    total = sum(w for _v, w in items)
    parts, upto = [], 0
    for value, weight in items[:-1]:
        upto += weight
        parts.append(f"WHEN {expr} < {upto / total:.6f} THEN '{value}'")
    return f"CASE {' '.join(parts)} ELSE '{items[-1][0]}' END"


def _step(args: argparse.Namespace, label: str, started: float) -> float:
    now = time.monotonic()
    print(f"  {label}: {now - started:.1f} s", flush=True)
    return now


def reference_data() -> dict[str, object]:
    """Through the services: branches, teams, products, the published presets, the signed-in accounts."""
    from decimal import Decimal

    from django.db import transaction

    from claimwise.accounts.choices import Role
    from claimwise.accounts.models import Branch, Team, User
    from claimwise.accounts.services import reference_save, user_create
    from claimwise.policies.services import product_create
    from claimwise.process.presets import presets_install

    with transaction.atomic():
        branches = [reference_save(actor=None, instance=Branch(code=c, name=n)) for c, n, _s in BRANCHES]
        teams = []
        for b in branches:
            for k in range(TEAMS_PER_BRANCH):
                teams.append(
                    reference_save(
                        actor=None, instance=Team(code=f"{b.code}-{k + 1}", name=f"{b.name}理赔{k + 1}组", branch=b)
                    )
                )
        products = {}
        for line, _share, loss, _prefix in LINES:
            products[line] = product_create(
                actor=None,
                code=f"BENCH-{line.upper()}",
                name=f"{line} standard",
                line=line,
                coverages=[
                    {
                        "code": "main",
                        "name": "Main cover",
                        "limit": Decimal("500000"),
                        "deductible": Decimal("500"),
                        "loss_types": [loss],
                    }
                ],
            )
        presets_install(actor=None, publish=True)
        handler = user_create(
            actor=None, username=HANDLER, password=PASSWORD, role=Role.HANDLER, branch=branches[0], team=teams[0]
        )
        user_create(actor=None, username=SUPERVISOR, password=PASSWORD, role=Role.SUPERVISOR, branch=branches[0])
        # The other handlers: rows only (they never sign in); the bench handler is the first of team BJ-1.
        pool: list[int] = []
        for t in teams:
            for j in range(HANDLERS_PER_TEAM):
                if t is teams[0] and j == 0:
                    pool.append(handler.pk)
                    continue
                pool.append(
                    User.objects.create(
                        username=f"h-{t.code}-{j}",
                        password="!",  # noqa: S106  (unusable: no sign-in)
                        role=Role.HANDLER,
                        branch=t.branch,
                        team=t,
                        first_name=GIVEN[j],
                        last_name=SURNAMES[j],
                    ).pk
                )
    return {"branches": branches, "teams": teams, "products": products, "handlers": pool}


def generate(args: argparse.Namespace) -> float:
    """The bulk: customers, policies, claims, process rows, clocks, events, documents."""
    from django.db import connection

    from claimwise.core.crypto import encrypt, keyed_hash
    from claimwise.process.models import ClaimProcess, ProcessDefinition
    from claimwise.process.progress import definition_spec, step_for_status

    started = time.monotonic()
    step = started
    ref = reference_data()
    step = _step(args, "reference data through the services", step)
    n_claims = args.claims
    n_policies = max(10, n_claims * 2 // 5)
    n_customers = max(10, n_claims * 3 // 10)
    branches = ref["branches"]
    teams = ref["teams"]
    handlers = ref["handlers"]
    products = ref["products"]
    assert isinstance(branches, list) and isinstance(teams, list) and isinstance(handlers, list)
    assert isinstance(products, dict)

    raw = connection.cursor().connection  # psycopg: COPY
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("SET max_parallel_workers_per_gather = 0")
        cur.execute("SELECT setseed(0.4242)")
        cur.execute("SELECT count(*) FROM policies_customer")
        if cur.fetchone()[0]:
            sys.exit("the bench database already holds customers: generate into a new one")

    # Customers: real ID numbers, encrypted with the app's keys, and their keyed hashes.
    with (
        raw.cursor() as c,
        c.copy(
            "COPY policies_customer (id, created_at, updated_at, name, id_number, id_hash, gender, birth_date, "
            "phone, email, address) FROM STDIN"
        ) as copy,
    ):
        for i in range(n_customers):
            number = id_number(i)
            name = SURNAMES[(i * 7) % len(SURNAMES)] + GIVEN[(i * 11) % len(GIVEN)] + GIVEN[(i * 17 + 3) % len(GIVEN)]
            birth = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
            copy.write_row(
                (
                    i + 1,
                    "2023-01-01 00:00+00",
                    "2023-01-01 00:00+00",
                    name,
                    encrypt(number),
                    keyed_hash(number),
                    "M" if int(number[16]) % 2 else "F",
                    birth,
                    f"+86139{i:08d}",
                    "",
                    "",
                )
            )
    with connection.cursor() as cur:
        cur.execute("SELECT setval(pg_get_serial_sequence('policies_customer', 'id'), %s)", [n_customers])
    step = _step(args, f"{n_customers:,} customers (COPY, ID numbers encrypted)", step)

    # Policies: branch and line by share; a plate on motor policies; holders hold 1-2 policies each.
    line_names = [line for line, *_ in LINES]
    branch_case = _weighted_case("rb", [(str(i), share) for i, (_c, _n, share) in enumerate(BRANCHES)])
    line_case = _weighted_case("rl", [(line, share) for line, share, *_ in LINES])
    product_ids = [products[line].pk for line in line_names]  # type: ignore[attr-defined]
    branch_ids = [b.pk for b in branches]
    with connection.cursor() as cur:
        cur.execute(
            f"""
            CREATE TEMP TABLE bench_pol AS
            SELECT p, ({branch_case})::int AS bi, {line_case} AS line,
                   1 + ((p::bigint * 7919) %% %s)::int AS holder
            FROM (SELECT p, random() AS rb, random() AS rl FROM generate_series(1, %s) AS p) s
            """,
            [n_customers, n_policies],
        )
        cur.execute("CREATE UNIQUE INDEX ON bench_pol (p)")
        cur.execute(
            """
            INSERT INTO policies_policy (id, created_at, updated_at, number, product_id, holder_id, insured_person_id,
                vehicle_plate, vehicle_vin, vehicle_model, branch_id, effective_from, effective_to, status,
                sum_insured, premium, currency)
            SELECT p, now() - interval '4 years', now() - interval '4 years', 'BP' || lpad(p::text, 10, '0'),
                (%s::bigint[])[array_position(%s::text[], line)], holder, holder,
                CASE WHEN line = 'motor'
                     THEN '京' || chr(65 + (p %% 23)) || lpad(((p::bigint * 48271) %% 100000)::text, 5, '0')
                     ELSE '' END,
                '', '', (%s::bigint[])[bi + 1], now() - interval '4 years', now() + interval '1 year', 'active',
                500000, 4200, 'CNY'
            FROM bench_pol ORDER BY p
            """,
            [product_ids, line_names, branch_ids],
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('policies_policy', 'id'), %s)", [n_policies])
    step = _step(args, f"{n_policies:,} policies", step)

    # Claims: reported over three years, in id order; closed unless recent (a few old ones stay open).
    day = 86400.0
    state_case = _weighted_case("r_status", OPEN_STATES)
    prefix_case = " ".join(f"WHEN '{line}' THEN '{prefix}'" for line, _s, _l, prefix in LINES)
    loss_case = " ".join(f"WHEN '{line}' THEN '{loss}'" for line, _s, loss, _p in LINES)
    coverage_ids = [products[line].coverages.get().pk for line in line_names]  # type: ignore[attr-defined]
    payee_pool = [encrypt(f"62220200{i:011d}") for i in range(POOL)]
    span = 3 * 365 * day
    with connection.cursor() as cur:
        cur.execute(
            f"""
            CREATE TEMP TABLE bench_gen AS
            SELECT s.*, CASE WHEN NOT is_open THEN CASE WHEN r_status < 0.9 THEN 'closed' ELSE 'withdrawn' END
                             WHEN age_s < 2 * {day} THEN 'reported'
                             ELSE {state_case} END AS status
            FROM (
                SELECT n, p, age_s, r_status, r_team, r_handler, r_urg, r_due, r_amount, r_docs,
                       (age_s < 45 * {day} AND r_open < 0.95)
                       OR (age_s >= 45 * {day} AND age_s < 120 * {day} AND r_open < 0.45)
                       OR (age_s >= 120 * {day} AND r_open < 0.01) AS is_open
                FROM (
                    SELECT n, 1 + floor(random() * %s)::int AS p,
                           (%s - n) * ({span} / %s) + random() * 60 AS age_s,
                           random() AS r_open, random() AS r_status, random() AS r_team, random() AS r_handler,
                           random() AS r_urg, random() AS r_due, random() AS r_amount, random() AS r_docs
                    FROM generate_series(1, %s) AS n
                ) a
            ) s
            """,
            [n_policies, n_claims, n_claims, n_claims],
        )
        cur.execute(
            f"""
            INSERT INTO claims_claim (id, created_at, updated_at, number, policy_id, claimant_id, coverage_id, line,
                branch_id, team_id, handler_id, status, resume_status, status_changed_at, version, incident_at,
                incident_place, reported_at, channel, loss_type, description, late_report, limitation_date,
                currency, claimed_amount, reserve, assessed_amount, approved_amount, paid_amount, priority,
                complexity, documents_requests, payee_name, payee_bank, payee_account, registered_at, decided_at,
                closed_at)
            SELECT n, rep, rep, (CASE line {prefix_case} END) || to_char(rep AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                    || lpad(n::text, 8, '0'),
                p, holder, (%s::bigint[])[array_position(%s::text[], line)], line, (%s::bigint[])[bi + 1],
                CASE WHEN status <> 'reported' THEN (%s::bigint[])[1 + bi * {TEAMS_PER_BRANCH} + tk] END,
                CASE WHEN status <> 'reported'
                     THEN (%s::bigint[])[1 + (bi * {TEAMS_PER_BRANCH} + tk) * {HANDLERS_PER_TEAM}
                                          + floor(r_handler * {HANDLERS_PER_TEAM})::int] END,
                status, CASE status WHEN 'awaiting_documents' THEN 'assessment' ELSE '' END,
                CASE WHEN status IN ('closed', 'withdrawn') THEN rep + (10 + r_due * 50) * interval '1 day'
                     WHEN status = 'reported' THEN rep
                     ELSE rep + least(age_s * 0.6, r_due * age_s) * interval '1 second' END,
                1, rep - interval '5 hours', '北京市朝阳区建国路' || (n %% 200) || '号', rep,
                (ARRAY['app', 'phone', 'web', 'wechat'])[1 + n %% 4], CASE line {loss_case} END,
                '追尾，后保险杠受损', false, (rep + interval '3 years')::date, 'CNY', amount,
                amount, CASE WHEN status NOT IN ('reported', 'registered', 'investigation') THEN amount END,
                CASE WHEN status IN ('approved', 'payment_pending', 'paid', 'closed') THEN amount END,
                CASE WHEN status IN ('paid', 'closed') THEN amount ELSE 0 END,
                CASE WHEN r_amount > 0.99 THEN 'urgent' WHEN r_amount > 0.95 THEN 'high' ELSE 'normal' END,
                CASE WHEN amount <= 3000 THEN 'simple' WHEN amount > 40000 THEN 'complex' ELSE 'standard' END,
                CASE status WHEN 'awaiting_documents' THEN 1 ELSE 0 END,
                '', '', CASE WHEN r_docs < 0.3 THEN (%s::text[])[1 + n %% {POOL}] END,
                CASE WHEN status <> 'reported' THEN rep + interval '3 hours' END,
                CASE WHEN status IN ('approved', 'payment_pending', 'denied', 'paid', 'closed')
                     THEN rep + interval '6 days' END,
                CASE WHEN status IN ('closed', 'withdrawn') THEN rep + (10 + r_due * 50) * interval '1 day' END
            FROM (
                SELECT g.*, pol.bi, pol.line, pol.holder, floor(r_team * {TEAMS_PER_BRANCH})::int AS tk,
                       now() - age_s * interval '1 second' AS rep,
                       round((500 + r_amount * r_amount * 60000)::numeric, 2) AS amount
                FROM bench_gen g JOIN bench_pol pol ON pol.p = g.p
            ) x
            ORDER BY n
            """,
            [coverage_ids, line_names, branch_ids, [t.pk for t in teams], handlers, payee_pool],
        )
        cur.execute("SELECT setval(pg_get_serial_sequence('claims_claim', 'id'), %s)", [n_claims])
        cur.execute("DROP TABLE bench_gen")
        cur.execute("SELECT count(*) FILTER (WHERE status NOT IN ('closed', 'withdrawn')), count(*) FROM claims_claim")
        open_claims, total = cur.fetchone()
    step = _step(args, f"{total:,} claims, {open_claims:,} open ({open_claims / total:.1%})", step)

    # Process rows: the definition of the line, the step of the state, urgency and nearest deadline.
    definitions = {d.line: d for d in ProcessDefinition.objects.filter(status="published")}
    step_case = []
    for line in line_names:
        spec = definition_spec(definitions[line])
        for state, _w in [("reported", 1), *OPEN_STATES]:
            current = step_for_status(spec, "assessment", "") if state == "awaiting_documents" else ""
            key = step_for_status(spec, state, current)
            step_case.append(f"WHEN c.line = '{line}' AND c.status = '{state}' THEN '{key}'")
    def_case = " ".join(f"WHEN '{line}' THEN {definitions[line].pk}" for line in line_names)
    has_rank = "queue_rank" in {f.column for f in ClaimProcess._meta.concrete_fields}
    with connection.cursor() as cur:
        cur.execute(
            f"""
            CREATE TEMP TABLE bench_urg AS
            SELECT c.id, c.line, c.status, c.status_changed_at, c.reported_at,
                   CASE WHEN c.status IN ('closed', 'withdrawn') THEN 'none'
                        ELSE {_weighted_case("random()", [("breached", 6), ("warning", 12), ("on_time", 72), ("none", 10)])}
                   END AS urgency,
                   random() AS r
            FROM claims_claim c
            """
        )
        cur.execute(
            f"""
            INSERT INTO process_claimprocess (claim_id, definition_id, step_key, step_entered_at, completed_steps,
                documents_complete, documents_complete_at, missing_materials, next_due_at, next_due_kind, urgency,
                updated_at{", queue_rank" if has_rank else ""})
            SELECT c.id, CASE c.line {def_case} END, CASE {" ".join(step_case)} ELSE '' END,
                CASE WHEN c.status NOT IN ('closed', 'withdrawn') THEN c.status_changed_at END, '[]',
                c.status NOT IN ('reported', 'awaiting_documents'),
                CASE WHEN c.status NOT IN ('reported', 'awaiting_documents') THEN c.reported_at END, '[]',
                CASE c.urgency WHEN 'breached' THEN now() - c.r * interval '72 hours'
                               WHEN 'warning' THEN now() + c.r * interval '20 hours'
                               WHEN 'on_time' THEN now() + interval '1 day' + c.r * interval '14 days' END,
                CASE WHEN c.urgency = 'none' THEN '' WHEN c.r < 0.7 THEN 'step' ELSE 'decision_30d' END,
                c.urgency, now()
                {
                ", CASE WHEN c.status IN ('closed', 'withdrawn') THEN NULL WHEN c.urgency = 'breached' THEN 0 "
                "WHEN c.urgency = 'warning' THEN 1 WHEN c.urgency = 'on_time' THEN 2 ELSE 3 END"
                if has_rank
                else ""
            }
            FROM bench_urg c ORDER BY c.id
            """
        )
        cur.execute("DROP TABLE bench_urg")
    step = _step(args, "process rows", step)

    with connection.cursor() as cur:
        # Clocks of the open claims: the current step's and the 30-day decision.
        cur.execute(
            """
            INSERT INTO process_claimclock (claim_id, kind, step_key, started_at, due_at, warn_at, paused_at,
                paused_seconds, stopped_at, state, warned_at, breached_at, escalate_to, provisional)
            SELECT p.claim_id, 'step', p.step_key, coalesce(p.step_entered_at, c.reported_at),
                coalesce(p.next_due_at, now() + interval '20 days'),
                coalesce(p.next_due_at, now() + interval '20 days') - interval '6 hours', NULL::timestamptz, 0,
                NULL::timestamptz,
                CASE p.urgency WHEN 'breached' THEN 'breached' ELSE 'running' END,
                CASE WHEN p.urgency IN ('breached', 'warning') THEN now() - interval '1 hour' END::timestamptz,
                CASE WHEN p.urgency = 'breached' THEN p.next_due_at END, 'supervisor', false
            FROM process_claimprocess p JOIN claims_claim c ON c.id = p.claim_id
            WHERE c.status NOT IN ('closed', 'withdrawn')
            UNION ALL
            SELECT c.id, 'decision_30d', '', c.reported_at, c.reported_at + interval '30 days',
                c.reported_at + interval '25 days', NULL, 0, NULL,
                CASE WHEN c.reported_at + interval '30 days' < now() THEN 'breached' ELSE 'running' END,
                NULL, CASE WHEN c.reported_at + interval '30 days' < now() THEN c.reported_at + interval '30 days' END,
                'supervisor', false
            FROM claims_claim c WHERE c.status NOT IN ('closed', 'withdrawn')
            """
        )
    step = _step(args, "clocks of the open claims", step)

    kinds = " ".join(f"WHEN '{s}' THEN '{k}'" for s, k in ENTERED_BY.items())
    with connection.cursor() as cur:
        # Timeline: every claim was submitted; open claims were registered, moved on and annotated;
        # closed ones were closed (or withdrawn).
        cur.execute(
            """
            INSERT INTO claims_claimevent (claim_id, kind, at, actor_id, from_status, to_status, note, data,
                visible_to_customer)
            SELECT id, 'submitted', reported_at, NULL, '', 'reported', '', '{}', true FROM claims_claim ORDER BY id
            """
        )
        cur.execute(
            f"""
            INSERT INTO claims_claimevent (claim_id, kind, at, actor_id, from_status, to_status, note, data,
                visible_to_customer)
            SELECT id, 'register', registered_at, handler_id, 'reported', 'registered', '', '{{}}'::jsonb, true
            FROM claims_claim WHERE status NOT IN ('reported', 'closed', 'withdrawn')
            UNION ALL
            SELECT id, 'note', registered_at + interval '1 hour', handler_id, status, status,
                '已联系客户，确认事故经过与损失情况，待补充材料后继续处理。', '{{}}'::jsonb, false
            FROM claims_claim WHERE status NOT IN ('reported', 'closed', 'withdrawn')
            UNION ALL
            SELECT id, CASE status {kinds} END, status_changed_at, handler_id,
                CASE WHEN status IN ('closed', 'withdrawn') THEN 'assessment' ELSE 'registered' END, status, '',
                '{{}}'::jsonb, true
            FROM claims_claim WHERE status NOT IN ('reported', 'registered')
            ORDER BY 1
            """
        )
        cur.execute("SELECT count(*) FROM claims_claimevent")
        events = cur.fetchone()[0]
    step = _step(args, f"{events:,} timeline events", step)

    with connection.cursor() as cur:
        # Document rows (the pages link to the files; they do not read them).
        cur.execute(
            """
            INSERT INTO claims_document (claim_id, doc_type, file, original_name, size, content_type, sha256,
                uploaded_by_id, uploaded_at)
            SELECT c.id, d.doc_type, 'claims/bench/' || c.id || '-' || d.k || d.ext, d.doc_type || d.ext,
                50000 + (c.id % 900000), d.content_type, md5(c.id::text || d.k) || md5(d.k || c.id::text),
                NULL, c.reported_at + interval '2 hours'
            FROM claims_claim c
            CROSS JOIN (VALUES ('1', 'claim_form', '.pdf', 'application/pdf'),
                               ('2', 'damage_photo', '.jpg', 'image/jpeg'),
                               ('3', 'invoice', '.jpg', 'image/jpeg')) AS d (k, doc_type, ext, content_type)
            WHERE c.status NOT IN ('closed', 'withdrawn') AND c.id % 5 < 2
            """
        )
        cur.execute("SELECT count(*) FROM claims_document")
        documents = cur.fetchone()[0]
    step = _step(args, f"{documents:,} document rows", step)

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    _step(args, "VACUUM ANALYZE", step)
    return time.monotonic() - started


# --- the HTTP client --------------------------------------------------------------------------------


class Browser:
    """One keep-alive connection with a cookie jar: what a signed-in member of staff's browser sends."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Accept-Language": "zh-hans"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the server closed a kept connection: once more on a new one
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        payload = response.read().decode(errors="replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, payload

    def sign_in(self, username: str) -> None:
        status, page = self.request("GET", "/work/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            sys.exit(f"sign-in page: {status}")
        body = urlencode({"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD})
        status, page = self.request("POST", "/work/login/", body)
        if status != 302:
            sys.exit(f"sign-in as {username}: {status} {page[:300]}")


@dataclass
class Measured:
    label: str
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    queries: int | None = None
    missing: int = 0  # searches whose page did not show the claim searched for


def measure(browser: Browser, page: Page, args: argparse.Namespace) -> Measured:
    """Warm-up requests, then `--requests` timed ones over the page's paths (one after the other)."""
    result = Measured(page.label)
    rng = random.Random(page.label)  # noqa: S311
    for i in range(args.warmup + args.requests):
        n = i % len(page.paths) if i < args.warmup else rng.randrange(len(page.paths))
        path = page.paths[n]
        t0 = time.perf_counter()
        status, html = browser.request("GET", path)
        elapsed = time.perf_counter() - t0
        if status != 200:
            result.errors.append(f"{status} {path}: {html[:200]!r}")
        elif i >= args.warmup:
            result.times.append(elapsed)
        if page.expect and page.expect[n] not in html:
            result.missing += 1
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- what to ask for -------------------------------------------------------------------------------


@dataclass
class Page:
    label: str
    who: str
    paths: list[str]
    expect: list[str] = field(default_factory=list)  # what each path's answer must contain


def plan(args: argparse.Namespace) -> list[Page]:
    """Paths per page, from the data: open claims of the supervisor's branch with documents."""
    from claimwise.accounts.models import User
    from claimwise.claims.models import Claim, Document

    supervisor = User.objects.get(username=SUPERVISOR)
    assert supervisor.branch_id is not None
    sample = list(
        Claim.objects.filter(branch_id=supervisor.branch_id, pk__in=Document.objects.values("claim_id"))
        .exclude(status__in=["closed", "withdrawn"])
        .select_related("claimant", "policy")
        .order_by("?")[: args.sample]
    )
    if not sample:
        sys.exit("no open claim with documents in the supervisor's branch")

    def q(term: str) -> str:
        return "/work/?" + urlencode({"tab": "team", "q": term})

    def spaced(phone: str) -> str:
        local = phone.removeprefix("+86")
        return f"{local[:3]} {local[3:7]} {local[7:]}"

    motor = [c for c in sample if c.policy.vehicle_plate] or sample
    row = 'data-number="'
    return [
        Page("My work (handler)", HANDLER, ["/work/"], [row]),
        Page("Team queue (supervisor, branch)", SUPERVISOR, ["/work/?tab=team"], [row]),
        Page(
            "Search: claim number prefix", SUPERVISOR, [q((c.number or "")[:-3]) for c in sample], [row] * len(sample)
        ),
        Page(
            "Search: mobile number",
            SUPERVISOR,
            [q(spaced(c.claimant.phone)) for c in sample],
            [f'data-number="{c.number}"' for c in sample],
        ),
        Page(
            "Search: ID number",
            SUPERVISOR,
            [q(c.claimant.id_number) for c in sample],
            [f'data-number="{c.number}"' for c in sample],
        ),
        Page(
            "Search: licence plate",
            SUPERVISOR,
            [q(c.policy.vehicle_plate) for c in motor],
            [f'data-number="{c.number}"' for c in motor],
        ),
        Page("Search: name start", SUPERVISOR, [q(c.claimant.name[:2]) for c in sample], [row] * len(sample)),
        Page(
            "Claim page (open, with documents)",
            SUPERVISOR,
            [f"/work/claims/{c.pk}/" for c in sample],
            [c.number or "" for c in sample],
        ),
        Page("My work, pages 2-5", HANDLER, [f"/work/?page={n}" for n in range(2, 6)], [row] * 4),
        Page("Team queue, pages 2-20", SUPERVISOR, [f"/work/?tab=team&page={n}" for n in range(2, 21)], [row] * 19),
        # Filters narrow the branch to a few percent (or nothing): the worst case for reading in order.
        Page("Team queue filtered: life line", SUPERVISOR, ["/work/?tab=team&line=life"], [row]),
        Page("Team queue filtered: unassigned", SUPERVISOR, ["/work/?tab=team&handler=none"], [row]),
        Page("Team queue filtered: pending approval", SUPERVISOR, ["/work/?tab=team&status=pending_approval"], [row]),
        Page("Team queue filtered: high risk (none scored)", SUPERVISOR, ["/work/?tab=team&risk=high"]),
    ]


def count_queries(pages: list[Page]) -> dict[str, int]:
    """SQL statements per page (Django's test client in process; the second request of a session)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from claimwise.accounts.models import User

    counts: dict[str, int] = {}
    clients: dict[str, Client] = {}
    for page in pages:
        client = clients.get(page.who)
        if client is None:
            client = clients[page.who] = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
            client.force_login(User.objects.get(username=page.who))
            client.get("/work/")  # the session's two-step check happens once per session
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(page.paths[0])
        if response.status_code != 200:
            sys.exit(f"{page.label}: {response.status_code} for {page.paths[0]} in process")
        counts[page.label] = len(ctx.captured_queries)
    return counts


def explain(who: str, tab: str, q: str = "") -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the queue's two statements (rows of page 1, count)."""
    from claimwise.accounts.models import User
    from claimwise.workbench import selectors

    user = User.objects.get(username=who)
    filters = selectors.QueueFilters(tab=tab, q=q)
    rows = selectors.queue_claims(user, filters)[: selectors.PAGE_SIZE]
    print(
        f"\n--- {who}, tab {tab}{', q=' + q if q else ''}: rows of page 1\n{rows.explain(analyze=True, buffers=True)}"
    )
    counted = selectors.queue_filtered(user, filters)
    print(f"--- count\n{counted.explain(analyze=True, buffers=True)}")


# --- the server -------------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = ["web", "--port", str(port), "--workers", str(args.workers), "--threads", str(args.threads)]
    print(f"server: claimwise {' '.join(cmd)} (production settings)")
    return launch(cmd, env, port, log)


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the server


# --- main -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--data-dir", default=os.environ.get("CLAIMWISE_DATA_DIR", "/tmp/cw-bench-pages"))
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="measure the database generated before (no data)")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--requests", type=int, default=300, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per page before")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    parser.add_argument("--sample", type=int, default=60, help="open claims the searches and claim pages use")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the queue's statements")
    parser.add_argument("--only", default="", help="measure only the pages whose label contains this")
    args = parser.parse_args()
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    print(f"machine: {os.cpu_count()} CPUs; load average {load()}")

    fresh = not args.reuse
    if args.reuse and not database_exists(args.database_url):
        sys.exit(f"--reuse: {_db_name(args.database_url)} does not exist; run without --reuse first")
    keys = bench_keys(Path(args.data_dir) / "bench-pages-keys.json", fresh=fresh)
    env = server_environment(args, keys)
    if fresh:
        recreate_database(args.database_url)
    started = time.monotonic()
    migrated = run(["migrate", "--verbosity", "1"], env, timeout=3600)
    if migrated.returncode:
        sys.exit(f"migrate failed:\n{migrated.stdout}{migrated.stderr}")
    applied = [line.strip() for line in migrated.stdout.splitlines() if line.strip().startswith("Applying")]
    print(f"migrate: {time.monotonic() - started:.1f} s" + (f" ({len(applied)} applied)" if args.reuse else ""))
    for line in applied if args.reuse else []:
        print(f"  {line}")
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    from claimwise.claims.models import Claim

    if fresh:
        print(f"generating {args.claims:,} claims ...", flush=True)
        print(f"data generated in {generate(args):.1f} s")
    elif applied:  # the steady state of a database after its migrations, as autovacuum would leave it
        with connection.cursor() as cur:
            started = time.monotonic()
            cur.execute("VACUUM ANALYZE")
            print(f"VACUUM ANALYZE after the migrations: {time.monotonic() - started:.1f} s")
    total = Claim.objects.count()
    open_claims = Claim.objects.exclude(status__in=["closed", "withdrawn"]).count()
    print(f"database: {total:,} claims, {open_claims:,} open")

    pages = [p for p in plan(args) if args.only.lower() in p.label.lower()]
    counts = count_queries(pages)
    if args.explain:
        explain(HANDLER, "mine")
        explain(SUPERVISOR, "team")
    connection.close()

    port = free_port()
    log = Path(args.data_dir) / "bench-pages-server.log"
    load_before = load()
    proc = start_server(args, env, port, log)
    results: list[Measured] = []
    try:
        browsers = {}
        for who in (HANDLER, SUPERVISOR):
            browsers[who] = Browser(port)
            browsers[who].sign_in(who)
        for page in pages:
            print(f"  {page.label} ...", flush=True)
            m = measure(browsers[page.who], page, args)
            m.queries = counts.get(page.label)
            results.append(m)
    finally:
        stop_server(proc)
    load_after = load()

    print(
        f"\n{total:,} claims ({open_claims:,} open); {args.requests} requests per page after {args.warmup} "
        f"warm-up, one client, keep-alive; server {args.workers} × {args.threads} threads"
    )
    print("| page | requests | p50 ms | p95 ms | p99 ms | max ms | queries | errors | not found |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    failed = False
    for m in results:
        t = [x * 1000 for x in m.times]
        print(
            f"| {m.label} | {len(t)} | {percentile(t, 0.50):.1f} | {percentile(t, 0.95):.1f} | "
            f"{percentile(t, 0.99):.1f} | {max(t, default=float('nan')):.1f} | {m.queries} | {len(m.errors)} | "
            f"{m.missing} |"
        )
        failed = failed or bool(m.errors) or bool(m.missing)
    print(f"load average before {load_before}, after {load_after}")
    print("(not found: answers without the claim searched for, or without any row where rows are expected)")
    for m in results:
        for e in m.errors[:3]:
            print(f"  error, {m.label}: {e}")
    server_log = log.read_text(errors="replace").strip()
    if server_log:
        print(f"server log ({log}), last lines:\n" + "\n".join(server_log.splitlines()[-10:]))
    if args.drop:
        recreate_database(args.database_url, create=False)
        print("database dropped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
