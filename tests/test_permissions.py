"""Who may do what, through HTTP: a role x operation matrix over every operation of the API.

Each cell sends one request as one role against the owner's claim, which is built through the
services in the state the operation starts from, so the answer is the permission result and not a
state conflict: 2xx allowed, 403 the role may not, 404 out of scope (ids reveal nothing), 422 for a
submit on a policy the caller cannot use. A new endpoint without a row makes
`test_matrix_covers_every_operation` fail.

The world is built once per module inside a transaction that is rolled back at the end; every test
runs in a savepoint inside it, so a cell that changes its claim leaves nothing for the next one.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from claimwise.accounts.choices import Role
from claimwise.accounts.models import ApiToken, User
from claimwise.accounts.services import token_create, token_revoke
from claimwise.claims import services
from claimwise.claims.models import Claim
from claimwise.core.models import AuditEntry
from claimwise.fraud.investigations import case_open, case_task_add
from claimwise.policies.models import Customer, Policy
from claimwise.process.presets import preset_document, presets_install
from claimwise.process.services import rule_save
from claimwise.process.transfer import definition_import
from tests import factories
from tests.claims.test_api import png

pytestmark = pytest.mark.django_db

API = "/api/v1"
# Hashing a password takes most of a second with the production hasher; these users never sign in
# with one.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PNG = png(4, 3)  # a whole image: uploads are decoded
BANK_ACCOUNT = "6222020200112233445"
RULE = {
    "code": "small-glass",
    "name": "小额玻璃",
    "line": "motor",
    "expression": 'loss_type == "glass" and claimed_amount < 2000',
}

# own: the customer who holds the policy and made the claim; oth: another customer; hdl: a handler
# of the claim's branch and team; hsh: a handler of another branch; par: a partner the claim is
# shared with; pno: a partner it is not shared with.
ROLES = ("own", "oth", "hdl", "hsh", "rev", "sup", "cmp", "aud", "par", "pno", "adm")
OUT_OF_SCOPE = frozenset({"oth", "hsh", "pno"})

# fmt: off
MATRIX: dict[tuple[str, str], tuple[int, ...]] = {
    #                                                    own  oth  hdl  hsh  rev  sup  cmp  aud  par  pno  adm
    ("POST", "/claims"):                                (201, 422, 201, 422, 403, 201, 403, 403, 201, 201, 403),
    ("GET", "/claims"):                                 (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/claims/{claim_id}"):                      (200, 404, 200, 404, 200, 200, 200, 200, 200, 404, 200),
    ("GET", "/claims/{claim_id}/timeline"):             (200, 404, 200, 404, 200, 200, 200, 200, 200, 404, 200),
    ("GET", "/claims/{claim_id}/claimant/identity"):    (403, 404, 200, 404, 200, 200, 200, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/register"):            (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/investigate"):         (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/assess"):              (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/request-documents"):   (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/resume"):              (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/submit-for-approval"): (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/approve"):             (403, 404, 403, 404, 200, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/approve-partial"):     (403, 404, 403, 404, 200, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/deny"):                (403, 404, 403, 404, 200, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/denial-notice"):       (403, 404, 200, 404, 200, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/payments"):            (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/payments/confirm"):    (403, 404, 403, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/close"):               (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/withdraw"):            (200, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    ("POST", "/claims/{claim_id}/reopen"):              (403, 404, 403, 404, 403, 200, 403, 403, 403, 404, 403),
    # assign, share and upload check the role before the scope: a 403 there depends on the role
    # alone, never on the claim id, so it reveals nothing either.
    ("POST", "/claims/{claim_id}/assign"):              (403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403),
    ("POST", "/claims/{claim_id}/shares"):              (403, 403, 200, 404, 403, 200, 403, 403, 403, 403, 403),
    ("GET", "/claims/{claim_id}/documents"):            (200, 404, 200, 404, 200, 200, 200, 200, 200, 404, 200),
    ("POST", "/claims/{claim_id}/documents"):           (201, 404, 201, 404, 403, 201, 403, 403, 201, 404, 403),
    ("GET", "/claims/{claim_id}/documents/{document_id}"): (200, 404, 200, 404, 200, 200, 200, 200, 200, 404, 200),
    ("GET", "/policies/{number}"):                      (200, 404, 200, 404, 200, 200, 200, 200, 404, 404, 200),
    ("GET", "/policies"):                               (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/me"):                                     (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/process/claims/{claim_id}"):              (200, 404, 200, 404, 200, 200, 200, 200, 200, 404, 200),
    # Fraud: staff only; a claim's risk within scope (out of scope: not found, whatever the role).
    ("GET", "/claims/{claim_id}/risk"):                 (403, 404, 200, 404, 200, 200, 200, 200, 403, 404, 200),
    ("GET", "/fraud/models"):                           (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("GET", "/fraud/rules"):                            (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("GET", "/fraud/ring-alerts"):                      (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("GET", "/fraud/warnings"):                         (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    # Investigations (SIU): staff read cases of claims in scope; supervisors and compliance open and
    # close them; tasks and notes also by the case's investigator (none here). A case out of scope
    # is not found; a customer or partner in scope is refused.
    ("GET", "/fraud/cases"):                            (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("GET", "/fraud/cases/{case_id}"):                  (403, 404, 200, 404, 200, 200, 200, 200, 403, 404, 200),
    ("POST", "/fraud/cases"):                           (403, 404, 403, 404, 403, 201, 201, 403, 403, 404, 403),
    ("POST", "/fraud/cases/{case_id}/close"):           (403, 404, 403, 404, 403, 200, 200, 403, 403, 404, 403),
    ("POST", "/fraud/cases/{case_id}/tasks"):           (403, 404, 403, 404, 403, 201, 201, 403, 403, 404, 403),
    ("POST", "/fraud/cases/{case_id}/notes"):           (403, 404, 403, 404, 403, 201, 201, 403, 403, 404, 403),
    ("POST", "/fraud/cases/{case_id}/assign"):          (403, 404, 403, 404, 403, 200, 200, 403, 403, 404, 403),
    ("POST", "/fraud/tasks/{task_id}/done"):            (403, 404, 403, 404, 403, 200, 200, 403, 403, 404, 403),
    ("POST", "/process/claims/{claim_id}/materials-notice"): (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    # Without a process definition the claim's step has no checklist: allowed roles get 422.
    ("POST", "/process/claims/{claim_id}/checks"):      (403, 404, 422, 404, 422, 422, 403, 403, 403, 404, 403),
    # A reported claim cannot be signed for approval yet: allowed roles get 409.
    ("POST", "/process/claims/{claim_id}/approval-signatures"): (403, 404, 409, 404, 409, 409, 403, 403, 403, 404, 403),
    ("GET", "/process/rules"):                          (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("POST", "/process/rules"):                         (403, 403, 403, 403, 403, 201, 403, 403, 403, 403, 201),
    ("PUT", "/process/rules/{rule_id}"):                (403, 403, 403, 403, 403, 200, 403, 403, 403, 403, 200),
    ("POST", "/process/rules/dry-run"):                 (403, 403, 403, 403, 200, 200, 200, 403, 403, 403, 200),
    ("GET", "/process/rules/facts"):                    (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    ("GET", "/process/authority"):                      (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("POST", "/process/authority"):                     (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201),
    ("GET", "/process/kpis/one-time-notice"):           (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("POST", "/process/claims/{claim_id}/callback"):    (403, 404, 200, 404, 403, 200, 403, 403, 403, 404, 403),
    # Process definitions: staff read them, administrators change them.
    ("GET", "/process/definitions"):                    (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("GET", "/process/definitions/{definition_id}"):    (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("GET", "/process/definitions/{definition_id}/export"): (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("GET", "/process/definitions/{definition_id}/map.svg"): (403, 403, 200, 200, 200, 200, 200, 200, 403, 403, 200),
    ("POST", "/process/definitions/import"):            (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201),
    ("POST", "/process/definitions/{definition_id}/publish"): (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    ("POST", "/process/definitions/{definition_id}/new-version"): (403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201),
    # A claim's map is scoped like the claim: the customer's and the partner's is the plain one.
    ("GET", "/process/claims/{claim_id}/map.svg"):      (200, 404, 200, 404, 200, 200, 200, 200, 200, 404, 200),
}
# fmt: on
ERROR_CODES = {
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    409: "illegal_transition",
    422: "validation_error",
}


# --- the world ---------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    holder: Customer
    policy: Policy
    other_policy: Policy
    claims: dict[str, int] = field(default_factory=dict)  # state -> claim id (the owner's, shared with par)
    other_claim: int = 0  # the other customer's claim
    definition_id: int = 0  # the published motor process
    draft_id: int = 0  # a draft process of another code, ready to publish
    document_id: int = 0  # on claims["reported"]
    rule_id: int = 0  # a draft auto-review rule
    case_id: int = 0  # an open investigation of claims["registered"]
    task_id: int = 0  # an open task of that investigation
    clients: dict[tuple[str, bool], Client] = field(default_factory=dict)

    def client(self, role: str, *, enforce_csrf_checks: bool = False) -> Client:
        """One client per role for the module: a client's first request loads the middleware, and
        WhiteNoise then indexes every static file, which costs more than the request itself."""
        key = (role, enforce_csrf_checks)
        if key not in self.clients:
            self.clients[key] = Client(
                enforce_csrf_checks=enforce_csrf_checks,
                HTTP_AUTHORIZATION=f"Bearer {self.tokens[role]}",
                HTTP_ACCEPT_LANGUAGE="en",
            )
        return self.clients[key]


def _submit(actor: User, policy: Policy, amount: str = "8200.00") -> int:
    return services.claim_submit(
        actor=actor,
        policy_number=policy.number,
        incident_at=timezone.now() - dt.timedelta(hours=3),
        incident_place="北京市朝阳区建国路88号",
        loss_type="collision",
        claimed_amount=Decimal(amount),
        description="追尾，后保险杠受损",
    ).claim.pk


# Each state: the state it is reached from and the step (role, service call) that reaches it.
Step = Callable[[dict[str, User], int], Any]
PATH: dict[str, tuple[str | None, Step | None]] = {
    "reported": (None, None),
    "registered": ("reported", lambda u, c: services.claim_register(actor=u["hdl"], claim_id=c)),
    "assessment": ("registered", lambda u, c: services.claim_assess(actor=u["hdl"], claim_id=c)),
    "awaiting_documents": (
        "registered",
        lambda u, c: services.claim_request_documents(actor=u["hdl"], claim_id=c, items=["invoice"]),
    ),
    "pending_approval": (
        "assessment",
        lambda u, c: services.claim_submit_for_approval(actor=u["hdl"], claim_id=c, assessed_amount="7800.00"),
    ),
    "approved": ("pending_approval", lambda u, c: services.claim_approve(actor=u["rev"], claim_id=c)),
    "denied": (
        "pending_approval",
        lambda u, c: services.claim_deny(
            actor=u["rev"], claim_id=c, reason_codes=["not_covered"], note="不属于保险责任范围"
        ),
    ),
    "payment_pending": (
        "approved",
        lambda u, c: services.claim_request_payment(
            actor=u["hdl"], claim_id=c, payee_name="张伟", bank_account=BANK_ACCOUNT
        ),
    ),
    "paid": ("payment_pending", lambda u, c: services.claim_confirm_payment(actor=u["sup"], claim_id=c)),
    "closed": ("paid", lambda u, c: services.claim_close(actor=u["hdl"], claim_id=c)),
}


def advance(users: dict[str, User], claim_id: int, state: str) -> None:
    previous, step = PATH[state]
    if previous is not None and step is not None:
        advance(users, claim_id, previous)
        step(users, claim_id)


def _build() -> World:
    holder = factories.customer()
    other = factories.customer(name="李娜")
    hosp1, hosp2 = factories.partner("HOSP1"), factories.partner("HOSP2")
    sh = factories.branch("SH")
    users = {
        "own": holder.user,
        "oth": other.user,
        "hdl": factories.user(Role.HANDLER),
        "hsh": factories.user(Role.HANDLER, branch=sh, team=factories.team("SH-MOTOR", "SH")),
        "rev": factories.user(Role.REVIEWER),
        "sup": factories.user(Role.SUPERVISOR),
        "cmp": factories.user(Role.COMPLIANCE),
        "aud": factories.user(Role.AUDITOR),
        "par": factories.user(Role.PARTNER, partner=hosp1),
        "pno": factories.user(Role.PARTNER, partner=hosp2),
        "adm": factories.user(Role.ADMIN),
    }
    world = World(
        users=users,
        tokens={role: token_create(actor=None, user=u)[1] for role, u in users.items()},
        holder=holder,
        policy=factories.policy(holder=holder),
        other_policy=factories.policy(holder=other),
    )
    for state in PATH:
        claim_id = _submit(holder.user, world.policy)
        services.claim_share(actor=users["hdl"], claim_id=claim_id, partner=hosp1)
        advance(users, claim_id, state)
        world.claims[state] = claim_id
    world.other_claim = _submit(other.user, world.other_policy)
    world.definition_id = presets_install(codes=("motor",))[0].definition_id
    world.draft_id = definition_import(
        actor=None, source={**preset_document("motor"), "code": "motor-glass", "loss_types": ["glass"]}
    ).pk
    world.document_id = services.document_upload(
        actor=holder.user,
        claim_id=world.claims["reported"],
        doc_type="invoice",
        stream=io.BytesIO(PNG),
        original_name="invoice.png",
        size=len(PNG),
    ).pk
    world.rule_id = rule_save(actor=None, data={**RULE, "code": "glass-draft"}).pk
    world.case_id = case_open(actor=users["sup"], claim_id=world.claims["registered"], reason="抽查").pk
    world.task_id = case_task_add(actor=users["sup"], case_id=world.case_id, text="走访修理厂").pk
    return world


@pytest.fixture(scope="module")
def w(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[World]:
    media = tmp_path_factory.mktemp("media")
    fast = override_settings(PASSWORD_HASHERS=FAST_HASHERS, MEDIA_ROOT=str(media))
    with django_db_blocker.unblock(), fast, transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media() -> None:
    """Replaces the per-test media folder of conftest: the module's document lives in the module's."""


# --- requests of each operation ------------------------------------------------------------------


def _fnol(world: World) -> dict[str, Any]:
    return {
        "policy_number": world.policy.number,
        "incident_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
        "incident_place": "北京市朝阳区建国路88号",
        "loss_type": "collision",
        "claimed_amount": "3000.00",
        # Partners prove the relationship with the insured's ID number; the others ignore it.
        "insured_id_number": world.holder.id_number,
    }


def _upload(world: World) -> dict[str, Any]:
    return {"doc_type": "damage_photo", "file": SimpleUploadedFile("photo.png", PNG, content_type="image/png")}


# operation -> (state of the claim it acts on, body)
REQUESTS: dict[tuple[str, str], tuple[str | None, Callable[[World], Any]]] = {
    ("POST", "/claims"): (None, _fnol),
    ("GET", "/claims"): (None, lambda w: None),
    ("GET", "/claims/{claim_id}"): ("reported", lambda w: None),
    ("GET", "/claims/{claim_id}/timeline"): ("reported", lambda w: None),
    ("GET", "/claims/{claim_id}/claimant/identity"): ("reported", lambda w: None),
    ("POST", "/claims/{claim_id}/register"): ("reported", lambda w: {}),
    ("POST", "/claims/{claim_id}/investigate"): ("registered", lambda w: {}),
    ("POST", "/claims/{claim_id}/assess"): ("registered", lambda w: {}),
    ("POST", "/claims/{claim_id}/request-documents"): ("registered", lambda w: {"items": ["invoice", "damage_photo"]}),
    ("POST", "/claims/{claim_id}/resume"): ("awaiting_documents", lambda w: {}),
    ("POST", "/claims/{claim_id}/submit-for-approval"): ("assessment", lambda w: {"assessed_amount": "7800.00"}),
    ("POST", "/claims/{claim_id}/approve"): ("pending_approval", lambda w: {}),
    ("POST", "/claims/{claim_id}/approve-partial"): (
        "pending_approval",
        lambda w: {"amount": "5000.00", "reason_codes": ["deductible_applied"]},
    ),
    ("POST", "/claims/{claim_id}/deny"): (
        "pending_approval",
        lambda w: {"reason_codes": ["exclusion"], "note": "免责条款"},
    ),
    ("POST", "/claims/{claim_id}/denial-notice"): ("denied", lambda w: {}),
    ("POST", "/claims/{claim_id}/payments"): (
        "approved",
        lambda w: {"payee_name": "张伟", "bank_account": BANK_ACCOUNT},
    ),
    ("POST", "/claims/{claim_id}/payments/confirm"): ("payment_pending", lambda w: {"reference": "BANK-1"}),
    ("POST", "/claims/{claim_id}/close"): ("paid", lambda w: {}),
    ("POST", "/claims/{claim_id}/withdraw"): ("reported", lambda w: {}),
    ("POST", "/claims/{claim_id}/reopen"): ("closed", lambda w: {"note": "新证据"}),
    ("POST", "/claims/{claim_id}/assign"): ("reported", lambda w: {"handler_id": w.users["hdl"].pk}),
    ("POST", "/claims/{claim_id}/shares"): ("reported", lambda w: {"partner_code": "HOSP2"}),
    ("GET", "/claims/{claim_id}/documents"): ("reported", lambda w: None),
    ("POST", "/claims/{claim_id}/documents"): ("reported", _upload),
    ("GET", "/claims/{claim_id}/documents/{document_id}"): ("reported", lambda w: None),
    ("GET", "/policies/{number}"): (None, lambda w: None),
    ("GET", "/policies"): (None, lambda w: None),
    ("GET", "/me"): (None, lambda w: None),
    ("GET", "/process/claims/{claim_id}"): ("reported", lambda w: None),
    ("POST", "/process/claims/{claim_id}/materials-notice"): ("registered", lambda w: {"extra_items": ["驾驶证副本"]}),
    ("POST", "/process/claims/{claim_id}/checks"): ("registered", lambda w: {"items": ["scene"]}),
    ("POST", "/process/claims/{claim_id}/approval-signatures"): ("reported", lambda w: {"amount": "7800.00"}),
    ("GET", "/process/rules"): (None, lambda w: None),
    ("GET", "/claims/{claim_id}/risk"): ("reported", lambda w: None),
    ("GET", "/fraud/models"): (None, lambda w: None),
    ("GET", "/fraud/rules"): (None, lambda w: None),
    ("GET", "/fraud/ring-alerts"): (None, lambda w: None),
    ("GET", "/fraud/warnings"): (None, lambda w: None),
    ("GET", "/fraud/cases"): (None, lambda w: None),
    ("GET", "/fraud/cases/{case_id}"): (None, lambda w: None),
    ("POST", "/fraud/cases"): (None, lambda w: {"claim_id": w.claims["reported"], "reason": "线索"}),
    ("POST", "/fraud/cases/{case_id}/close"): (None, lambda w: {"outcome": "not_fraud", "note": "无欺诈"}),
    ("POST", "/fraud/cases/{case_id}/tasks"): (None, lambda w: {"text": "走访修理厂"}),
    ("POST", "/fraud/cases/{case_id}/notes"): (None, lambda w: {"text": "记录"}),
    ("POST", "/fraud/cases/{case_id}/assign"): (None, lambda w: {"assignee_id": w.users["hdl"].pk}),
    ("POST", "/fraud/tasks/{task_id}/done"): (None, lambda w: {}),
    ("POST", "/process/rules"): (None, lambda w: RULE),
    ("PUT", "/process/rules/{rule_id}"): (None, lambda w: {**RULE, "code": "glass-small", "status": "active"}),
    ("POST", "/process/rules/dry-run"): (None, lambda w: {"line": "motor", "expression": RULE["expression"]}),
    ("GET", "/process/rules/facts"): (None, lambda w: None),
    ("GET", "/process/authority"): (None, lambda w: None),
    ("POST", "/process/authority"): (None, lambda w: {"role": "handler", "max_amount": "5000.00"}),
    ("GET", "/process/kpis/one-time-notice"): (None, lambda w: None),
    ("POST", "/process/claims/{claim_id}/callback"): ("paid", lambda w: {"note": "客户满意"}),
    ("GET", "/process/definitions"): (None, lambda w: None),
    ("GET", "/process/definitions/{definition_id}"): (None, lambda w: None),
    ("GET", "/process/definitions/{definition_id}/export"): (None, lambda w: None),
    ("GET", "/process/definitions/{definition_id}/map.svg"): (None, lambda w: None),
    ("POST", "/process/definitions/import"): (None, lambda w: preset_document("travel")),
    ("POST", "/process/definitions/{definition_id}/publish"): (None, lambda w: {}),
    ("POST", "/process/definitions/{definition_id}/new-version"): (None, lambda w: {}),
    ("GET", "/process/claims/{claim_id}/map.svg"): ("reported", lambda w: None),
}


def _url(world: World, path: str, state: str | None) -> str:
    # Publishing needs a draft; every other definition operation acts on the published process.
    definition_id = world.draft_id if path.endswith("/publish") else world.definition_id
    return API + path.format(
        claim_id=world.claims[state] if state else 0,
        document_id=world.document_id,
        number=world.policy.number,
        definition_id=definition_id,
        rule_id=world.rule_id,
        case_id=world.case_id,
        task_id=world.task_id,
    )


def send(client: Client, method: str, url: str, body: Any) -> Any:
    if method == "GET":
        return client.get(url)
    if method == "PUT":
        return client.put(url, json.dumps(body), content_type="application/json")
    if isinstance(body, dict) and any(isinstance(v, SimpleUploadedFile) for v in body.values()):
        return client.post(url, body)  # multipart
    return client.post(url, json.dumps(body), content_type="application/json")


def _assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}, body
    assert body["code"] == (code or ERROR_CODES[status]), body
    assert isinstance(body["message"], str) and body["message"]
    return body


# --- the matrix ----------------------------------------------------------------------------------


def test_matrix_covers_every_operation(client: Client) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    operations = {
        (method.upper(), path.removeprefix(API))
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations - set(MATRIX) == set(), "operations without a row in the permission matrix"
    assert set(MATRIX) - operations == set(), "matrix rows for operations that no longer exist"
    assert set(REQUESTS) == set(MATRIX)
    assert all(len(row) == len(ROLES) for row in MATRIX.values())


def test_matrix_never_reveals_a_claim_out_of_scope() -> None:
    """Guards the table itself: out of scope, no operation on a claim succeeds, and every read by
    id answers 404 (never 403), so a claim id reveals nothing."""
    for (method, path), row in MATRIX.items():
        if "{claim_id}" not in path:
            continue
        for role in OUT_OF_SCOPE:
            status = row[ROLES.index(role)]
            assert status in ((404,) if method == "GET" else (403, 404)), (method, path, role, status)


CELLS = [(op, role) for op in MATRIX for role in ROLES]


@pytest.mark.parametrize(("op", "role"), CELLS, ids=[f"{m} {p} {r}" for (m, p), r in CELLS])
def test_matrix(w: World, op: tuple[str, str], role: str) -> None:
    method, path = op
    expected = MATRIX[op][ROLES.index(role)]
    state, body = REQUESTS[op]
    claim_id = w.claims[state] if state else None
    before = Claim.objects.get(pk=claim_id) if claim_id else None
    response = send(w.client(role), method, _url(w, path, state), body(w))
    if expected >= 400:
        _assert_error(response, expected)
        if before is not None:  # a refusal changes nothing
            after = Claim.objects.get(pk=claim_id)
            assert (after.status, after.version) == (before.status, before.version)
        return
    assert response.status_code == expected, response.content
    if method == "POST" and claim_id and "documents" not in path and not path.startswith("/process/"):
        assert response.json()["id"] == claim_id


def test_out_of_scope_reads_are_indistinguishable_from_missing_ids(w: World) -> None:
    """A customer probing another customer's claim id gets exactly what a non-existent id gives."""
    c = w.client("own")
    missing = Claim.objects.order_by("-pk").values_list("pk", flat=True).first() + 1000
    for suffix in ("", "/timeline", "/documents", f"/documents/{w.document_id}"):
        foreign = c.get(f"{API}/claims/{w.other_claim}{suffix}")
        absent = c.get(f"{API}/claims/{missing}{suffix}")
        _assert_error(absent, 404)
        assert (foreign.status_code, foreign.json()) == (absent.status_code, absent.json())


