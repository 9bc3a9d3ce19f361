"""Staff workbench pages (server-rendered, htmx for partial refresh). Reads through selectors, writes
through the audited services; every page is for staff roles only."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from claimwise.accounts.models import User
from claimwise.claims.models import Claim
from claimwise.core.errors import DomainError, NotFound, ValidationFailed
from claimwise.core.forms import show_errors
from claimwise.core.htmx import page_redirect
from claimwise.workbench import actions, forms, selectors, services, supervision
from claimwise.workbench.forms import QueueFilterForm, SavedViewForm, SignInForm, TokenForm

PENDING = "workbench_pending_2fa"  # user id and time between the password and the code
PENDING_SECONDS = 300
CHECKED = "workbench_2fa_checked"


def staff_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in staff only; a user with an authenticator must have given a code in this session
    (someone signed in through the back office without one is asked to sign in here again)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        ok = selectors.is_staff(user)
        if ok and not request.session.get(CHECKED):
            ok = user.is_verified() or selectors.confirmed_totp_device(user) is None  # type: ignore[union-attr,arg-type]
            request.session[CHECKED] = ok
        if not ok:
            if user.is_authenticated:
                logout(request)
            if getattr(request, "htmx", False):
                return page_redirect(request, reverse("workbench:login"))
            return redirect_to_login(request.get_full_path(), reverse("workbench:login"))
        answer = view(request, *args, **kwargs)
        add_never_cache_headers(answer)  # personal data: never from a shared cache or the back button
        return answer

    return wrapper


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("workbench:queue")


def _locked_message() -> str:
    from django.conf import settings

    return _("Too many failed attempts. Sign-in is locked for %(minutes)d minutes.") % {
        "minutes": settings.WORKBENCH_LOCKOUT_MINUTES
    }


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if selectors.is_staff(request.user) and request.session.get(CHECKED):
        return redirect(_next_url(request))
    form = SignInForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        if selectors.lockout_until(username):
            error, status = _locked_message(), 429
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                # The same answer whether the username exists or not (no user enumeration).
                throttle = services.sign_in_failed(username=username)
                if throttle.locked_until:
                    error, status = _locked_message(), 429
                else:
                    error, status = _("The username or password is not correct."), 401
            elif not selectors.is_staff(user):
                error = _("This sign-in is for staff. Customers and partners use the customer portal or the API.")
                status = 403
            elif selectors.confirmed_totp_device(user) is not None:  # type: ignore[arg-type]
                request.session[PENDING] = {"user": user.pk, "at": time.time(), "backend": user.backend}  # type: ignore[attr-defined]
                query = urlencode({"next": _next_url(request)})
                return redirect(f"{reverse('workbench:verify')}?{query}")
            else:
                login(request, user)
                request.session[CHECKED] = True
                services.sign_in_succeeded(user=user, method="password")  # type: ignore[arg-type]
                return redirect(_next_url(request))
    return render(
        request, "workbench/sign_in.html", {"form": form, "error": error, "next": _next_url(request)}, status=status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.info(request, _("Sign in again: the time for the code ran out."))
        return redirect("workbench:login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    device = selectors.confirmed_totp_device(user) if user is not None else None
    if user is None or device is None:
        request.session.pop(PENDING, None)
        return redirect("workbench:login")
    form = TokenForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        if selectors.lockout_until(user.get_username()):
            error = _locked_message()
        elif device.verify_token(form.cleaned_data["token"].strip()):
            request.session.pop(PENDING, None)
            login(request, user, backend=pending["backend"])
            otp_login(request, device)
            request.session[CHECKED] = True
            services.sign_in_succeeded(user=user, method="password+totp")
            return redirect(_next_url(request))
        else:
            throttle = services.sign_in_failed(username=user.get_username())
            if throttle.locked_until:
                request.session.pop(PENDING, None)
                error = _locked_message()
            else:
                error = _("The code is not valid. Enter the current 6-digit code.")
    return render(request, "workbench/verify.html", {"form": form, "error": error, "next": _next_url(request)})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.sign_out(user=request.user)  # type: ignore[arg-type]
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("workbench:login")


@staff_view
def queue(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    tabs = selectors.queue_tabs(user)
    teams = selectors.team_choices(user) if "team" in tabs else []
    form = QueueFilterForm(request.GET or None, teams=teams, tabs=tabs)
    filters = form.filters()
    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        number = 1
    page = selectors.queue_page(user, filters, number)
    params = filters.as_params()
    context = {
        "form": form,
        "filters": filters,
        "tabs": tabs,
        "page": page,
        "params": params,
        "query": urlencode(params),
        "tab_links": [(t, urlencode({**params, "tab": t, "team": ""} if t != filters.tab else params)) for t in tabs],
        "saved": [(v, urlencode(v.params)) for v in selectors.saved_views(user)],
        "alerts": selectors.alerts_for(user),
        "view_form": SavedViewForm(),
    }
    if getattr(request, "htmx", False) and request.htmx.target == "results":  # type: ignore[attr-defined]
        return render(request, "workbench/_results.html", context)
    return render(request, "workbench/queue.html", context)


@staff_view
@require_POST
def view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    params = {k: request.POST.get(k, "") for k in services.SAVED_VIEW_KEYS}
    if form.is_valid():
        try:
            services.saved_view_save(actor=request.user, name=form.cleaned_data["name"], params=params)  # type: ignore[arg-type]
            messages.success(request, _("View “%(name)s” saved.") % {"name": form.cleaned_data["name"]})
        except ValidationFailed as exc:
            messages.error(request, "; ".join(d["message"] for d in exc.detail))
    else:
        messages.error(request, _("Give the view a name."))
    clean = {k: v for k, v in params.items() if v}
    return redirect(f"{reverse('workbench:queue')}?{urlencode(clean)}")


@staff_view
@require_POST
def view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    try:
        services.saved_view_delete(actor=request.user, view_id=view_id)  # type: ignore[arg-type]
        messages.success(request, _("View deleted."))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("workbench:queue")


def _qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


@staff_view
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app (TOTP): start, scan the QR code or type the secret, confirm with a code."""
    user: User = request.user  # type: ignore[assignment]
    form = TokenForm(request.POST if request.POST.get("action") == "confirm" else None)
    if request.method == "POST":
        if request.POST.get("action") == "start" and selectors.confirmed_totp_device(user) is None:
            services.totp_device_start(actor=user)
            return redirect("workbench:two_factor")
        if request.POST.get("action") == "confirm" and form.is_valid():
            try:
                device = services.totp_device_confirm(actor=user, token=form.cleaned_data["token"])
            except ValidationFailed as exc:
                form.add_error("token", exc.detail[0]["message"])
            except DomainError:
                return redirect("workbench:two_factor")
            else:
                otp_login(request, device)
                messages.success(request, _("Two-step sign-in is on. You will be asked for a code at each sign-in."))
                return redirect("workbench:queue")
    confirmed = selectors.confirmed_totp_device(user)
    pending = None if confirmed else selectors.unconfirmed_totp_device(user)
    context: dict[str, Any] = {"confirmed": confirmed, "pending": pending, "form": form, "now": timezone.now()}
    if pending is not None:
        context["qr_svg"] = mark_safe(_qr_svg(pending.config_url))  # noqa: S308 - our own generated SVG
        context["secret"] = base64.b32encode(pending.bin_key).decode().rstrip("=")
    return render(request, "workbench/two_factor.html", context)


