"""FNOL intake benchmark: the real web server (gunicorn) on a dedicated PostgreSQL database, driven over
loopback HTTP by concurrent clients, each claim fully validated, evented and audited.

    python bench/intake.py --workers 2 --threads 4 --duration 20 --levels 1,8,32

What it does, in order:
1. drops and recreates the bench database (its name must contain "bench"), runs `migrate`;
2. builds the data through the services: a branch, a motor product with its coverage, thousands of
   customers and policies, the submitting users and their API tokens (`token_create`);
3. counts the SQL statements of one submit (Django test client, in process);
4. starts `claimwise web` (or `claimwise serve --no-worker`) with production settings;
5. for each level of concurrency, N client threads POST /api/v1/claims (unique Idempotency-Key each)
   for a warm-up then a fixed duration, and prints claims/s, p50, p99, errors and where the CPU went;
6. stops the server, runs `claimwise audit verify` and checks that the number of claims equals the
   number of 201 responses.

The client is deliberately thin (a minimal HTTP/1.1 client on a socket per thread, keep-alive when the
server allows it); its own CPU use is measured and printed next to the server's and the database's,
with what the server's database sessions were doing (running, waiting for the audit chain lock, ...).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.server import free_port, launch, run, stop_server  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/claimwise_bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
API = "/api/v1/claims"


# --- database and environment -------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the bench database's name must contain 'bench'")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def server_environment(args: argparse.Namespace) -> dict[str, str]:
    """Production settings (DEBUG off, own keys), as the service runs; --demo-settings for the demo's."""
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "CLAIMWISE_DATA_DIR": args.data_dir,
        "DJANGO_SETTINGS_MODULE": "claimwise.settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }
    if args.demo_settings:
        env["CLAIMWISE_ENV"] = "demo"
    else:
        env.update(
            CLAIMWISE_ENV="production",
            CLAIMWISE_DEBUG="0",
            CLAIMWISE_SECRET_KEY=secrets.token_urlsafe(50),
            CLAIMWISE_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            CLAIMWISE_HASH_KEY=secrets.token_urlsafe(32),
        )
    return env


# --- data, through the services -----------------------------------------------------------------


def id_number(i: int) -> str:
    from stdnum.cn import ric

    birth = dt.date(1960, 1, 1) + dt.timedelta(days=i // 900)
    body = f"110101{birth:%Y%m%d}{100 + i % 900:03d}"
    return body + ric.calc_check_digit(body + "0")


@dataclass
class Submitter:
    token: str
    policies: list[str]


def prepare(args: argparse.Namespace, clients: int) -> list[Submitter]:
    """A branch, a motor product, `--policies` insured customers with a policy each, and the users who
    report: `clients` customers who hold the policies (round robin) or one staff user for all."""
    from django.db import transaction
    from django.utils import timezone

    from claimwise.accounts.choices import Role
    from claimwise.accounts.models import Branch
    from claimwise.accounts.services import reference_save, token_create, user_create
    from claimwise.policies.services import customer_create, policy_create, product_create

    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        branch = reference_save(actor=None, instance=Branch(code="BJ", name="Beijing branch"))
        product = product_create(
            actor=None,
            code="MOTOR-STD",
            name="Motor standard",
            line="motor",
            coverages=[
                {
                    "code": "own-damage",
                    "name": "Own damage",
                    "limit": Decimal("300000"),
                    "deductible": Decimal("500"),
                    "loss_types": ["collision", "theft", "glass", "natural_disaster", "third_party"],
                }
            ],
        )
        if args.actor == "customer":
            holders = []
            for i in range(clients):
                user = user_create(actor=None, username=f"bench-customer-{i}", password=None, role=Role.CUSTOMER)
                holders.append(
                    customer_create(
                        actor=None, name=f"客户{i}", id_number=id_number(i), phone=f"+86139{i:08d}", user=user
                    )
                )
            submitters = [Submitter(token_create(actor=None, user=h.user, name="bench")[1], []) for h in holders]
        else:
            user = user_create(
                actor=None, username="bench-supervisor", password=None, role=Role.SUPERVISOR, branch=branch
            )
            submitters = [Submitter(token_create(actor=None, user=user, name="bench")[1], [])]
        for i in range(args.policies):
            insured = customer_create(
                actor=None, name=f"被保险人{i}", id_number=id_number(clients + i), phone=f"+86138{i:08d}"
            )
            owner = submitters[i % len(submitters)]
            number = f"BENCH{i:08d}"
            policy_create(
                actor=None,
                number=number,
                product=product,
                holder=holders[i % clients] if args.actor == "customer" else insured,
                insured_person=insured,
                branch=branch,
                effective_from=now - dt.timedelta(days=100),
                effective_to=now + dt.timedelta(days=265),
                sum_insured=Decimal("300000"),
                premium=Decimal("4200"),
                vehicle_plate=f"京B{i % 100000:05d}",
            )
            owner.policies.append(number)
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1} policies", flush=True)
    print(
        f"data: {args.policies} policies and customers, {len(submitters)} submitting user(s) "
        f"({args.actor}), {time.monotonic() - started:.1f} s"
    )
    return submitters