@pytest.mark.parametrize(
    ("role", "sees_owner", "sees_other"),
    [
        ("own", True, False),
        ("oth", False, True),
        ("hdl", True, True),
        ("hsh", False, False),
        ("rev", True, True),
        ("sup", True, True),
        ("cmp", True, True),
        ("aud", True, True),
        ("par", True, False),
        ("pno", False, False),
        ("adm", True, True),
    ],
)
def test_list_is_scoped(w: World, role: str, sees_owner: bool, sees_other: bool) -> None:
    r = w.client(role).get(f"{API}/claims", {"page_size": 200})
    assert r.status_code == 200
    ids = {item["id"] for item in r.json()["items"]}
    owner_ids = set(w.claims.values())
    # Handlers see their team's claims and the unassigned pool, all of which these are.
    if sees_owner:
        assert owner_ids <= ids
    else:
        assert ids.isdisjoint(owner_ids)
    assert (w.other_claim in ids) is sees_other
    assert r.json()["count"] == len(ids)


_STATEFUL = [
    op
    for op, row in MATRIX.items()
    if op[0] == "POST"
    and "{claim_id}" in op[1]
    # Sharing works in any state; a callback is due after payment, closed or not.
    and op[1] not in ("/claims/{claim_id}/shares", "/process/claims/{claim_id}/callback")
    and min(row) < 300
]


