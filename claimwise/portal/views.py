"""The customer portal (P2, P4, C4): mobile-first pages to report a claim, follow it as it moves,
send documents and messages, and read the claim guides. Customers only; another customer's claim is
"not found"."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from claimwise.accounts.models import User
from claimwise.claims.choices import DocumentType
from claimwise.claims.models import Claim
from claimwise.claims.services import claim_message_send, claim_withdraw, document_upload
from claimwise.core.errors import DomainError, NotFound
from claimwise.core.forms import show_errors
from claimwise.core.htmx import page_redirect
from claimwise.portal import selectors, services
from claimwise.portal.forms import (
    MAX_FILES,
    CodeForm,
    CodePasswordForm,
    ContactForm,
    MessageForm,
    MobileForm,
    PreferenceForm,
    ReportForm,
    SignInForm,
    SignUpForm,
    UploadForm,
    WithdrawForm,
)

LIVE_SECONDS = 10  # how often an open claim page asks whether anything changed


def _max_mb() -> int:
    return int(settings.DOCUMENT_MAX_BYTES // (1024 * 1024))


def customer_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not selectors.is_customer(request.user):
            if getattr(request, "htmx", False):
                return page_redirect(request, reverse("portal:sign_in"))
            return redirect_to_login(request.get_full_path(), reverse("portal:sign_in"))
        try:
            answer = view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None
        add_never_cache_headers(answer)
        return answer

    return wrapper


def home(request: HttpRequest) -> HttpResponse:
    if selectors.is_customer(request.user):
        return redirect("portal:claims")
    return render(request, "portal/home.html", {"lines": selectors.guide_lines()})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if selectors.is_customer(request.user):
        return redirect("portal:claims")
    form = SignInForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        try:
            user = services.portal_sign_in(
                request, mobile=form.cleaned_data["mobile"], password=form.cleaned_data["password"]
            )
        except services.SignInRefused as exc:
            error, status = str(exc.message), 429 if exc.locked else 401
        else:
            login(request, user)
            target = request.POST.get("next") or ""
            if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                return redirect(target)
            return redirect("portal:claims")
    context = {"form": form, "error": error, "next": request.GET.get("next") or request.POST.get("next") or ""}
    return render(request, "portal/sign_in.html", context, status=status)


SIGN_UP, RESET = "portal_sign_up_mobile", "portal_reset_mobile"


@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request: HttpRequest) -> HttpResponse:
    """Step 1: the ID number on a policy and the mobile on file; a code goes to that mobile."""
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.sign_up_start(id_number=form.cleaned_data["id_number"], mobile=form.cleaned_data["mobile"])
        except DomainError as exc:
            show_errors(form, exc)
        else:
            request.session[SIGN_UP] = form.cleaned_data["mobile"]
            return redirect("portal:sign_up_code")
    return render(request, "portal/sign_up.html", {"form": form}, status=422 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_up_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code and a password; the account opens signed in."""
    mobile = request.session.get(SIGN_UP)
    if not mobile:
        return redirect("portal:sign_up")
    form = CodePasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.sign_up_finish(
                mobile=mobile, code=form.cleaned_data["code"], password=form.cleaned_data["password"]
            )
        except DomainError as exc:
            show_errors(form, exc)
        else:
            request.session.pop(SIGN_UP, None)
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            messages.success(request, _("Welcome! Your account is ready and shows every policy in your name."))
            return redirect("portal:claims")
    context = {"form": form, "mobile": services.masked_mobile(mobile), "purpose": "sign_up"}
    return render(request, "portal/code.html", context, status=422 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def reset(request: HttpRequest) -> HttpResponse:
    form = MobileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_start(mobile=form.cleaned_data["mobile"])
        except DomainError as exc:
            show_errors(form, exc)
        else:
            request.session[RESET] = form.cleaned_data["mobile"]
            messages.info(request, _("If this number belongs to an account, we have sent it a code."))
            return redirect("portal:reset_code")
    return render(request, "portal/reset.html", {"form": form}, status=422 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def reset_code(request: HttpRequest) -> HttpResponse:
    mobile = request.session.get(RESET)
    if not mobile:
        return redirect("portal:reset")
    form = CodePasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.reset_finish(mobile=mobile, code=form.cleaned_data["code"], password=form.cleaned_data["password"])
        except DomainError as exc:
            show_errors(form, exc)
        else:
            request.session.pop(RESET, None)
            messages.success(request, _("Your password is changed. Sign in with it now."))
            return redirect("portal:sign_in")
    context = {"form": form, "mobile": services.masked_mobile(mobile), "purpose": "reset"}
    return render(request, "portal/code.html", context, status=422 if form.errors else 200)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("portal:home")


@customer_view
def claims(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {
        "claims": list(selectors.my_claims(user)[:100]),
        "policies": selectors.my_policies(user),
        "drafts": selectors.my_drafts(user),
    }
    return render(request, "portal/claims.html", context)


def _uploads(request: HttpRequest, doc_types: list[str]) -> list[services.Upload]:
    uploads = []
    for doc_type in doc_types:
        for file in request.FILES.getlist(f"doc_{doc_type}"):
            uploads.append(services.Upload(doc_type, file.name or "document", file, file.size or 0))
    return uploads


@customer_view
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, policy_number: str) -> HttpResponse:
    """Report a claim on one policy: the materials to have at hand first, then the form; files go
    with it. "Save draft" keeps what was typed (never the bank account) for later."""
    user: User = request.user  # type: ignore[assignment]
    policy = selectors.my_policy(user, policy_number)
    draft = selectors.my_drafts(user).get(policy.number)
    initial = {"idempotency_key": uuid.uuid4().hex, **(draft.data if draft else {})}
    form = ReportForm(request.POST or None, policy=policy, initial=initial)
    materials = selectors.materials_before_start(policy.product.line, request.POST.get("loss_type", ""))
    doc_types = list(dict.fromkeys([*_material_doc_types(policy), DocumentType.OTHER]))
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "save":
            services.draft_save(actor=user, policy_number=policy.number, data=request.POST.dict())
            messages.success(request, _("Draft saved. You can finish it later from “My claims”."))
            return page_redirect(request, reverse("portal:claims"))
        uploads = _uploads(request, doc_types)
        if len(uploads) > MAX_FILES:
            form.add_error(None, _("Send at most %(n)d files at once.") % {"n": MAX_FILES})
        elif form.is_valid():
            d = form.cleaned_data
            report_data = services.Report(
                policy_number=policy.number,
                loss_type=d["loss_type"],
                incident_at=d["incident_at"],
                incident_place=d["incident_place"],
                description=d["description"],
                claimed_amount=d["claimed_amount"],
                payee_name=d["payee_name"],
                payee_bank=d["payee_bank"],
                payee_account=d["payee_account"],
            )
            try:
                claim = services.claim_report(
                    actor=user, report=report_data, uploads=uploads, idempotency_key=d["idempotency_key"]
                )
            except DomainError as exc:
                show_errors(form, exc)
            else:
                return page_redirect(request, reverse("portal:reported", args=[claim.pk]))
        status = 422
    context = {
        "policy": policy,
        "form": form,
        "materials": materials,
        "doc_types": [(t, DocumentType(t).label) for t in doc_types],
        "draft": draft,
        "max_mb": _max_mb(),
    }
    return render(request, "portal/report.html", context, status=status)


def _material_doc_types(policy: Any) -> list[str]:
    from claimwise.process.setup import line_setup

    setup = line_setup(policy.product.line)
    return [m.doc_type for d in setup.definitions for m in setup.materials.get(d.pk, [])]


@customer_view
def reported(request: HttpRequest, claim_id: int) -> HttpResponse:
    """The confirmation: the claim number and the deadlines the company is now bound to."""
    tracking = selectors.claim_tracking(request.user, claim_id)  # type: ignore[arg-type]
    return render(request, "portal/reported.html", {"t": tracking})


@customer_view
def claim(request: HttpRequest, claim_id: int) -> HttpResponse:
    """Follow a claim. While the page is open it asks every few seconds whether anything changed
    and redraws itself only then (204 otherwise)."""
    tracking = selectors.claim_tracking(request.user, claim_id)  # type: ignore[arg-type]
    if "live" in request.GET:
        if request.GET["live"] == tracking.key:
            return HttpResponse(status=204)
        return render(request, "portal/_live.html", {"t": tracking, "live_seconds": LIVE_SECONDS})
    context = {
        "t": tracking,
        "live_seconds": LIVE_SECONDS,
        "upload_form": UploadForm(initial={"doc_type": _first_missing_type(tracking.claim)}),
        "message_form": MessageForm(),
        "max_mb": _max_mb(),
    }
    return render(request, "portal/claim.html", context)


def _first_missing_type(claim: Claim) -> str:
    process = getattr(claim, "process", None)
    missing = getattr(process, "missing_materials", None) or []
    return str(missing[0].get("doc_type", DocumentType.OTHER)) if missing else DocumentType.OTHER


def _claim_page_with(request: HttpRequest, claim_id: int, status: int, **forms: Any) -> HttpResponse:
    tracking = selectors.claim_tracking(request.user, claim_id)  # type: ignore[arg-type]
    context = {
        "t": tracking,
        "live_seconds": LIVE_SECONDS,
        "upload_form": UploadForm(),
        "message_form": MessageForm(),
        "max_mb": _max_mb(),
    }
    context.update(forms)
    return render(request, "portal/claim.html", context, status=status)


@customer_view
@require_POST
def claim_upload(request: HttpRequest, claim_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = UploadForm(request.POST)
    files = request.FILES.getlist("files")
    if form.is_valid() and not files:
        form.add_error(None, _("Choose a file to send."))
    if form.is_valid():
        try:
            services.check_uploads(
                [services.Upload(form.cleaned_data["doc_type"], f.name or "", f, f.size or 0) for f in files]
            )
            for f in files:
                document_upload(
                    actor=user,
                    claim_id=claim_id,
                    doc_type=form.cleaned_data["doc_type"],
                    stream=f,
                    original_name=f.name or "document",
                    size=f.size,
                )
        except DomainError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Thank you, we received your documents."))
            return page_redirect(request, reverse("portal:claim", args=[claim_id]))
    return _claim_page_with(request, claim_id, 422, upload_form=form)


@customer_view
@require_POST
def claim_message(request: HttpRequest, claim_id: int) -> HttpResponse:
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            claim_message_send(actor=request.user, claim_id=claim_id, body=form.cleaned_data["body"])  # type: ignore[arg-type]
        except DomainError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Message sent. Your handler will answer here."))
            return redirect(reverse("portal:claim", args=[claim_id]) + "#messages")
    return _claim_page_with(request, claim_id, 422, message_form=form)


@customer_view
@require_http_methods(["GET", "POST"])
def claim_withdraw_view(request: HttpRequest, claim_id: int) -> HttpResponse:
    """Withdrawing ends the claim without a decision, so it is asked for twice."""
    tracking = selectors.claim_tracking(request.user, claim_id)  # type: ignore[arg-type]
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claim_withdraw(actor=request.user, claim_id=claim_id, note=form.cleaned_data["note"])  # type: ignore[arg-type]
        except DomainError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Your claim was withdrawn."))
            return redirect("portal:claim", claim_id)
    status = 422 if request.method == "POST" else 200
    return render(request, "portal/withdraw.html", {"t": tracking, "form": form}, status=status)


@customer_view
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """How the customer hears from us: channels (those we have an address for) and language."""
    from claimwise.notifications.models import ContactPreference
    from claimwise.notifications.services import contact_preference_save

    user: User = request.user  # type: ignore[assignment]
    customer = selectors.customer_of(user)
    if customer is None:
        raise Http404
    pref = ContactPreference.objects.filter(customer=customer).first()
    bound = [c for c, v in (("wechat", pref and pref.wechat_openid), ("push", pref and pref.push_token)) if v]
    initial = {"channels": pref.channels if pref else [], "language": pref.language if pref else "zh-hans"}
    if pref is None:
        initial["channels"] = [c for c, a in (("sms", customer.phone), ("email", customer.email)) if a]
    form = PreferenceForm(request.POST or None, customer=customer, bound=bound, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact_preference_save(
                actor=user,
                customer_id=customer.pk,
                channels=form.cleaned_data["channels"],
                language=form.cleaned_data["language"],
                wechat_openid=(pref.wechat_openid if pref else "") or "",
                push_token=(pref.push_token if pref else "") or "",
            )
        except DomainError as exc:
            show_errors(form, exc)
        else:
            messages.success(request, _("Saved. We will write to you this way."))
            return redirect("portal:preferences")
    context = {"form": form, "customer": customer}
    return render(request, "portal/preferences.html", context, status=422 if form.errors else 200)


CONTACT_KINDS = {"mobile": "mobile", "email": "email"}  # URL word → OneTimeCode purpose


def _contact_kind(kind: str) -> str:
    if kind not in CONTACT_KINDS:
        raise Http404
    return CONTACT_KINDS[kind]


@customer_view
@never_cache
@require_http_methods(["GET", "POST"])
def contact_change(request: HttpRequest, kind: str) -> HttpResponse:
    """A new mobile number or email address, step 1: the new address and the password; a code goes
    to the new address."""
    purpose = _contact_kind(kind)
    user: User = request.user  # type: ignore[assignment]
    customer = selectors.customer_of(user)
    if customer is None:
        raise Http404
    form = ContactForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid():
        try:
            row = services.contact_change_start(
                actor=user,
                customer=customer,
                purpose=purpose,
                value=form.cleaned_data["value"],
                password=form.cleaned_data["password"],
            )
        except DomainError as exc:
            show_errors(form, exc)
        else:
            request.session[f"portal_contact_{kind}"] = row.pk
            return redirect("portal:contact_code", kind=kind)
    context = {"form": form, "kind": kind, "customer": customer}
    return render(request, "portal/contact.html", context, status=422 if form.errors else 200)


@customer_view
@never_cache
@require_http_methods(["GET", "POST"])
def contact_code(request: HttpRequest, kind: str) -> HttpResponse:
    """Step 2: the code from the new address; the old address is told of the change."""
    purpose = _contact_kind(kind)
    user: User = request.user  # type: ignore[assignment]
    customer = selectors.customer_of(user)
    pending = request.session.get(f"portal_contact_{kind}")
    if customer is None or not pending:
        return redirect("portal:contact_change", kind=kind)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_change_finish(
                actor=user, customer=customer, purpose=purpose, code=form.cleaned_data["code"]
            )
        except DomainError as exc:
            show_errors(form, exc)
        else:
            request.session.pop(f"portal_contact_{kind}", None)
            if kind == "mobile":
                messages.success(request, _("Your mobile number is changed. Sign in with it from now on."))
            else:
                messages.success(request, _("Your email address is changed."))
            return redirect("portal:preferences")
    row = selectors.pending_contact(customer, pending)
    shown = "" if row is None else services.masked_address(row)
    context = {"form": form, "kind": kind, "shown": shown}
    return render(request, "portal/contact_code.html", context, status=422 if form.errors else 200)


def guides(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/guides.html", {"lines": selectors.guide_lines()})


def guide(request: HttpRequest, line: str) -> HttpResponse:
    try:
        found = selectors.guide(line)
    except NotFound:
        raise Http404 from None
    return render(request, "portal/guide.html", {"g": found})
