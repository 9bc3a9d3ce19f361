"""The investigation case page (SIU, issue 6 item 5): what a user may do on a case now, each a form
and one call to the audited service in fraud.investigations, following the claim page's action
pattern (offered only when allowed; a refusal comes back to the form with its reason and changes
nothing). The case has no version: assigning carries the assignee the form was shown with and is
refused when someone reassigned meanwhile; everything else is an addition or refused by the service
once done (a task done twice, a case closed twice)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claimwise.accounts.choices import Role
from claimwise.accounts.models import User
from claimwise.core.errors import DomainError, ErrorCode
from claimwise.fraud import investigations as inv
from claimwise.fraud.choices import CaseOutcome, CaseStatus
from claimwise.fraud.models import InvestigationCase

# Who may be given a case: the people who investigate (not auditors or administrators).
INVESTIGATOR_ROLES = (Role.SUPERVISOR, Role.COMPLIANCE, Role.HANDLER, Role.REVIEWER)


class CaseForm(forms.Form):
    """Every form on the case page knows its case and user; its ids are its own (several forms on
    one page have a "text" field)."""

    key = ""

    def __init__(self, *args: Any, case: InvestigationCase, user: User, **kwargs: Any) -> None:
        self.case, self.user = case, user
        kwargs.setdefault("auto_id", f"id_{self.key}_%s")
        super().__init__(*args, **kwargs)


def investigator_choices(case: InvestigationCase) -> list[tuple[Any, Any]]:
    """Who may work the case: investigators of the claim's branch or of head office."""
    branch = case.claim.branch_id
    people = User.objects.filter(role__in=INVESTIGATOR_ROLES, is_active=True).order_by("role", "username")
    if branch is not None:  # the claim's branch or head office, as for claim handlers
        people = people.filter(Q(branch_id=branch) | Q(branch__isnull=True))
    choices: list[tuple[Any, Any]] = [("", gettext_lazy("Nobody (unassigned)"))]
    for user in people:
        name = user.get_full_name() or user.get_username()
        choices.append((user.pk, f"{name} · {user.get_role_display()}"))
    return choices


class TaskForm(CaseForm):
    key = "task"
    text = forms.CharField(label=gettext_lazy("Task"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    assignee = forms.TypedChoiceField(
        label=gettext_lazy("Who (optional)"), required=False, coerce=int, empty_value=None
    )
    due = forms.DateField(
        label=gettext_lazy("Due (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = investigator_choices(self.case)  # type: ignore[attr-defined]


class DoneForm(CaseForm):
    key = "done"
    task = forms.IntegerField(widget=forms.HiddenInput)


class NoteForm(CaseForm):
    key = "note"
    text = forms.CharField(
        label=gettext_lazy("Note"), max_length=inv.MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )


class AssignForm(CaseForm):
    key = "assign"
    assignee = forms.TypedChoiceField(label=gettext_lazy("Investigator"), required=False, coerce=int, empty_value=None)
    current = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("current", str(self.case.assignee_id or ""))
        self.initial.setdefault("assignee", self.case.assignee_id or "")
        self.fields["assignee"].choices = investigator_choices(self.case)  # type: ignore[attr-defined]


class CloseForm(CaseForm):
    key = "close"
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=CaseOutcome.choices, widget=forms.RadioSelect)
    amount_saved = forms.DecimalField(
        label=gettext_lazy("Amount saved"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=gettext_lazy("Only when fraud is confirmed: what the insurer did not pay because of it."),
    )
    note = forms.CharField(
        label=gettext_lazy("What the investigation found"),
        max_length=inv.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        saved = data.get("amount_saved")
        if data.get("outcome") and data["outcome"] != CaseOutcome.CONFIRMED_FRAUD and saved:
            self.add_error("amount_saved", _("An amount is saved only when fraud is confirmed."))
        return data


Run = Callable[[User, InvestigationCase, Any], object]


@dataclass(frozen=True)
class CaseAction:
    key: str
    label: Any
    form: type[CaseForm]
    run: Run
    tone: str = "primary"


class StaleCase(DomainError):
    code = ErrorCode.CONFLICT


def _task(user: User, case: InvestigationCase, form: Any) -> object:
    due = form.cleaned_data.get("due")
    # The end of the chosen day, shown as that day (not the next midnight).
    at = timezone.make_aware(dt.datetime.combine(due, dt.time(23, 59, 59))) if due is not None else None
    return inv.case_task_add(
        actor=user,
        case_id=case.pk,
        text=form.cleaned_data["text"],
        assignee_id=form.cleaned_data.get("assignee"),
        due_at=at,
    )


def _done(user: User, case: InvestigationCase, form: Any) -> object:
    if not case.tasks.filter(pk=form.cleaned_data["task"]).exists():
        raise DomainError(_("This task is not on the case."), code=ErrorCode.NOT_FOUND)
    return inv.case_task_done(actor=user, task_id=form.cleaned_data["task"])


def _note(user: User, case: InvestigationCase, form: Any) -> object:
    return inv.case_note_add(actor=user, case_id=case.pk, text=form.cleaned_data["text"])


def _assign(user: User, case: InvestigationCase, form: Any) -> object:
    current = InvestigationCase.objects.select_for_update().filter(pk=case.pk).values_list("assignee_id", flat=True)
    if str(current.first() or "") != (form.cleaned_data.get("current") or ""):
        raise StaleCase(
            _("Someone reassigned this case after you opened it. Reload the page to see the change, then try again.")
        )
    return inv.case_assign(actor=user, case_id=case.pk, assignee_id=form.cleaned_data.get("assignee"))


def _close(user: User, case: InvestigationCase, form: Any) -> object:
    data = form.cleaned_data
    return inv.case_close(
        actor=user, case_id=case.pk, outcome=data["outcome"], note=data["note"], amount_saved=data.get("amount_saved")
    )


ACTIONS: dict[str, CaseAction] = {
    a.key: a
    for a in [
        CaseAction("task", gettext_lazy("Add task"), TaskForm, _task, "plain"),
        CaseAction("done", gettext_lazy("Mark done"), DoneForm, _done, "plain"),
        CaseAction("note", gettext_lazy("Add note"), NoteForm, _note, "plain"),
        CaseAction("assign", gettext_lazy("Assign"), AssignForm, _assign, "plain"),
        CaseAction("close", gettext_lazy("Close the investigation"), CloseForm, _close),
    ]
}


def offered(user: User, case: InvestigationCase) -> list[CaseAction]:
    """What this user may do on the case now (the same rules as the services: SIU roles assign and
    close; they and the case's investigator add tasks and notes; tasks and assignment while open)."""
    siu = user.role in inv.SIU_ROLES
    worker = siu or user.pk == case.assignee_id
    is_open = case.status == CaseStatus.OPEN
    keys = []
    if is_open and worker:
        keys.append("task")
    if is_open and (worker or any(t.assignee_id == user.pk for t in case.tasks.all())):
        keys.append("done")
    if worker:
        keys.append("note")
    if is_open and siu:
        keys += ["assign", "close"]
    return [ACTIONS[k] for k in keys]


def may_mark_done(user: User, case: InvestigationCase, task: Any) -> bool:
    return user.role in inv.SIU_ROLES or user.pk in (case.assignee_id, task.assignee_id)


def perform(action: CaseAction, user: User, case: InvestigationCase, form: CaseForm) -> None:
    """Run the action; on any DomainError nothing is written."""
    with transaction.atomic():
        action.run(user, case, form)