@pytest.mark.parametrize("op", _STATEFUL, ids=[p for _, p in _STATEFUL])
def test_allowed_role_in_the_wrong_state_gets_409(w: World, op: tuple[str, str]) -> None:
    """Where the role may act but the claim's state says no: 409, and the claim is unchanged."""
    method, path = op
    role = next(r for r, status in zip(ROLES, MATRIX[op], strict=True) if status < 300)
    state = "reported" if path.endswith("/reopen") else "closed"  # reopen needs a closed claim
    _, body = REQUESTS[op]
    claim_id = w.claims[state]
    before = Claim.objects.get(pk=claim_id)
    events = before.events.count()
    response = send(w.client(role), method, _url(w, path, state), body(w))
    _assert_error(response, 409, "illegal_transition")
    after = Claim.objects.get(pk=claim_id)
    assert (after.status, after.version, after.events.count()) == (before.status, before.version, events)


# --- identifiers: masked everywhere, revealed only to handling staff and audited -----------------


def _clear_identifiers(world: World) -> list[str]:
    phone = world.holder.phone
    return [world.holder.id_number, phone, phone.removeprefix("+86"), BANK_ACCOUNT]


@pytest.mark.parametrize("role", ["aud", "own", "par", "hdl", "rev", "sup", "cmp", "adm"])
def test_reads_carry_only_masked_identifiers(w: World, role: str) -> None:
    c = w.client(role)
    bodies = [c.get(f"{API}/claims", {"page_size": 200})]
    for state in ("reported", "paid"):  # paid: with a payment and its bank account
        bodies += [c.get(f"{API}/claims/{w.claims[state]}"), c.get(f"{API}/claims/{w.claims[state]}/timeline")]
    for r in bodies:
        assert r.status_code == 200, r.content
        text = r.content.decode()
        for secret in _clear_identifiers(w):
            assert secret not in text, f"{secret} in {r.request['PATH_INFO']}"
    detail = bodies[1].json()
    assert detail["claimant"]["id_number_masked"] == w.holder.id_number_masked
    assert detail["claimant"]["phone_masked"] == w.holder.phone_masked
    assert "*" in detail["claimant"]["id_number_masked"]
    paid = bodies[3].json()
    assert paid["payments"][0]["bank_account_masked"].endswith(BANK_ACCOUNT[-4:])


