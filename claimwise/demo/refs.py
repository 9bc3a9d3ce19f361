"""What the demo data builder works with: the reference rows already in the database (a directory
loaded once per run) and the drafts of the rows it plans (customers, policies, claims)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from claimwise.demo.data import BranchSpec, City
from claimwise.demo.products import ProductSpec
from claimwise.demo.story import DecisionDraft, DocDraft, EventDraft, PaymentDraft, cumulative

# --- the directory of reference rows ---------------------------------------------------------------


@dataclass(frozen=True)
class CoverageRef:
    id: int
    code: str
    limit: Decimal
    deductible: Decimal
    loss_types: tuple[str, ...]


@dataclass(frozen=True)
class ProductRef:
    id: int
    code: str
    line: str
    spec: ProductSpec
    coverages: tuple[CoverageRef, ...]  # in code order, as the services pick them
    loss_types: tuple[str, ...] = ()
    loss_cum: tuple[float, ...] = ()

    @classmethod
    def make(cls, pk: int, code: str, line: str, spec: ProductSpec, coverages: tuple[CoverageRef, ...]) -> ProductRef:
        return cls(
            pk, code, line, spec, coverages, tuple(spec.loss_weights), cumulative(list(spec.loss_weights.values()))
        )

    def coverage_for(self, loss_type: str) -> CoverageRef | None:
        return next((c for c in self.coverages if loss_type in c.loss_types), None)


@dataclass
class TeamRef:
    id: int
    handlers: list[int]
    weights: list[float]


@dataclass
class BranchRef:
    spec: BranchSpec
    id: int
    teams: dict[str, TeamRef]
    reviewers: list[int]
    supervisors: list[int]


@dataclass(frozen=True)
class PartnerRef:
    id: int
    name: str
    weight: float


@dataclass
class Directory:
    branches: dict[str, BranchRef]
    products: dict[str, list[ProductRef]]  # by line
    partners: dict[tuple[str, str], list[PartnerRef]]  # (branch code, kind)
    assessors: list[PartnerRef]
    demo_partner: int | None = None
    product_cum: dict[str, tuple[float, ...]] = field(default_factory=dict)
    partner_cum: dict[tuple[str, str], tuple[float, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.product_cum = {line: cumulative([p.spec.weight for p in ps]) for line, ps in self.products.items()}
        self.partner_cum = {key: cumulative([p.weight for p in ps]) for key, ps in self.partners.items()}


# --- drafts -----------------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class PartyDraft:
    name: str
    id_number: str
    id_hash: str
    gender: str
    birth_date: dt.date
    phone: str
    email: str
    address: str
    branch: BranchSpec
    city: City
    id: int | None = None
    user_id: int | None = None
    anchors: dict[str, int] = field(default_factory=dict)  # product code -> policy year start (day offset)
    policies: dict[tuple[str, dt.datetime], PolicyDraft] = field(default_factory=dict)
    car: tuple[str, str, str, Decimal] | None = None  # plate, VIN, model, value


@dataclass(slots=True, eq=False)
class PolicyDraft:
    product: ProductRef
    holder: PartyDraft
    branch_id: int
    effective_from: dt.datetime
    effective_to: dt.datetime
    status: str
    sum_insured: Decimal
    premium: Decimal
    vehicle: tuple[str, str, str] = ("", "", "")
    id: int | None = None


@dataclass(slots=True, eq=False)
class ClaimDraft:
    fields: dict[str, Any]
    policy: PolicyDraft
    claimant: PartyDraft
    coverage: CoverageRef | None
    events: list[EventDraft]
    decisions: list[DecisionDraft]
    payments: list[PaymentDraft]
    documents: list[DocDraft]
    shares: list[tuple[int, int | None, dt.datetime]]  # partner, shared by, when
    bank: tuple[str, str]
    id: int | None = None
    number: str = ""
