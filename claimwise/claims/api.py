"""Claims API: FNOL with idempotency, reads scoped by role, one endpoint per lifecycle action."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Header, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from claimwise.accounts.choices import STAFF_ROLES, Role
from claimwise.accounts.models import PartnerOrganization, Team, User
from claimwise.claims import services
from claimwise.claims.choices import Channel, DocumentType, Priority
from claimwise.claims.lifecycle import ClaimStatus, allowed_actions
from claimwise.claims.models import Claim
from claimwise.claims.schemas import (
    ApproveIn,
    ApprovePartialIn,
    AssignIn,
    ClaimDetailOut,
    ClaimPageOut,
    ClaimSubmitIn,
    ConfirmPaymentIn,
    DenyIn,
    DocumentOut,
    DocumentsRequestIn,
    EventOut,
    IdentityOut,
    NoteIn,
    PaymentIn,
    ReasonIn,
    ShareIn,
    SubmitForApprovalIn,
)
from claimwise.claims.selectors import ClaimFilters, claim_get, claim_list, claim_timeline, document_get
from claimwise.core.audit import audit_record
from claimwise.core.choices import LineOfBusiness
from claimwise.core.errors import NotFound, PermissionDenied, ValidationFailed
from claimwise.core.money import to_money

router = Router(tags=["claims"])
ERRORS = {400: dict, 401: dict, 403: dict, 404: dict, 409: dict, 413: dict, 415: dict, 422: dict}
# What a customer or partner may read in an event's data: what happened to the claim, not who inside
# the company did it or internal ids.
CUSTOMER_EVENT_DATA = frozenset(
    {"items", "amount", "reason_codes", "doc_type", "channel", "late_report", "assessed_amount"}
)
REVEAL_ROLES = frozenset({Role.HANDLER, Role.REVIEWER, Role.SUPERVISOR, Role.COMPLIANCE})


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


def claim_out(claim: Claim, user: User) -> dict[str, Any]:
    staff = user.role in STAFF_ROLES
    return {
        "id": claim.pk,
        "number": claim.number or "",
        "status": claim.status,
        "status_label": str(ClaimStatus(claim.status).label),
        "policy_number": claim.policy.number,
        "product": claim.policy.product.name,
        "line": claim.line,
        "claimant": {
            "name": claim.claimant.name,
            "id_number_masked": claim.claimant.id_number_masked,
            "phone_masked": claim.claimant.phone_masked,
        },
        "incident_at": claim.incident_at,
        "incident_place": claim.incident_place,
        "reported_at": claim.reported_at,
        "channel": claim.channel,
        "loss_type": claim.loss_type,
        "description": claim.description,
        "currency": claim.currency,
        "claimed_amount": claim.claimed_amount,
        "reserve": claim.reserve if staff else None,
        "assessed_amount": claim.assessed_amount,
        "approved_amount": claim.approved_amount,
        "paid_amount": claim.paid_amount,
        "priority": claim.priority,
        "complexity": claim.complexity,
        "late_report": claim.late_report,
        "limitation_date": claim.limitation_date,
        "handler": claim.handler.get_full_name() or claim.handler.username if claim.handler else None,
        "team": claim.team.name if claim.team else None,
        "documents_requests": claim.documents_requests,
        "payee": {"name": claim.payee_name, "bank_name": claim.payee_bank, "account_masked": claim.payee_account_masked}
        if claim.payee_account
        else None,
        "version": claim.version,
        "allowed_actions": [a.value for a in allowed_actions(claim, user.role)],
        "status_changed_at": claim.status_changed_at,
    }


def claim_detail_out(claim: Claim, user: User) -> dict[str, Any]:
    return {
        **claim_out(claim, user),
        "decisions": list(claim.decisions.all()),
        "payments": [
            {
                "id": p.pk,
                "payee_name": p.payee_name,
                "bank_name": p.bank_name,
                "bank_account_masked": p.bank_account_masked,
                "amount": p.amount,
                "currency": p.currency,
                "status": p.status,
                "reference": p.reference,
                "requested_at": p.requested_at,
                "paid_at": p.paid_at,
            }
            for p in claim.payments.all()
        ],
    }


def _aware(value: dt.datetime) -> dt.datetime:
    return value if timezone.is_aware(value) else timezone.make_aware(value)


@router.post("", response={201: ClaimDetailOut, **ERRORS}, summary="Report a claim (FNOL)")
def submit_claim(
    request: HttpRequest,
    payload: ClaimSubmitIn,
    response: HttpResponse,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=100),
) -> Status[dict[str, Any]]:
    """Send an `Idempotency-Key` header (any unique string per claim): retrying with the same key
    returns the claim the first request created, with `Idempotent-Replayed: true`."""
    user = _user(request)
    result = services.claim_submit(
        actor=user,
        policy_number=payload.policy_number,
        incident_at=_aware(payload.incident_at),
        incident_place=payload.incident_place,
        loss_type=payload.loss_type.value,
        claimed_amount=payload.claimed_amount,
        currency=payload.currency,
        description=payload.description,
        channel=payload.channel.value if payload.channel else (Channel.API if user.role in STAFF_ROLES else None),
        insured_id_number=payload.insured_id_number,
        idempotency_key=idempotency_key,
        payee=services.Payee(payload.payee.name, payload.payee.account, payload.payee.bank_name)
        if payload.payee
        else None,
    )
    if not result.replayed:
        return Status(201, _new_claim_out(result.claim, user))
    response["Idempotent-Replayed"] = "true"
    return Status(201, claim_detail_out(claim_get(result.claim.pk, user=user), user))


def _new_claim_out(claim: Claim, user: User) -> dict[str, Any]:
    """The answer to a new claim, from the instance the service created (its policy, product and
    claimant are loaded) rather than read back: FNOL's hot path. Its submitter can always see it, and
    it has no decisions or payments yet. Two values are put as a read returns them; a test pins this
    answer to the claim's GET."""
    claim.incident_at = claim.incident_at.astimezone(dt.UTC)
    claim.paid_amount = to_money(claim.paid_amount)
    return {**claim_out(claim, user), "decisions": [], "payments": []}


