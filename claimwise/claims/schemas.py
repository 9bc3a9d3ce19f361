"""API shapes for claims. Inputs forbid unknown fields; outputs never carry a raw identifier."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field

from claimwise.claims.choices import Channel, DocumentsJustification, DocumentType, LossType, ReasonCode

Amount = Annotated[Decimal, Field(gt=0, le=Decimal("9999999999999"), decimal_places=2)]
Note = Annotated[str, Field(max_length=4000)]


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class PayeeIn(In):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    bank_name: Annotated[str, Field(max_length=100)] = ""
    account: Annotated[str, Field(min_length=12, max_length=40)]


class PayeeOut(Schema):
    name: str
    bank_name: str
    account_masked: str


class ClaimSubmitIn(In):
    policy_number: Annotated[str, Field(min_length=1, max_length=40)]
    incident_at: dt.datetime = Field(description="When it happened; without an offset, China time is assumed.")
    incident_place: Annotated[str, Field(min_length=1, max_length=300)]
    loss_type: LossType
    claimed_amount: Amount
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None
    description: Annotated[str, Field(max_length=4000)] = ""
    channel: Channel | None = None
    insured_id_number: Annotated[str, Field(max_length=18)] | None = Field(
        None, description="Partners only: the insured person's resident ID number, to prove the relationship."
    )
    payee: PayeeIn | None = Field(
        None, description="Where to pay an approved claim; lets a simple claim be paid without a call."
    )


class NoteIn(In):
    note: Note = ""


class ReasonIn(In):
    note: Annotated[str, Field(min_length=1, max_length=4000)]


class DocumentsRequestIn(In):
    items: Annotated[list[DocumentType], Field(min_length=1, max_length=30)]
    note: Note = ""
    justification: DocumentsJustification | None = None


class SubmitForApprovalIn(In):
    assessed_amount: Amount
    note: Note = ""


class ApproveIn(In):
    amount: Amount | None = None
    note: Note = ""


class ApprovePartialIn(In):
    amount: Amount
    reason_codes: Annotated[list[ReasonCode], Field(min_length=1, max_length=10)]
    note: Note = ""


class DenyIn(In):
    reason_codes: Annotated[list[ReasonCode], Field(min_length=1, max_length=10)]
    note: Annotated[str, Field(min_length=1, max_length=4000)]


class PaymentIn(In):
    payee_name: Annotated[str, Field(min_length=1, max_length=100)]
    bank_account: Annotated[str, Field(min_length=12, max_length=40)]
    bank_name: Annotated[str, Field(max_length=100)] = ""
    note: Note = ""


class ConfirmPaymentIn(In):
    reference: Annotated[str, Field(max_length=64)] = ""
    note: Note = ""


class AssignIn(In):
    handler_id: int | None
    team_id: int | None = None
    note: Note = ""


class ShareIn(In):
    partner_code: Annotated[str, Field(min_length=1, max_length=30)]
    note: Note = ""


class PartyOut(Schema):
    name: str
    id_number_masked: str
    phone_masked: str


class DecisionOut(Schema):
    id: int
    outcome: str
    amount: Decimal
    currency: str
    reason_codes: list[str]
    note: str
    decided_at: dt.datetime
    notice_sent_at: dt.datetime | None


class PaymentOut(Schema):
    id: int
    payee_name: str
    bank_name: str
    bank_account_masked: str
    amount: Decimal
    currency: str
    status: str
    reference: str
    requested_at: dt.datetime
    paid_at: dt.datetime | None


class ClaimOut(Schema):
    id: int
    number: str
    status: str
    status_label: str
    policy_number: str
    product: str
    line: str
    claimant: PartyOut
    incident_at: dt.datetime
    incident_place: str
    reported_at: dt.datetime
    channel: str
    loss_type: str
    description: str
    currency: str
    claimed_amount: Decimal
    reserve: Decimal | None
    assessed_amount: Decimal | None
    approved_amount: Decimal | None
    paid_amount: Decimal
    priority: str
    complexity: str
    late_report: bool
    limitation_date: dt.date
    handler: str | None
    team: str | None
    documents_requests: int
    payee: PayeeOut | None
    version: int
    allowed_actions: list[str]
    status_changed_at: dt.datetime


class ClaimDetailOut(ClaimOut):
    decisions: list[DecisionOut]
    payments: list[PaymentOut]


class ClaimPageOut(Schema):
    items: list[ClaimOut]
    count: int
    page: int
    page_size: int


class EventOut(Schema):
    id: int
    kind: str
    at: dt.datetime
    actor: str | None
    from_status: str
    to_status: str
    note: str
    data: dict


class DocumentOut(Schema):
    id: int
    doc_type: str
    original_name: str
    size: int
    content_type: str
    sha256: str
    uploaded_at: dt.datetime


class IdentityOut(Schema):
    name: str
    id_number: str
    phone: str