@staff_view
def team_overview(request: HttpRequest) -> HttpResponse:
    """The supervisor's view (R3): backlog per step and team, claims at risk, each handler's
    workload and closures over two weeks; every number links to the claims behind it."""
    user: User = request.user  # type: ignore[assignment]
    if user.role not in selectors.TEAM_QUEUE_ROLES:
        raise PermissionDenied
    return render(request, "workbench/team.html", supervision.overview(user, days=14))


@staff_view
def investigations(request: HttpRequest) -> HttpResponse:
    """The SIU queue: open investigations in the user's scope, the earliest due first. The claims
    keep moving meanwhile: an investigation never pauses a statutory clock."""
    from claimwise.fraud.selectors import case_queue

    user: User = request.user  # type: ignore[assignment]
    context = {"cases": list(case_queue(user=user)[:200]), "now": timezone.now()}
    return render(request, "workbench/investigations.html", context)


def _case_context(request: HttpRequest, case_id: int) -> dict[str, Any]:
    from claimwise.core.errors import PermissionDenied as Refused
    from claimwise.fraud.selectors import case_get
    from claimwise.workbench import cases

    user: User = request.user  # type: ignore[assignment]
    try:
        case = case_get(case_id, user=user)
    except NotFound:
        raise Http404 from None
    except Refused:
        raise PermissionDenied from None
    risk = selectors.risk_view(case.claim)
    offered = cases.offered(user, case)
    forms_ = {a.key: (a, a.form(case=case, user=user)) for a in offered if a.key != "done"}
    done = cases.ACTIONS["done"] if any(a.key == "done" for a in offered) else None
    tasks = [
        (
            t,
            cases.DoneForm(case=case, user=user, initial={"task": t.pk}, auto_id=f"id_done{t.pk}_%s")
            if done and cases.may_mark_done(user, case, t) and t.done_at is None
            else None,
        )
        for t in case.tasks.all()
    ]
    return {
        "case": case,
        "claim": case.claim,
        "risk": risk,
        "links": selectors.neighbourhood(user, case.claim, risk["rings"] if risk else []),
        "offered": offered,
        "forms": forms_,
        "tasks": tasks,
        "done_action": done,
        "notes": list(case.notes.all()),
        "now": timezone.now(),
    }