class ListQuery(Schema):
    status: list[ClaimStatus] | None = None
    line: LineOfBusiness | None = None
    channel: Channel | None = None
    priority: Priority | None = None
    handler_id: int | None = None
    team_id: int | None = None
    policy_number: str | None = Field(None, max_length=40)
    number: str | None = Field(None, max_length=24)
    reported_from: dt.datetime | None = None
    reported_to: dt.datetime | None = None
    ordering: str = Field(
        "-reported_at",
        description="reported_at, incident_at, claimed_amount, status_changed_at or number; prefix - for descending",
    )
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


@router.get("", response={200: ClaimPageOut, **ERRORS}, summary="List claims")
def list_claims(request: HttpRequest, q: Query[ListQuery]) -> dict[str, Any]:
    user = _user(request)
    filters = ClaimFilters(
        status=[s.value for s in q.status] if q.status else None,
        line=q.line.value if q.line else None,
        channel=q.channel.value if q.channel else None,
        priority=q.priority.value if q.priority else None,
        handler_id=q.handler_id,
        team_id=q.team_id,
        policy_number=q.policy_number,
        number=q.number,
        reported_from=_aware(q.reported_from) if q.reported_from else None,
        reported_to=_aware(q.reported_to) if q.reported_to else None,
    )
    qs = claim_list(user=user, filters=filters, ordering=q.ordering)
    start = (q.page - 1) * q.page_size
    items = [claim_out(c, user) for c in qs[start : start + q.page_size]]
    return {"items": items, "count": qs.count(), "page": q.page, "page_size": q.page_size}


@router.get("/{int:claim_id}", response={200: ClaimDetailOut, **ERRORS}, summary="Get a claim")
def get_claim(request: HttpRequest, claim_id: int) -> dict[str, Any]:
    user = _user(request)
    return claim_detail_out(claim_get(claim_id, user=user), user)