@pytest.mark.parametrize("role", ["aud", "par", "own", "adm"])
def test_identity_reveal_refused_and_not_audited(w: World, role: str) -> None:
    before = AuditEntry.objects.filter(action="customer.reveal").count()
    r = w.client(role).get(f"{API}/claims/{w.claims['reported']}/claimant/identity")
    body = _assert_error(r, 403)
    assert w.holder.id_number not in json.dumps(body)
    assert AuditEntry.objects.filter(action="customer.reveal").count() == before


def test_identity_reveal_for_a_handler_is_audited(w: World) -> None:
    handler = w.users["hdl"]
    r = w.client("hdl").get(f"{API}/claims/{w.claims['reported']}/claimant/identity")
    assert r.status_code == 200, r.content
    assert r.json() == {"name": w.holder.name, "id_number": w.holder.id_number, "phone": w.holder.phone}
    entry = AuditEntry.objects.filter(action="customer.reveal").order_by("-seq").first()
    assert entry is not None
    assert entry.actor_id == handler.pk
    assert (entry.object_type, entry.object_id) == ("policies.customer", str(w.holder.pk))
    assert entry.after == {"claim": w.claims["reported"]}
    # The trail records that it was revealed, never what.
    assert w.holder.id_number not in json.dumps([entry.before, entry.after])


