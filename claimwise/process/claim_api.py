"""API for a claim's process (materials, step checklist, deadlines, approval authority), the
auto-review rules with their dry run, and the approval matrix. Definitions have their own router
(`process/api.py`); both live under /api/v1/process."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from claimwise.accounts.choices import STAFF_ROLES, Role
from claimwise.accounts.models import User
from claimwise.claims.choices import DocumentsJustification
from claimwise.claims.selectors import claim_get, claim_queryset
from claimwise.claims.services import check_role
from claimwise.core.choices import LineOfBusiness
from claimwise.core.errors import NotFound, ValidationFailed
from claimwise.process import services
from claimwise.process.authority import approval_sign, authority_for
from claimwise.process.choices import RuleStatus
from claimwise.process.clocks import callback_record, claim_clock_views
from claimwise.process.facts import FACT_HELP, FACT_TYPES
from claimwise.process.materials import claim_process, materials_checklist, materials_notice_send, one_time_notice_rate
from claimwise.process.models import AuthorityLimit, AutoReviewRule
from claimwise.process.review import review_dry_run
from claimwise.process.stepchecks import current_step, step_checklist, step_checks_confirm

router = Router(tags=["process"])
ERRORS = {400: dict, 401: dict, 403: dict, 404: dict, 409: dict, 422: dict}
HANDLING = frozenset({Role.HANDLER, Role.SUPERVISOR})
RULE_EDITORS = frozenset({Role.SUPERVISOR, Role.ADMIN})
RULE_READERS = frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR, Role.COMPLIANCE, Role.AUDITOR, Role.ADMIN})


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class MaterialOut(Schema):
    key: str
    doc_type: str
    label: str
    received: bool


class ClockOut(Schema):
    kind: str
    label: str
    step_key: str
    statutory: bool = Field(description="set by law (Insurance Law art. 23–26), not by the company")
    started_at: dt.datetime
    due_at: dt.datetime
    state: str
    state_label: str
    remaining: str = Field(description="time left (or overdue), for people to read")
    stopped_at: dt.datetime | None
    provisional: bool = Field(description="working days counted before that year's official holiday schedule")


class CheckOut(Schema):
    key: str
    text: str
    confirmed_by: str | None
    confirmed_at: dt.datetime | None


class SignatureOut(Schema):
    signed_by: str
    amount: Decimal
    signed_at: dt.datetime


class AuthorityOut(Schema):
    your_limit: Decimal | None = Field(description="null: no ceiling (no matrix configured)")
    may_approve: bool
    top_limit: Decimal | None
    needs_two_approvers: bool
    you_assessed: bool
    signatures: list[SignatureOut]


class StepOut(Schema):
    key: str
    name: str
    customer_text: str
    role: str | None


class ClaimProcessOut(Schema):
    definition: str | None
    definition_version: int | None
    step: StepOut | None
    completed_steps: list[str]
    materials: list[MaterialOut]
    documents_complete: bool
    documents_requests: int
    clocks: list[ClockOut]
    next_due_at: dt.datetime | None
    urgency: str
    step_checklist: list[CheckOut] | None = Field(description="staff only")
    authority: AuthorityOut | None = Field(description="staff, while the claim is pending approval")
    auto_review_rule: str | None


@router.get("/claims/{int:claim_id}", response={200: ClaimProcessOut, **ERRORS}, summary="A claim's process")
def get_claim_process(request: HttpRequest, claim_id: int) -> dict[str, Any]:
    """Where the claim stands in its process: step, materials, deadlines; for staff also the step's
    quality checklist and the approval authority. Customers see the company's commitments in plain
    language and nothing internal."""
    user = _user(request)
    claim = claim_get(claim_id, user=user)
    staff = user.role in STAFF_ROLES
    process = claim_process(claim)
    definition = process.definition
    step = current_step(claim)
    clocks = claim_clock_views(claim)
    if not staff:
        clocks = [c for c in clocks if c.clock.kind != "step"]  # internal service levels stay inside
    authority = None
    if staff and claim.status == "pending_approval" and user.role in (Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR):
        found = authority_for(user, claim)
        amount = claim.assessed_amount or claim.claimed_amount
        authority = {
            "your_limit": found.limit,
            "may_approve": found.may_approve,
            "top_limit": found.top_limit,
            "needs_two_approvers": found.needs_two(amount),
            "you_assessed": found.assessor_id == user.pk,
            "signatures": [
                {"signed_by": s.signed_by.username, "amount": s.amount, "signed_at": s.signed_at}
                for s in found.signatures
            ],
        }
    return {
        "definition": definition.label if definition else None,
        "definition_version": definition.version if definition else None,
        "step": {
            "key": step.key,
            "name": step.label,
            "customer_text": step.customer_label,
            "role": step.role if staff else None,
        }
        if step
        else None,
        "completed_steps": process.completed_steps,
        "materials": [m.__dict__ for m in materials_checklist(claim, process=process)],
        "documents_complete": process.documents_complete,
        "documents_requests": claim.documents_requests,
        "clocks": [
            {
                "kind": v.clock.kind,
                "label": v.label,
                "step_key": v.clock.step_key,
                "statutory": v.statutory,
                "started_at": v.clock.started_at,
                "due_at": v.clock.due_at,
                "state": v.state,
                "state_label": v.state_label,
                "remaining": v.remaining_label,
                "stopped_at": v.clock.stopped_at,
                "provisional": v.clock.provisional,
            }
            for v in clocks
        ],
        "next_due_at": process.next_due_at,
        "urgency": process.urgency,
        "step_checklist": [
            {**i, "confirmed_by": i["confirmed_by"].username if i["confirmed_by"] else None}
            for i in step_checklist(claim)
        ]
        if staff
        else None,
        "authority": authority,
        "auto_review_rule": process.auto_review_rule.code if staff and process.auto_review_rule else None,
    }


class NoteIn(In):
    note: str = Field("", max_length=2000)


class MaterialsNoticeIn(In):
    justification: DocumentsJustification | None = None
    extra_items: list[str] = Field(default_factory=list, max_length=30)
    note: str = Field("", max_length=2000)


@router.post(
    "/claims/{int:claim_id}/materials-notice",
    response={200: dict, **ERRORS},
    summary="Send the consolidated missing-materials notice",
)
def send_materials_notice(request: HttpRequest, claim_id: int, payload: MaterialsNoticeIn) -> dict[str, Any]:
    """Insurance Law art. 22: everything still missing (from the checklist) plus anything named, in one
    notice. A second notice on the same claim needs a justification code."""
    user = _user(request)
    claim_get(claim_id, user=user)
    check_role(user, HANDLING)
    claim = materials_notice_send(
        actor=user,
        claim_id=claim_id,
        justification=payload.justification.value if payload.justification else None,
        extra_items=payload.extra_items,
        note=payload.note,
    )
    return {"status": claim.status, "documents_requests": claim.documents_requests}


class ChecksIn(In):
    items: list[str] = Field(min_length=1, max_length=50)
    note: str = Field("", max_length=2000)


@router.post(
    "/claims/{int:claim_id}/checks", response={200: list[CheckOut], **ERRORS}, summary="Confirm checklist items"
)
def confirm_checks(request: HttpRequest, claim_id: int, payload: ChecksIn) -> list[dict[str, Any]]:
    user = _user(request)
    claim = claim_get(claim_id, user=user)
    check_role(user, frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR}))
    step_checks_confirm(actor=user, claim_id=claim_id, items=payload.items, note=payload.note)
    return [
        {**i, "confirmed_by": i["confirmed_by"].username if i["confirmed_by"] else None} for i in step_checklist(claim)
    ]


class SignIn(In):
    amount: Decimal = Field(gt=0, max_digits=15, decimal_places=2)
    note: str = Field("", max_length=2000)


@router.post(
    "/claims/{int:claim_id}/approval-signatures",
    response={201: SignatureOut, **ERRORS},
    summary="First of two approvals above the highest limit",
)
def sign_approval(request: HttpRequest, claim_id: int, payload: SignIn) -> Status[dict[str, Any]]:
    user = _user(request)
    claim_get(claim_id, user=user)
    check_role(user, frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR}))
    signature = approval_sign(actor=user, claim_id=claim_id, amount=payload.amount, note=payload.note)
    return Status(201, {"signed_by": user.username, "amount": signature.amount, "signed_at": signature.signed_at})


class CallbackOut(Schema):
    callback_done_at: dt.datetime


@router.post("/claims/{int:claim_id}/callback", response={200: CallbackOut, **ERRORS}, summary="Record the callback")
def record_callback(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    """机动车辆保险理赔管理指引: the customer was called back after payment (stops the 15-working-day clock)."""
    user = _user(request)
    claim_get(claim_id, user=user)
    process = callback_record(actor=user, claim_id=claim_id, note=payload.note)
    return {"callback_done_at": process.callback_done_at}


# --- auto-review rules ----------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    code: str
    name: str
    name_en: str
    line: str
    expression: str
    status: str
    position: int


class RuleIn(In):
    code: str = Field(max_length=50)
    name: str = Field(max_length=200)
    name_en: str = Field("", max_length=200)
    line: LineOfBusiness
    expression: str = Field(max_length=4000)
    status: RuleStatus = RuleStatus.DRAFT
    position: int = Field(0, ge=0, le=1000)


def _rule_out(rule: AutoReviewRule) -> dict[str, Any]:
    return {f: getattr(rule, f) for f in ("id", "code", "name", "name_en", "line", "expression", "status", "position")}


class RulesQuery(Schema):
    line: LineOfBusiness | None = None


@router.get("/rules", response={200: list[RuleOut], **ERRORS}, summary="Auto-review rules")
def list_rules(request: HttpRequest, q: Query[RulesQuery]) -> list[dict[str, Any]]:
    check_role(_user(request), RULE_READERS)
    rules = AutoReviewRule.objects.all()
    if q.line:
        rules = rules.filter(line=q.line.value)
    return [_rule_out(r) for r in rules]


@router.post("/rules", response={201: RuleOut, **ERRORS}, summary="Create an auto-review rule")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    user = _user(request)
    check_role(user, RULE_EDITORS)
    rule = services.rule_save(actor=user, data=payload.model_dump(mode="json"))
    return Status(201, _rule_out(rule))


@router.put("/rules/{int:rule_id}", response={200: RuleOut, **ERRORS}, summary="Change an auto-review rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> dict[str, Any]:
    user = _user(request)
    check_role(user, RULE_EDITORS)
    if not AutoReviewRule.objects.filter(pk=rule_id).exists():
        raise NotFound()
    return _rule_out(services.rule_save(actor=user, data=payload.model_dump(mode="json"), rule_id=rule_id))


class DryRunIn(In):
    line: LineOfBusiness
    expression: str = Field(max_length=4000)
    last_n: int = Field(500, ge=1, le=5000)


class DryRunOut(Schema):
    line: str
    expression: str
    examined: int
    matched: int
    outcomes: dict[str, int]
    matched_claimed: Decimal
    matched_paid: Decimal
    would_have_erred: list[str]


@router.post("/rules/dry-run", response={200: DryRunOut, **ERRORS}, summary="Try a rule on past claims")
def dry_run(request: HttpRequest, payload: DryRunIn) -> dict[str, Any]:
    """Runs the expression over the last N closed claims of the line (within what you may see counts
    only the line's claims in your scope): how many it would have approved automatically and how
    those claims actually ended; `would_have_erred` lists those that were denied or cut."""
    user = _user(request)
    check_role(user, RULE_EDITORS | {Role.REVIEWER, Role.COMPLIANCE})
    return review_dry_run(
        actor=user,
        line=payload.line.value,
        expression=payload.expression,
        last_n=payload.last_n,
        scope=claim_queryset(user),
    ).as_dict()


class FactOut(Schema):
    name: str
    type: str
    help: str


@router.get("/rules/facts", response={200: list[FactOut], **ERRORS}, summary="Names a rule may use")
def rule_facts(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"name": n, "type": str(t.name), "help": str(FACT_HELP[n])} for n, t in FACT_TYPES.items()]


# --- approval authority ---------------------------------------------------------------------------


class LimitOut(Schema):
    id: int
    role: str
    line: str
    max_amount: Decimal


class LimitIn(In):
    role: Role
    line: LineOfBusiness | None = None
    max_amount: Decimal = Field(gt=0, max_digits=15, decimal_places=2)


@router.get("/authority", response={200: list[LimitOut], **ERRORS}, summary="The approval authority matrix")
def list_limits(request: HttpRequest) -> list[dict[str, Any]]:
    check_role(_user(request), RULE_READERS)
    return [
        {"id": r.pk, "role": r.role, "line": r.line, "max_amount": r.max_amount} for r in AuthorityLimit.objects.all()
    ]


@router.post("/authority", response={201: LimitOut, **ERRORS}, summary="Set a role's approval limit")
def set_limit(request: HttpRequest, payload: LimitIn) -> Status[dict[str, Any]]:
    user = _user(request)
    check_role(user, frozenset({Role.ADMIN}))
    existing = AuthorityLimit.objects.filter(
        role=payload.role.value, line=payload.line.value if payload.line else ""
    ).first()
    row = services.authority_limit_save(
        actor=user,
        role=payload.role.value,
        line=payload.line.value if payload.line else "",
        max_amount=payload.max_amount,
        limit_id=existing.pk if existing else None,
    )
    return Status(201, {"id": row.pk, "role": row.role, "line": row.line, "max_amount": row.max_amount})


# --- KPI ---------------------------------------------------------------------------------------------


class NoticeRateOut(Schema):
    claims_with_notice: int
    claims_with_one_notice: int
    rate: Decimal | None = Field(description="一次性告知率; null when no claim needed a notice")


class NoticeRateQuery(Schema):
    line: LineOfBusiness | None = None
    reported_from: dt.date | None = None
    reported_to: dt.date | None = None


@router.get("/kpis/one-time-notice", response={200: NoticeRateOut, **ERRORS}, summary="One-time notice rate")
def notice_rate(request: HttpRequest, q: Query[NoticeRateQuery]) -> dict[str, Any]:
    """Claims with at most one missing-materials notice / claims that needed any (Insurance Law art. 22),
    over the claims you may see."""
    user = _user(request)
    check_role(user, RULE_READERS)
    claims = claim_queryset(user)
    if q.line:
        claims = claims.filter(line=q.line.value)
    if q.reported_from:
        claims = claims.filter(reported_at__date__gte=q.reported_from)
    if q.reported_to:
        claims = claims.filter(reported_at__date__lte=q.reported_to)
    if q.reported_from and q.reported_to and q.reported_from > q.reported_to:
        raise ValidationFailed({"reported_to": _("The end date is before the start date.")})
    result = one_time_notice_rate(claims)
    return {
        "claims_with_notice": result.claims_with_notice,
        "claims_with_one_notice": result.claims_with_one_notice,
        "rate": result.rate,
    }