@router.get("/{int:claim_id}/timeline", response={200: list[EventOut], **ERRORS}, summary="The claim's history")
def get_timeline(request: HttpRequest, claim_id: int) -> list[dict[str, Any]]:
    user = _user(request)
    staff = user.role in STAFF_ROLES
    claim = claim_get(claim_id, user=user)
    return [
        {
            "id": e.pk,
            "kind": e.kind,
            "at": e.at,
            "actor": (e.actor.username if e.actor else None) if user.role in STAFF_ROLES else None,
            "from_status": e.from_status,
            "to_status": e.to_status,
            "note": e.note,
            "data": e.data if staff else {k: v for k, v in e.data.items() if k in CUSTOMER_EVENT_DATA},
        }
        for e in claim_timeline(claim, user=user)
    ]


@router.get(
    "/{int:claim_id}/claimant/identity",
    response={200: IdentityOut, **ERRORS},
    summary="Reveal the claimant's identifiers",
)
def reveal_identity(request: HttpRequest, claim_id: int) -> dict[str, Any]:
    """Unmasked ID number and phone, for handling staff only; every reveal is audited (PIPL)."""
    from django.db import transaction

    user = _user(request)
    # Scope before role, as for every read by id: a claim out of scope is 404 whoever asks.
    claim = claim_get(claim_id, user=user)
    if user.role not in REVEAL_ROLES:
        raise PermissionDenied()
    with transaction.atomic():
        audit_record(actor=user, action="customer.reveal", obj=claim.claimant, after={"claim": claim.pk})
    return {"name": claim.claimant.name, "id_number": claim.claimant.id_number, "phone": claim.claimant.phone}


def _act(request: HttpRequest, claim_id: int, service: Any, **kwargs: Any) -> dict[str, Any]:
    user = _user(request)
    service(actor=user, claim_id=claim_id, **kwargs)
    return claim_detail_out(claim_get(claim_id, user=user), user)


ACTION = {200: ClaimDetailOut, **ERRORS}


@router.post("/{int:claim_id}/register", response=ACTION, summary="Register (立案)")
def register(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_register, note=payload.note)


@router.post("/{int:claim_id}/investigate", response=ACTION, summary="Start investigation (查勘)")
def investigate(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_investigate, note=payload.note)


@router.post("/{int:claim_id}/assess", response=ACTION, summary="Start assessment (定损/理算)")
def assess(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_assess, note=payload.note)


@router.post("/{int:claim_id}/request-documents", response=ACTION, summary="Request missing documents (一次性告知)")
def request_documents(request: HttpRequest, claim_id: int, payload: DocumentsRequestIn) -> dict[str, Any]:
    return _act(
        request,
        claim_id,
        services.claim_request_documents,
        items=[i.value for i in payload.items],
        note=payload.note,
        justification=payload.justification.value if payload.justification else None,
    )


@router.post("/{int:claim_id}/resume", response=ACTION, summary="Documents received: resume")
def resume(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_resume, note=payload.note)


@router.post("/{int:claim_id}/submit-for-approval", response=ACTION, summary="Submit for approval (核赔)")
def submit_for_approval(request: HttpRequest, claim_id: int, payload: SubmitForApprovalIn) -> dict[str, Any]:
    return _act(
        request,
        claim_id,
        services.claim_submit_for_approval,
        assessed_amount=payload.assessed_amount,
        note=payload.note,
    )


@router.post("/{int:claim_id}/approve", response=ACTION, summary="Approve")
def approve(request: HttpRequest, claim_id: int, payload: ApproveIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_approve, amount=payload.amount, note=payload.note)


@router.post("/{int:claim_id}/approve-partial", response=ACTION, summary="Approve in part")
def approve_partial(request: HttpRequest, claim_id: int, payload: ApprovePartialIn) -> dict[str, Any]:
    return _act(
        request,
        claim_id,
        services.claim_approve_partial,
        amount=payload.amount,
        reason_codes=[r.value for r in payload.reason_codes],
        note=payload.note,
    )


@router.post("/{int:claim_id}/deny", response=ACTION, summary="Deny")
def deny(request: HttpRequest, claim_id: int, payload: DenyIn) -> dict[str, Any]:
    return _act(
        request, claim_id, services.claim_deny, reason_codes=[r.value for r in payload.reason_codes], note=payload.note
    )


@router.post("/{int:claim_id}/denial-notice", response=ACTION, summary="Record the denial notice as sent")
def denial_notice(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_send_denial_notice, note=payload.note)