def fnol_body(policy_number: str, n: int) -> bytes:
    incident = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    return json.dumps(
        {
            "policy_number": policy_number,
            "incident_at": incident.isoformat(),
            "incident_place": "北京市朝阳区建国路88号",
            "loss_type": "collision",
            "claimed_amount": f"{4000 + n % 5000}.00",
            "description": "追尾，后保险杠受损",
        },
        ensure_ascii=False,
    ).encode()


def count_queries(submitter: Submitter, verbose: bool) -> int:
    """SQL statements of one FNOL through the whole stack (middleware, auth, service, response)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {submitter.token}")

    def post() -> int:
        r = client.post(
            API,
            data=fnol_body(submitter.policies[0], 0),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
        )
        assert r.status_code == 201, r.content
        return 1

    post()  # the first request of a process fills caches; count the second
    with CaptureQueriesContext(connection) as ctx:
        post()
    statements = [q["sql"] for q in ctx.captured_queries]
    if verbose:
        for sql in statements:
            print("    " + (sql if len(sql) < 160 else sql[:157] + "..."))
    transactional = sum(1 for s in statements if s in ("BEGIN", "COMMIT"))
    print(f"queries per submit: {len(statements) - transactional} SQL statements (+ {transactional} BEGIN/COMMIT)")
    return 2


# --- the server -----------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = ["web"] if args.server == "web" else ["serve", "--no-worker"]
    cmd += ["--port", str(port), "--workers", str(args.workers)]
    if args.threads:  # serve has no --threads; both read the variable
        env = {**env, "CLAIMWISE_WEB_THREADS": str(args.threads)}
    print(
        f"server: claimwise {' '.join(cmd)}" + (f" with CLAIMWISE_WEB_THREADS={args.threads}" if args.threads else "")
    )
    return launch(cmd, env, port, log)


# --- CPU accounting from /proc ------------------------------------------------------------------


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def tree_ticks(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _ticks(p)
        todo += _children(p)
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def backend_pids(db_name: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
            "AND application_name <> %s",
            [db_name, SessionSampler.NAME],
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class CpuMeter:
    server_pid: int
    db_name: str
    start: dict[str, float] = field(default_factory=dict)

    @property
    def own_pid(self) -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    def _sample(self) -> dict[str, float]:
        busy, total = machine_ticks()
        return {
            "server": tree_ticks(self.server_pid) / CLK_TCK,
            "db": sum(_ticks(p) for p in backend_pids(self.db_name)) / CLK_TCK,
            "client": time.process_time(),
            "busy": busy / CLK_TCK,
            "total": total / CLK_TCK,
        }

    def begin(self) -> None:
        self.start = self._sample()

    def end(self) -> dict[str, float]:
        now = self._sample()
        return {k: now[k] - self.start[k] for k in now}


class SessionSampler(threading.Thread):
    """What the server's database sessions do, ten times a second: running a statement, waiting for a
    lock (the audit chain head), for I/O (commit flushes), for the application (idle in transaction)."""

    STATES = ("running", "lock", "io", "app in tx", "idle")
    NAME = "bench-sampler"  # its own session, left out of the counts and of the database's CPU

    def __init__(self, url: str, exclude_pid: int) -> None:
        super().__init__(daemon=True)
        self.url = url.replace("postgres://", "postgresql://", 1)
        self.exclude_pid = exclude_pid  # the benchmark's own Django connection
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, application_name=self.NAME) as conn:
            while not self.stopping.wait(0.1):
                rows = conn.execute(
                    "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND pid <> %s",
                    [self.exclude_pid],
                ).fetchall()
                for state, wait in rows:
                    if state == "active":
                        self.counts[{"Lock": "lock", "IO": "io"}.get(wait or "", "running")] += 1
                    else:
                        self.counts["app in tx" if state and state.startswith("idle in") else "idle"] += 1
                self.samples += 1

    def stop(self) -> dict[str, float]:
        self.stopping.set()
        self.join(timeout=5)
        return {k: self.counts[k] / max(1, self.samples) for k in self.STATES}


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Level:
    clients: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    created: int = 0  # 201 responses, warm-up included
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    sessions: dict[str, float] = field(default_factory=dict)


class Connection:
    """A minimal HTTP/1.1 client on one socket: a few microseconds of Python per request where
    http.client's header parsing costs a few hundred. Keeps the connection when the server does
    (gthread), reconnects when it closes it (the sync worker closes after every response)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def post(self, path: str, headers: bytes, body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n%s\r\n" % (
            path.encode(),
            len(body),
            headers,
        )
        self.sock.sendall(head + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        raw, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, v in (line.split(b":", 1) for line in lines[1:])}
        if b"content-length" not in fields:
            raise http.client.HTTPException("response without Content-Length")
        length = int(fields[b"content-length"])
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        if fields.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, fields, rest[:length]