def _case_page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, "workbench/case.html", context, status=status)


@staff_view
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """An investigation case (SIU): the claim, the score at opening and the current reasons, the
    neighbourhood picture, tasks, notes, assignment and closing with an outcome. The claim's own
    statutory clocks keep running whatever happens here."""
    return _case_page(request, _case_context(request, case_id))


@staff_view
@require_http_methods(["GET", "POST"])
def case_action(request: HttpRequest, case_id: int, key: str) -> HttpResponse:
    """One case form (GET, for htmx) and its submission, as on the claim page: success reloads the
    case page with a message; a refusal re-renders the form with the reason in place (422)."""
    from claimwise.workbench import cases

    context = _case_context(request, case_id)
    case = context["case"]
    action = next((a for a in context["offered"] if a.key == key), None)
    url = reverse("workbench:case", args=[case.pk])
    if action is None:
        messages.error(request, _("This action is not available on the case now."))
        return page_redirect(request, url)
    user: User = request.user  # type: ignore[assignment]
    data = request.POST if request.method == "POST" else None
    task = request.POST.get("task") if key == "done" else None
    ids = {"auto_id": f"id_done{task}_%s"} if task and task.isdigit() else {}
    form = action.form(data, case=case, user=user, **ids)
    if request.method == "POST" and form.is_valid():
        try:
            cases.perform(action, user, case, form)
        except DomainError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": action.label})
            return _reload(request, url + {"task": "#tasks", "done": "#tasks", "note": "#notes"}.get(key, ""))
    status = 422 if request.method == "POST" else 200
    if getattr(request, "htmx", False):
        fragment = {"case": case, "action": action, "form": form, "task_id": task}
        return render(request, "workbench/_case_form.html", fragment, status=status)
    if key == "done":
        context["tasks"] = [(t, form if str(t.pk) == str(task) else f) for t, f in context["tasks"]]
    else:
        context["forms"] = {**context["forms"], key: (action, form)}
    return _case_page(request, context, status)


@staff_view
def warnings(request: HttpRequest) -> HttpResponse:
    """Early warning (T2, T7): alerts above their control limits with their 57-day chart and the
    claims behind them; the suspicious first, those a declared catastrophe explains marked."""
    user: User = request.user  # type: ignore[assignment]
    if user.role not in selectors.WARNING_ROLES:
        raise PermissionDenied
    form = forms.WarningFilterForm(request.GET or None)
    measure, dimension = form.filters()
    context = {"form": form, "alerts": selectors.warning_alerts(user, measure=measure, dimension=dimension)}
    return render(request, "workbench/warnings.html", context)


@staff_view
def customer(request: HttpRequest, customer_id: int) -> HttpResponse:
    """Customer 360 (T1): the claimant's policies, claims, payments and what they were told."""
    from claimwise.workbench.customer import customer_360

    try:
        view = customer_360(user=request.user, customer_id=customer_id)  # type: ignore[arg-type]
    except NotFound:
        raise Http404 from None
    return render(request, "workbench/customer.html", {"view": view})


def _claim_context(request: HttpRequest, claim_id: int) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    try:
        context = selectors.claim_page(user, claim_id)
    except NotFound:
        raise Http404 from None
    context["actions"] = actions.offered(
        user, context["claim"], authority=context["authority"], open_checks=context["open_checks"]
    )
    # Messages and notes are written in their own cards, not in the action panel.
    context["inline"] = {
        a.key: (a, _action_form(request, a, context["claim"])) for a in context["actions"] if a.key in INLINE
    }
    return context


INLINE = ("message", "note")


def _with_form(context: dict[str, Any], action: actions.PageAction, form: forms.ClaimActionForm) -> dict[str, Any]:
    if action.key in INLINE:
        return {**context, "inline": {**context["inline"], action.key: (action, form)}}
    return {**context, "action": action, "form": form}