# --- authentication ------------------------------------------------------------------------------


def _every_operation_url(world: World) -> list[tuple[str, str]]:
    return [(m, _url(world, p, "reported" if "{claim_id}" in p else None)) for m, p in MATRIX]


def test_unauthenticated_gets_401_everywhere(w: World) -> None:
    # A real client: CSRF enforced as in a browser or a script without a session.
    anon = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    for method, url in _every_operation_url(w):
        r = send(anon, method, url, {})
        assert r.status_code == 401, (method, url, r.content)
        assert r.json() == {"code": "not_authenticated", "message": r.json()["message"], "detail": None}
        assert r.json()["message"]


@pytest.mark.parametrize("header", ["Bearer cw_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "cw_raw"])
def test_bad_credentials_get_401(w: World, header: str) -> None:
    c = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=header)
    for method, url in [("GET", f"{API}/claims"), ("POST", f"{API}/claims/{w.claims['reported']}/withdraw")]:
        r = send(c, method, url, {})
        _assert_error(r, 401)


def test_revoked_token_gets_401(w: World) -> None:
    user = w.users["own"]
    row, raw = token_create(actor=None, user=user, name="to-revoke")
    c = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert c.get(f"{API}/me").json()["username"] == user.username
    token_revoke(actor=None, token=row)
    assert ApiToken.objects.get(pk=row.pk).revoked_at is not None
    _assert_error(c.get(f"{API}/me"), 401)
    _assert_error(c.get(f"{API}/claims/{w.claims['reported']}"), 401)
    _assert_error(send(c, "POST", f"{API}/claims/{w.claims['reported']}/withdraw", {}), 401)
    assert Claim.objects.get(pk=w.claims["reported"]).status == "reported"
    # The user's other token still works.
    assert w.client("own").get(f"{API}/me").status_code == 200


def test_inactive_user_token_gets_401(w: World) -> None:
    user = w.users["oth"]
    User.objects.filter(pk=user.pk).update(is_active=False)
    _assert_error(w.client("oth").get(f"{API}/me"), 401)


def test_token_needs_no_csrf(w: World) -> None:
    c = w.client("own", enforce_csrf_checks=True)
    r = send(c, "POST", f"{API}/claims/{w.claims['reported']}/withdraw", {})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "withdrawn"


def _session(user: User) -> Client:
    c = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def test_session_works_for_get(w: World) -> None:
    c = _session(w.users["own"])
    assert c.get(f"{API}/me").json()["username"] == w.users["own"].username
    r = c.get(f"{API}/claims/{w.claims['reported']}")
    assert r.status_code == 200
    _assert_error(c.get(f"{API}/claims/{w.other_claim}"), 404)


def test_session_post_requires_csrf(w: World) -> None:
    c = _session(w.users["own"])
    url = f"{API}/claims/{w.claims['reported']}/withdraw"
    _assert_error(send(c, "POST", url, {}), 403)
    assert Claim.objects.get(pk=w.claims["reported"]).status == "reported"

    request = RequestFactory().get("/")
    token = get_token(request)
    c.cookies[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    _assert_error(c.post(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN="wrong" * 8), 403)
    r = c.post(url, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "withdrawn"


def test_signed_out_session_gets_401(w: World) -> None:
    c = _session(w.users["own"])
    c.logout()
    _assert_error(c.get(f"{API}/me"), 401)
    _assert_error(send(c, "POST", f"{API}/claims/{w.claims['reported']}/withdraw", {}), 401)