def client_loop(
    port: int,
    submitter: Submitter,
    level: Level,
    lock: threading.Lock,
    measure_from: float,
    stop_at: float,
    budget: list[int],
    seed: int,
) -> None:
    rng = random.Random(seed)  # noqa: S311
    conn = Connection(port)
    headers = f"Authorization: Bearer {submitter.token}\r\nContent-Type: application/json\r\n".encode()
    latencies, statuses, created, errors = [], Counter(), 0, []
    n = 0
    while True:
        with lock:
            if budget[0] <= 0:
                break
            budget[0] -= 1
        t0 = time.perf_counter()
        if t0 >= stop_at:
            break
        n += 1
        body = fnol_body(rng.choice(submitter.policies), n)
        try:
            status: int | str
            status, fields, payload = conn.post(
                API, headers + b"Idempotency-Key: %s\r\n" % uuid.uuid4().hex.encode(), body
            )
            if b"idempotent-replayed" in fields:
                status = "replayed"
        except (OSError, ValueError, http.client.HTTPException) as exc:
            conn.close()
            status, payload = type(exc).__name__, str(exc).encode()
        t1 = time.perf_counter()
        if status == 201:
            created += 1
        elif len(errors) < 3:
            errors.append(f"{status}: {payload[:300].decode(errors='replace')}")
        if t0 >= measure_from:
            latencies.append(t1 - t0)
            statuses[status] += 1
    conn.close()
    with lock:
        level.latencies += latencies
        level.statuses.update(statuses)
        level.created += created
        level.errors += errors