def _action_form(
    request: HttpRequest, action: actions.PageAction, claim: Claim, *, bound: bool = False
) -> forms.ClaimActionForm:
    data = (request.POST, request.FILES) if bound else ()
    return action.form(*data, claim=claim, user=request.user)  # type: ignore[arg-type]


@staff_view
def claim_page(request: HttpRequest, claim_id: int) -> HttpResponse:
    """The claim page: everything a handler reads before acting (summary with the remaining limit,
    process map, deadlines, materials and step checklists, documents with preview, messages, notes,
    the timeline, the approval authority) and the actions this user may take now. `?act=` opens one
    action's form in the page (the same form htmx loads in place)."""
    context = _claim_context(request, claim_id)
    chosen = next((a for a in context["actions"] if a.key == request.GET.get("act")), None)
    if chosen is not None:
        context = _with_form(context, chosen, _action_form(request, chosen, context["claim"]))
    return render(request, "workbench/claim.html", context)


@staff_view
@require_http_methods(["GET", "POST"])
def claim_action(request: HttpRequest, claim_id: int, key: str) -> HttpResponse:
    """One action's form (GET, for htmx) and its submission. Success reloads the claim page with a
    message; a refusal re-renders the form with the reason in place (422) and changes nothing."""
    context = _claim_context(request, claim_id)
    claim = context["claim"]
    action = next((a for a in context["actions"] if a.key == key), None)
    htmx = bool(getattr(request, "htmx", False))
    if action is None:
        # Not offered (any more): the claim moved on, or this user may not do it.
        messages.error(request, _("This action is not available on the claim now."))
        return _to_claim(request, claim)
    form = _action_form(request, action, claim, bound=request.method == "POST")
    if request.method == "POST" and form.is_valid():
        try:
            actions.perform(action, request.user, claim, form)  # type: ignore[arg-type]
        except DomainError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Done: %(action)s.") % {"action": action.label})
            return _to_claim(request, claim, anchor={"message": "#messages", "note": "#notes"}.get(key, ""))
    status = 422 if request.method == "POST" else 200
    if htmx:
        fragment = {**context, "action": action, "form": form, "inline": action.key in INLINE}
        return render(request, "workbench/_action_form.html", fragment, status=status)
    return render(request, "workbench/claim.html", _with_form(context, action, form), status=status)


def _to_claim(request: HttpRequest, claim: Claim, anchor: str = "") -> HttpResponse:
    return _reload(request, reverse("workbench:claim", args=[claim.pk]) + anchor)


def _reload(request: HttpRequest, url: str) -> HttpResponse:
    """page_redirect, and for htmx also a reload: going from a page to the same page plus an anchor
    only scrolls the browser, so the change just made would not show."""
    answer = page_redirect(request, url)
    if "#" in url and getattr(request, "htmx", False):
        answer["HX-Refresh"] = "true"
    return answer


@staff_view
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """A claim reported by phone or at the counter, through the same service as every channel."""
    from claimwise.claims.fnol import SUBMIT_ROLES, Payee, claim_submit, normalise_account

    user: User = request.user  # type: ignore[assignment]
    if user.role not in SUBMIT_ROLES:
        raise PermissionDenied
    initial = {"idempotency_key": uuid.uuid4().hex, "policy_number": request.GET.get("policy", "")[:40]}
    form = forms.ReportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        account = normalise_account(d["payee_account"])
        try:
            result = claim_submit(
                actor=user,
                policy_number=d["policy_number"].strip().upper(),
                insured_id_number=d["insured_id_number"].strip().upper() or None,
                channel=d["channel"],
                incident_at=d["incident_at"],
                incident_place=d["incident_place"],
                loss_type=d["loss_type"],
                claimed_amount=d["claimed_amount"],
                description=d["description"],
                payee=Payee(d["payee_name"].strip(), account, d["payee_bank"].strip()) if account else None,
                idempotency_key=d["idempotency_key"],
            )
        except DomainError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Claim %(number)s reported.") % {"number": result.claim.number})
            return redirect("workbench:claim", result.claim.pk)
    return render(request, "workbench/report.html", {"form": form}, status=422 if request.method == "POST" else 200)


@staff_view
@require_POST
def alerts_read(request: HttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("alert") if i.isdigit()]
    services.alerts_mark_read(actor=request.user, alert_ids=ids)  # type: ignore[arg-type]
    return redirect("workbench:queue")