@router.post("/{int:claim_id}/payments", response=ACTION, summary="Request payment of the approved amount")
def request_payment(request: HttpRequest, claim_id: int, payload: PaymentIn) -> dict[str, Any]:
    return _act(
        request,
        claim_id,
        services.claim_request_payment,
        payee_name=payload.payee_name,
        bank_account=payload.bank_account,
        bank_name=payload.bank_name,
        note=payload.note,
    )


@router.post("/{int:claim_id}/payments/confirm", response=ACTION, summary="Confirm the pending payment as paid")
def confirm_payment(request: HttpRequest, claim_id: int, payload: ConfirmPaymentIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_confirm_payment, reference=payload.reference, note=payload.note)


@router.post("/{int:claim_id}/close", response=ACTION, summary="Close")
def close(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_close, note=payload.note)


@router.post("/{int:claim_id}/withdraw", response=ACTION, summary="Withdraw (before a decision)")
def withdraw(request: HttpRequest, claim_id: int, payload: NoteIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_withdraw, note=payload.note)


@router.post("/{int:claim_id}/reopen", response=ACTION, summary="Reopen a closed claim")
def reopen(request: HttpRequest, claim_id: int, payload: ReasonIn) -> dict[str, Any]:
    return _act(request, claim_id, services.claim_reopen, note=payload.note)


@router.post("/{int:claim_id}/assign", response=ACTION, summary="Assign a handler and team")
def assign(request: HttpRequest, claim_id: int, payload: AssignIn) -> dict[str, Any]:
    # Role first: whether a user id or partner code exists is not for everyone to probe.
    services.check_role(_user(request), services.ASSIGN_ROLES)
    handler = User.objects.filter(pk=payload.handler_id).select_related("team").first() if payload.handler_id else None
    if payload.handler_id and handler is None:
        raise ValidationFailed({"handler_id": _("No such user.")})
    team = Team.objects.filter(pk=payload.team_id).first() if payload.team_id else None
    if payload.team_id and team is None:
        raise ValidationFailed({"team_id": _("No such team.")})
    return _act(request, claim_id, services.claim_assign, handler=handler, team=team, note=payload.note)


@router.post("/{int:claim_id}/shares", response=ACTION, summary="Share the claim with a partner")
def share(request: HttpRequest, claim_id: int, payload: ShareIn) -> dict[str, Any]:
    services.check_role(_user(request), services.SHARE_ROLES)
    partner = PartnerOrganization.objects.filter(code=payload.partner_code).first()
    if partner is None:
        raise ValidationFailed({"partner_code": _("No partner with this code.")})
    return _act(request, claim_id, services.claim_share, partner=partner, note=payload.note)


@router.get("/{int:claim_id}/documents", response={200: list[DocumentOut], **ERRORS}, summary="List documents")
def list_documents(request: HttpRequest, claim_id: int) -> list[Any]:
    return list(claim_get(claim_id, user=_user(request)).documents.all())


@router.post("/{int:claim_id}/documents", response={201: DocumentOut, **ERRORS}, summary="Upload a document")
def upload_document(
    request: HttpRequest, claim_id: int, doc_type: Form[DocumentType], file: File[UploadedFile]
) -> Status[Any]:
    """PDF, JPEG, PNG, WebP, HEIC or TIFF, judged from the file's bytes; size limited."""
    if file.file is None:
        raise ValidationFailed({"file": _("Attach a file.")})
    doc = services.document_upload(
        actor=_user(request),
        claim_id=claim_id,
        doc_type=doc_type.value,
        stream=file.file,
        original_name=file.name or "document",
        size=file.size,
    )
    return Status(201, doc)


@router.get(
    "/{int:claim_id}/documents/{int:document_id}", response={200: None, **ERRORS}, summary="Download a document"
)
def download_document(request: HttpRequest, claim_id: int, document_id: int) -> FileResponse:
    claim = claim_get(claim_id, user=_user(request))
    doc = document_get(claim, document_id)
    try:
        handle = doc.file.open("rb")
    except FileNotFoundError as exc:
        raise NotFound(_("The file is missing from storage; tell the operations team.")) from exc
    response = FileResponse(handle, as_attachment=True, filename=doc.original_name, content_type=doc.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
