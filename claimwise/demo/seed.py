"""`claimwise seed`: realistic demo data, fast enough for 100,000 claims.

Reference data (branches and teams, partner organisations, products with coverages) and every
account are created through their services, idempotently by code or username, so a second run only
adds claims. The claims themselves (with their customers, policies, timeline events, decisions,
payments, documents and shares) are planned in memory by `build`, which replays each claim's
path through the lifecycle table with the services' effects, and are written in batches by
`write` (ids taken up front, as claim numbers contain them; `COPY` on PostgreSQL, one
`executemany` per table on SQLite; big runs build in two forked processes while this one inserts).
Going through the per-claim services (a dozen statements and an audit entry per step) would take
hours for 100,000 claims.

The whole run is one transaction and one audited batch write: a single `seed.generate` audit entry
with the counts, after the rows it describes; a failed run leaves no rows behind (files already
written for the first claims' documents stay, unreferenced).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from claimwise.accounts.choices import STAFF_ROLES, PartnerKind, Role, Skill
from claimwise.accounts.models import Branch, PartnerOrganization, Team, User
from claimwise.accounts.services import reference_save, user_create
from claimwise.claims.lifecycle import ClaimStatus
from claimwise.core.audit import audit_record
from claimwise.core.context import new_request_id, request_id_var
from claimwise.core.models import AuditEntry
from claimwise.demo.data import ASSESSORS, BRANCHES, TEAMS
from claimwise.demo.files import shared_files
from claimwise.demo.identity import codes_in_use, person_name, regions
from claimwise.demo.products import PRODUCTS
from claimwise.demo.refs import BranchRef, CoverageRef, Directory, PartnerRef, ProductRef, TeamRef
from claimwise.demo.write import Database, Maker
from claimwise.demo.write import run as run_batches
from claimwise.fraud.rules import presets_install as fraud_presets_install
from claimwise.policies.models import Customer, Product
from claimwise.policies.services import customer_create, product_create
from claimwise.process.presets import presets_install
from claimwise.process.services import authority_defaults_install, starter_rules_install

DEMO_PASSWORD = "claimwise-demo"
DEMO_BRANCH = "BJ"
DEMO_ACCOUNTS: tuple[tuple[str, Role], ...] = tuple((f"demo_{role.value}", role) for role in Role)
DEMO_PARTNER = "HOSP-BJ-1"
UNIQUE_FILES_PER_RUN = 30  # claims (besides the demo customer's) whose documents get files of their own
HANDLERS_PER_TEAM = 3
# The demo customer's claims: (line, product, final state).
DEMO_CLAIMS = (
    ("motor", "MOTOR-COMM", ClaimStatus.CLOSED),
    ("motor", "MOTOR-COMM", ClaimStatus.ASSESSMENT),
    ("health", "HEALTH-GRP", ClaimStatus.AWAITING_DOCUMENTS),
    ("health", "HEALTH-GRP", ClaimStatus.PAID),
)


@dataclass
class SeedResult:
    run: int
    seed: int
    claims: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_line: dict[str, int] = field(default_factory=dict)
    demo_accounts_created: list[str] = field(default_factory=list)


# --- reference data and accounts ------------------------------------------------------------------


def _partner_codes() -> list[tuple[str, str, str, str]]:
    """(code, name, kind, branch code)"""
    out: list[tuple[str, str, str, str]] = []
    for b in BRANCHES:
        out += [(f"HOSP-{b.code}-{i}", name, PartnerKind.HOSPITAL, b.code) for i, name in enumerate(b.hospitals, 1)]
        out += [(f"SHOP-{b.code}-{i}", n, PartnerKind.REPAIR_SHOP, b.code) for i, n in enumerate(b.repair_shops, 1)]
    out += [(code, name, PartnerKind.ASSESSOR, "") for code, name in ASSESSORS]
    return out


def ensure_reference_data() -> dict[str, int]:
    """Branches with teams, partner organisations and products with coverages, by code; only what
    is missing is created (through the audited services)."""
    created: Counter[str] = Counter()
    branches = {b.code: b for b in Branch.objects.filter(code__in=[s.code for s in BRANCHES])}
    for spec in BRANCHES:
        if spec.code not in branches:
            branches[spec.code] = reference_save(
                actor=None, instance=Branch(code=spec.code, name=spec.name, region=spec.region)
            )
            created["branches"] += 1
    team_codes = [f"{b.code}-{suffix}" for b in BRANCHES for suffix, *_rest in TEAMS]
    existing = set(Team.objects.filter(code__in=team_codes).values_list("code", flat=True))
    for spec in BRANCHES:
        for suffix, name, _lines, specialist in TEAMS:
            code = f"{spec.code}-{suffix}"
            if code not in existing:
                team = Team(
                    code=code,
                    name=f"{spec.name[:2]}{name}",
                    branch=branches[spec.code],
                    is_specialist=specialist,
                    # Specialist teams take what needs their skills (automatic assignment, H5).
                    skills=[Skill.COMPLEX, Skill.INJURY, Skill.LARGE_LOSS] if specialist else [],
                )
                reference_save(actor=None, instance=team)
                created["teams"] += 1
    partners = _partner_codes()
    existing = set(PartnerOrganization.objects.filter(code__in=[p[0] for p in partners]).values_list("code", flat=True))
    for code, name, kind, _branch in partners:
        if code not in existing:
            reference_save(actor=None, instance=PartnerOrganization(code=code, name=name, kind=kind))
            created["partners"] += 1
    existing = set(Product.objects.filter(code__in=[p.code for p in PRODUCTS]).values_list("code", flat=True))
    for product in PRODUCTS:
        if product.code not in existing:
            coverages = [
                {
                    "code": c.code,
                    "name": c.name,
                    "limit": c.limit,
                    "deductible": c.deductible,
                    "loss_types": list(c.loss_types),
                }
                for c in product.coverages
            ]
            product_create(
                actor=None,
                code=product.code,
                name=product.name,
                line=product.line,
                description=product.description,
                coverages=coverages,
            )
            created["products"] += 1
    return dict(created)


def ensure_staff() -> int:
    """Handlers for every team, two reviewers and a supervisor per branch: demo data, so `is_demo`
    (production refuses them) and no usable password (they are there to own claims, not to sign in)."""
    names = random.Random("claimwise-staff")  # noqa: S311 - demo names, not secrets
    wanted: list[dict[str, Any]] = []
    teams = {t.code: t for t in Team.objects.filter(branch__code__in=[b.code for b in BRANCHES])}
    branches = {b.code: b for b in Branch.objects.filter(code__in=[b.code for b in BRANCHES])}
    for spec in BRANCHES:
        code = spec.code.lower()
        for suffix, _name, lines, _specialist in TEAMS:
            for i in range(1, HANDLERS_PER_TEAM + 1):
                wanted.append(
                    {
                        "username": f"{code}.{suffix.lower()}{i}",
                        "role": Role.HANDLER,
                        "branch": branches[spec.code],
                        "team": teams[f"{spec.code}-{suffix}"],
                        "lines": list(lines),
                    }
                )
        wanted += [
            {"username": f"{code}.reviewer{i}", "role": Role.REVIEWER, "branch": branches[spec.code]} for i in (1, 2)
        ]
        wanted.append({"username": f"{code}.supervisor1", "role": Role.SUPERVISOR, "branch": branches[spec.code]})
    existing = set(User.objects.filter(username__in=[w["username"] for w in wanted]).values_list("username", flat=True))
    made = 0
    for spec_ in wanted:
        surname, given = person_name(names, names.random() < 0.5)
        if spec_["username"] in existing:
            continue
        user_create(actor=None, password=None, is_demo=True, first_name=given, last_name=surname, **spec_)
        made += 1
    return made


def ensure_demo_accounts() -> tuple[dict[Role, User], list[str]]:
    """One signed-in demo account per role (`demo_<role>` / `claimwise-demo`), created once."""
    found = {u.username: u for u in User.objects.filter(username__in=[name for name, _r in DEMO_ACCOUNTS])}
    branch = Branch.objects.get(code=DEMO_BRANCH)
    team = Team.objects.get(code=f"{DEMO_BRANCH}-MOTOR")
    partner = PartnerOrganization.objects.get(code=DEMO_PARTNER)
    scope: dict[Role, dict[str, Any]] = {
        Role.HANDLER: {"branch": branch, "team": team},
        Role.REVIEWER: {"branch": branch},
        Role.SUPERVISOR: {"branch": branch},
        Role.PARTNER: {"partner": partner},
        Role.ADMIN: {"is_superuser": True},
    }
    accounts, created = {}, []
    for username, role in DEMO_ACCOUNTS:
        user = found.get(username)
        if user is None:
            user = user_create(
                actor=None,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                is_demo=True,
                first_name=str(role.label),
                **scope.get(role, {}),
            )
            created.append(username)
        accounts[role] = user
    return accounts, created


def print_demo_logins(out: IO[str] | Any) -> None:
    """The demo sign-ins, for the console (`claimwise demo` and `claimwise seed`)."""
    users = {u.username: u for u in User.objects.filter(username__in=[n for n, _r in DEMO_ACCOUNTS], is_demo=True)}
    if not users:
        return
    out.write(f"\nDemo accounts (password for all: {DEMO_PASSWORD}; refused when CLAIMWISE_ENV=production):\n")
    out.write(f"  {'username':<18} {'role':<12} where\n")
    for username, role in DEMO_ACCOUNTS:
        user = users.get(username)
        if user is None:
            continue
        places = ["workbench /work/"] if role in STAFF_ROLES else []
        places += ["back office /admin/"] if user.is_staff else []
        if role == Role.CUSTOMER:
            phone = Customer.objects.filter(user=user).values_list("phone", flat=True).first()
            places += [f"portal / (mobile {phone})"] if phone else []
        where = ", ".join([*places, "API /api/v1/"])
        out.write(f"  {username:<18} {role.value:<12} {where}\n")


# --- the directory the builder draws from ---------------------------------------------------------


def load_directory() -> Directory:
    specs = {b.code: b for b in BRANCHES}
    branches: dict[str, BranchRef] = {}
    for b in Branch.objects.filter(code__in=list(specs)):
        branches[b.code] = BranchRef(specs[b.code], b.pk, {}, [], [])
    by_id = {ref.id: ref for ref in branches.values()}
    for team in Team.objects.filter(branch_id__in=list(by_id)).order_by("code"):
        suffix = team.code.split("-", 1)[1]
        by_id[team.branch_id].teams[suffix] = TeamRef(team.pk, [], [])
    staff = User.objects.filter(branch_id__in=list(by_id), is_active=True).order_by("username")
    for user in staff.only("pk", "username", "role", "branch_id", "team_id"):
        ref = by_id[user.branch_id]  # type: ignore[index]
        if user.role == Role.HANDLER and user.team_id is not None:
            team_ref = next((t for t in ref.teams.values() if t.id == user.team_id), None)
            if team_ref is not None:
                weight = 4.0 if user.username == "demo_handler" else 1.0
                team_ref.handlers.append(user.pk)
                team_ref.weights.append((team_ref.weights[-1] if team_ref.weights else 0.0) + weight)
        elif user.role == Role.REVIEWER:
            ref.reviewers.append(user.pk)
        elif user.role == Role.SUPERVISOR:
            ref.supervisors.append(user.pk)
    products: dict[str, list[ProductRef]] = {}
    product_specs = {p.code: p for p in PRODUCTS}
    for product in Product.objects.filter(code__in=list(product_specs)).prefetch_related("coverages").order_by("code"):
        coverages = tuple(
            CoverageRef(c.pk, c.code, c.limit, c.deductible, tuple(c.loss_types))
            for c in sorted(product.coverages.all(), key=lambda c: c.code)
        )
        products.setdefault(product.line, []).append(
            ProductRef.make(product.pk, product.code, product.line, product_specs[product.code], coverages)
        )
    meta = {code: (kind, branch) for code, _name, kind, branch in _partner_codes()}
    partners: dict[tuple[str, str], list[PartnerRef]] = {}
    assessors: list[PartnerRef] = []
    demo_partner = None
    for org in PartnerOrganization.objects.filter(code__in=list(meta)).order_by("code"):
        kind, branch_code = meta[org.code]
        weight = 4.0 if org.code == DEMO_PARTNER else 2.0 if org.code.endswith("-1") else 1.0
        partner = PartnerRef(org.pk, org.name, weight)
        if kind == PartnerKind.ASSESSOR:
            assessors.append(partner)
        else:
            partners.setdefault((branch_code, kind), []).append(partner)
        if org.code == DEMO_PARTNER:
            demo_partner = org.pk
    return Directory(branches, products, partners, assessors, demo_partner)


# --- the run --------------------------------------------------------------------------------------


def seed(
    *,
    claims: int,
    seed: int = 1,
    demo_accounts: bool = True,
    progress: bool = False,
    batch_size: int = 2000,
    workers: int | None = None,
    storage: Storage | None = None,
    stream: IO[str] | None = None,
) -> SeedResult:
    """Generate `claims` claims (plus, on the first run, the demo customer's few). Deterministic for a
    given `seed` and database state, whatever the number of workers: the n-th run with a seed always
    produces the same data."""
    started = time.monotonic()
    storage = storage or default_storage
    sizes = [min(batch_size, claims - start) for start in range(0, claims, batch_size)]
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if claims >= 4 * batch_size else 1
    if "fork" not in multiprocessing.get_all_start_methods():  # Windows: build in this process
        workers = 1
    token = request_id_var.set(new_request_id())
    try:
        with transaction.atomic():
            run = AuditEntry.objects.filter(action="seed.generate").count() + 1
            reference = ensure_reference_data()
            # The standard process of every line, published, before any claim needs one (idempotent).
            processes = [r for r in presets_install(actor=None, publish=True) if r.outcome != "kept"]
            if processes:
                reference["processes"] = len(processes)
            # The usual approval matrix and the starter straight-through rules (kept when present).
            authority_defaults_install(actor=None)
            starter_rules_install(actor=None)
            fraud_presets_install(actor=None)  # the preset red-flag rules (issue 6)
            staff = ensure_staff()
            accounts, created = ensure_demo_accounts() if demo_accounts else ({}, [])
            db = Database()
            maker = Maker(
                seed,
                run,
                timezone.now(),
                ZoneInfo(settings.TIME_ZONE),
                load_directory(),
                shared_files(storage),
                storage,
                db.tables,
                UNIQUE_FILES_PER_RUN,
            )
            if accounts:
                _demo_customer(maker, db, accounts)
            warm_up()  # caches the workers inherit instead of each filling its own
            bar = tqdm(total=claims, disable=not progress, file=stream or sys.stderr, unit="claim", dynamic_ncols=True)
            run_batches(maker, db, sizes, workers, bar.update)
            bar.close()
            counts = {
                **{f"created_{k}": v for k, v in reference.items()},
                "staff_created": staff,
                "demo_accounts_created": len(created),
                **db.counts,
            }
            audit_record(
                actor=None,
                action="seed.generate",
                object_type="claims.claim",
                object_id=f"run-{run}",
                after={
                    "seed": seed,
                    "run": run,
                    "claims_requested": claims,
                    **counts,
                    "by_status": dict(db.by_status),
                    "by_line": dict(db.by_line),
                },
            )
    finally:
        request_id_var.reset(token)
    return SeedResult(
        run, seed, db.claims, time.monotonic() - started, dict(counts), dict(db.by_status), dict(db.by_line), created
    )


def _demo_customer(maker: Maker, db: Database, accounts: dict[Role, User]) -> None:
    """The demo customer's own record, made once with the demo account, with a few claims handled by
    the demo handler; their documents are real files of their own."""
    user = accounts[Role.CUSTOMER]
    if Customer.objects.filter(user=user).exists():
        return
    builder = maker.builder("demo")
    spec = next(b for b in BRANCHES if b.code == DEMO_BRANCH)
    draft = builder.party(spec, spec.cities[0])
    customer = customer_create(
        actor=None,
        name=draft.name,
        id_number=draft.id_number,
        phone=draft.phone,
        email="demo.customer@example.com",
        address=draft.address,
        user=user,
    )
    draft.id, draft.user_id = customer.pk, user.pk
    db.seen.add(draft.id_hash)
    handler = accounts[Role.HANDLER]
    drafts = [
        builder.claim(draft, line=line, final=final, product_code=product, assign=(handler.pk, handler.team_id))
        for line, product, final in DEMO_CLAIMS
    ]
    grant = db.grant(maker.need(-1, drafts))
    db.insert(maker.prepare(-1, builder, drafts, grant, own_files=True))


def warm_up() -> None:
    for province in regions().provinces:
        for year in range(1945, 2010):
            codes_in_use(province, year)


def summary(result: SeedResult) -> Iterable[str]:
    yield (
        f"Seed run {result.run} (seed {result.seed}): {result.claims} claims in {result.seconds:.1f} s "
        f"({result.claims / max(result.seconds, 1e-9):.0f} claims/s)"
    )
    for key in ("customer", "policy", "claimevent", "decision", "payment", "document", "claimshare", "files_written"):
        yield f"  {key:<14} {result.counts.get(key, 0)}"
    yield "  by status: " + ", ".join(f"{k} {v}" for k, v in sorted(result.by_status.items()))
    yield "  by line:   " + ", ".join(f"{k} {v}" for k, v in sorted(result.by_line.items()))
