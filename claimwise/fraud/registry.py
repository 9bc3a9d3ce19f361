"""The model registry (issue 6, item 2): every trained model with its version, the SHA-256 of its
training data, its features, validation metrics, who trained it and when.

A new model becomes active only if it beats the active model of the same scope on the same
validation data; otherwise it is kept as a candidate, with the comparison recorded. Models are JSON
artifacts written by `fraud.learn` (no pickle) and are loaded only when their SHA-256 still matches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from claimwise.accounts.models import User
from claimwise.core.audit import audit_record, snapshot
from claimwise.core.errors import DomainError, ErrorCode
from claimwise.fraud.choices import ModelScope, ModelStatus
from claimwise.fraud.learn import TabularModel
from claimwise.fraud.models import FraudModel

PRIMARY_METRIC = "roc_auc"
ARTIFACT_FIELDS = ("artifact",)


@dataclass(frozen=True)
class Registered:
    model: FraudModel
    promoted: bool
    comparison: dict[str, Any]


def validation_key(metrics: dict[str, Any]) -> str:
    """What makes two validations comparable: the data, the columns and the folds."""
    v = metrics.get("validation") or {}
    return f"{v.get('data')}:{v.get('columns')}:{v.get('k')}:{v.get('seed')}"


@transaction.atomic
def model_register(
    *,
    actor: User | None,
    model: TabularModel,
    scope: str,
    name: str,
    data_fingerprint: str,
    rows: int,
    label: str,
    columns: dict[str, Any],
    metrics: dict[str, Any],
    evaluate_active: Callable[[TabularModel], dict[str, float] | None] | None = None,
) -> Registered:
    """Store a trained model; activate it only when it is better than the active one of its scope on
    the same validation data. `evaluate_active` scores the active model on the candidate's
    validation data when the two were not validated on the same data (None: not comparable)."""
    if scope not in ModelScope.values:
        raise DomainError(_("Unknown model scope."), code=ErrorCode.VALIDATION)
    blob = model.dumps()
    now = timezone.now()
    # Versions are numbered in the order of registration; the lock keeps two registrations apart.
    active = FraudModel.objects.select_for_update().filter(scope=scope, status=ModelStatus.ACTIVE).first()
    version = (FraudModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    comparison: dict[str, Any] = {"metric": PRIMARY_METRIC, "candidate": metrics.get("mean", {}).get(PRIMARY_METRIC)}
    promoted = False
    if active is None:
        promoted = True
        comparison["reason"] = "no_active_model"
    else:
        comparison["active_version"] = active.version
        if validation_key(active.metrics) == validation_key(metrics):
            comparison["active"] = active.metrics.get("mean", {}).get(PRIMARY_METRIC)
            comparison["on"] = "same_validation"
        elif evaluate_active is not None:
            try:
                scored = evaluate_active(model_load(active))
            except (KeyError, ValueError):
                scored = None  # the active model cannot read this data (other columns)
            comparison["active"] = None if scored is None else scored.get(PRIMARY_METRIC)
            # The active model may have been trained on some of these rows: the comparison then
            # favours it, never the candidate.
            comparison["on"] = "candidate_validation_data"
        else:
            comparison["active"] = None
        if comparison.get("active") is None:
            comparison["reason"] = "not_comparable"
        elif comparison["candidate"] is not None and comparison["candidate"] > comparison["active"]:
            promoted = True
            comparison["reason"] = "better"
        else:
            comparison["reason"] = "not_better"
    row = FraudModel.objects.create(
        version=version,
        scope=scope,
        name=name[:200],
        status=ModelStatus.ACTIVE if promoted else ModelStatus.CANDIDATE,
        data_fingerprint=data_fingerprint,
        rows=rows,
        label=label,
        features=model.features,
        columns=columns,
        metrics=metrics,
        comparison=comparison,
        artifact=blob,
        artifact_sha256=hashlib.sha256(blob).hexdigest(),
        trained_by=actor,
        trained_at=now,
        activated_at=now if promoted else None,
    )
    transaction.on_commit(active_changed)
    if promoted and active is not None:
        before = snapshot(active, exclude_artifact(active))
        active.status = ModelStatus.RETIRED
        active.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="fraud.model_retire",
            obj=active,
            before=before,
            after=snapshot(active, exclude_artifact(active)),
        )
    audit_record(actor=actor, action="fraud.model_register", obj=row, after=snapshot(row, exclude_artifact(row)))
    return Registered(row, promoted, comparison)


def exclude_artifact(row: FraudModel) -> list[str]:
    """The fields of a model row worth auditing (the artifact is recorded by its hash)."""
    return [f.name for f in row._meta.concrete_fields if f.name not in ARTIFACT_FIELDS]


@transaction.atomic
def model_activate(*, actor: User | None, model_id: int) -> FraudModel:
    """Make a candidate or retired model the active one of its scope by hand (a rollback)."""
    row = FraudModel.objects.select_for_update().get(pk=model_id)
    for other in FraudModel.objects.select_for_update().filter(scope=row.scope, status=ModelStatus.ACTIVE):
        if other.pk != row.pk:
            other.status = ModelStatus.RETIRED
            other.save(update_fields=["status"])
            audit_record(actor=actor, action="fraud.model_retire", obj=other, after={"status": other.status})
    before = snapshot(row, exclude_artifact(row))
    row.status, row.activated_at = ModelStatus.ACTIVE, timezone.now()
    row.save(update_fields=["status", "activated_at"])
    transaction.on_commit(active_changed)
    audit_record(
        actor=actor, action="fraud.model_activate", obj=row, before=before, after=snapshot(row, exclude_artifact(row))
    )
    return row


def model_load(row: FraudModel) -> TabularModel:
    """The model of a registry row; refused when the stored bytes no longer match their hash."""
    return _load(bytes(row.artifact), row.artifact_sha256)


@lru_cache(maxsize=8)
def _load(blob: bytes, sha256: str) -> TabularModel:
    if hashlib.sha256(blob).hexdigest() != sha256:
        raise DomainError(_("The stored model does not match its recorded hash; it was not loaded."))
    return TabularModel.loads(blob)


def active_model(scope: str = ModelScope.PLATFORM) -> FraudModel | None:
    return FraudModel.objects.filter(scope=scope, status=ModelStatus.ACTIVE).defer("artifact").first()


_ACTIVE: list[tuple[float, tuple[FraudModel, TabularModel] | None]] = []
ACTIVE_TTL = 30.0


def _active_platform() -> tuple[FraudModel, TabularModel] | None:
    """The active platform model, loaded, kept in memory for at most ACTIVE_TTL seconds."""
    import time

    now = time.monotonic()
    if _ACTIVE and now - _ACTIVE[0][0] < ACTIVE_TTL:
        return _ACTIVE[0][1]
    row = FraudModel.objects.filter(scope=ModelScope.PLATFORM, status=ModelStatus.ACTIVE).first()
    loaded = None if row is None else (row, model_load(row))
    _ACTIVE[:] = [(now, loaded)]
    return loaded


def active_changed() -> None:
    _ACTIVE.clear()