def drive(port: int, submitters: list[Submitter], clients: int, args: argparse.Namespace, meter: CpuMeter) -> Level:
    level = Level(clients)
    lock = threading.Lock()
    budget = [args.max_requests]
    start = time.perf_counter()
    measure_from = start + args.warmup
    stop_at = measure_from + args.duration
    threads = [
        threading.Thread(
            target=client_loop,
            args=(port, submitters[i % len(submitters)], level, lock, measure_from, stop_at, budget, i),
            daemon=True,
        )
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    time.sleep(max(0.0, measure_from - time.perf_counter()))
    sampler = SessionSampler(args.database_url, meter.own_pid)
    sampler.start()
    meter.begin()
    for t in threads:
        t.join(timeout=args.duration + args.warmup + 60)
    level.elapsed = time.perf_counter() - measure_from
    level.cpu = meter.end()
    level.sessions = sampler.stop()
    if any(t.is_alive() for t in threads):
        level.errors.append("client threads still running after the time limit")
    return level


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def report(levels: list[Level]) -> None:
    print()
    print(
        "| clients | claims/s | p50 ms | p99 ms | errors | requests | server CPU | db CPU | client CPU (µs/req) | machine busy |"
    )
    print(
        "|--------:|---------:|-------:|-------:|-------:|---------:|-----------:|-------:|--------------------:|-------------:|"
    )
    for lv in levels:
        lat = sorted(lv.latencies)
        ok = lv.statuses.get(201, 0)
        errors = sum(v for k, v in lv.statuses.items() if k != 201)
        cores = lv.cpu["total"] / lv.elapsed  # jiffies of all CPUs per second of wall time
        busy = lv.cpu["busy"] / lv.cpu["total"] * cores if lv.cpu["total"] else 0.0
        per_req = lv.cpu["client"] / max(1, len(lat)) * 1e6
        print(
            f"| {lv.clients:7d} | {ok / lv.elapsed:8.1f} | {percentile(lat, 0.50) * 1000:6.1f} | "
            f"{percentile(lat, 0.99) * 1000:6.1f} | {errors:6d} | {len(lat):8d} | "
            f"{lv.cpu['server'] / lv.elapsed:8.2f} c | {lv.cpu['db'] / lv.elapsed:4.2f} c | "
            f"{lv.cpu['client'] / lv.elapsed:5.2f} c ({per_req:5.0f}) | {busy:4.2f}/{cores:.0f} c |"
        )
    print(
        "(c = CPU cores used on average while measuring; db = this database's PostgreSQL backends; machine busy "
        "counts every process, other people's included)"
    )
    print("\ndatabase sessions of the server, on average (" + ", ".join(SessionSampler.STATES) + "):")
    for lv in levels:
        print(f"  {lv.clients:3d} clients: " + "  ".join(f"{lv.sessions[k]:4.1f}" for k in SessionSampler.STATES))
    for lv in levels:
        for e in lv.errors:
            print(f"  error at {lv.clients} clients: {e}")


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        "?",
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB; load average {load}"


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the server


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--data-dir", default=os.environ.get("CLAIMWISE_DATA_DIR", "/tmp/cw-bench"))
    parser.add_argument("--levels", default="1,8,32", help="concurrent clients, comma separated")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each level")
    parser.add_argument("--max-requests", type=int, default=50_000, help="per level, warm-up included")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (0: the server's default)")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per worker, >1 for gthread (CLAIMWISE_WEB_THREADS)"
    )
    parser.add_argument("--server", choices=["web", "serve"], default="web", help="serve = serve --no-worker")
    parser.add_argument(
        "--actor",
        choices=["customer", "staff"],
        default="customer",
        help="customers with their own tokens (one per client), or one supervisor for all",
    )
    parser.add_argument("--policies", type=int, default=2000, help="insured customers with a motor policy each")
    parser.add_argument("--demo-settings", action="store_true", help="run with the demo settings (DEBUG on)")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL of one submit")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    if not levels or min(levels) < 1 or max(levels) > 256:
        parser.error("--levels: between 1 and 256 clients each")
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    print(f"machine: {machine()}")

    env = server_environment(args)
    recreate_database(args.database_url)
    migrated = run(["migrate", "--verbosity", "0"], env, timeout=300)
    if migrated.returncode:
        sys.exit(f"migrate failed:\n{migrated.stdout}{migrated.stderr}")
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    from claimwise.claims.models import Claim, ClaimEvent
    from claimwise.core.models import AuditEntry

    submitters = prepare(args, max(levels))
    created = count_queries(submitters[0], args.show_queries)
    connection.close()

    port = free_port()
    log = Path(args.data_dir) / "bench-intake-server.log"
    proc = start_server(args, env, port, log)
    results: list[Level] = []
    try:
        meter = CpuMeter(proc.pid, connection.settings_dict["NAME"])
        for clients in levels:
            print(f"level {clients}: {args.warmup:g} s warm-up, {args.duration:g} s measured ...", flush=True)
            results.append(drive(port, submitters, clients, args, meter))
    finally:
        stop_server(proc)
    report(results)
    print(f"\nafter the run: {machine()}")

    created += sum(lv.created for lv in results)
    verify = run(["audit", "verify"], env, timeout=600)
    print(f"\naudit verify: {(verify.stdout + verify.stderr).strip()} (exit {verify.returncode})")
    claims = Claim.objects.count()
    events = ClaimEvent.objects.filter(kind="submitted").count()
    audited = AuditEntry.objects.filter(action="claim.submit").count()
    print(
        f"claims in the database: {claims}; 201 responses: {created} (incl. warm-up and the query count); "
        f"'submitted' events: {events}; claim.submit audit entries: {audited}"
    )
    consistent = claims == created == events == audited
    if not consistent:
        print("MISMATCH between responses and rows")
    server_log = log.read_text(errors="replace").strip()
    if server_log:
        print(f"server log ({log}), last lines:\n" + "\n".join(server_log.splitlines()[-10:]))
    return 0 if verify.returncode == 0 and consistent else 1


if __name__ == "__main__":
    sys.exit(main())
