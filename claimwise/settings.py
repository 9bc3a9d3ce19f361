"""Claimwise settings: every knob comes from the environment, with defaults for the embedded demo.

CLAIMWISE_ENV   demo (default) | test | production. Production refuses demo keys and demo accounts.
CLAIMWISE_DATA_DIR  where the SQLite database, the Huey queue and uploaded media live (default ./var).
DATABASE_URL    switches to PostgreSQL (postgres://user@host:port/name).
CLAIMWISE_DB_PREPARED  1 (default): PostgreSQL prepared statements; 0 behind a pooler without them.
REDIS_URL       switches the job queue (and cache) to Redis.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
ENV = os.environ.get("CLAIMWISE_ENV", "demo")
PRODUCTION = ENV == "production"
DATA_DIR = Path(os.environ.get("CLAIMWISE_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Demo keys are public (they are in this file); production refuses to start with them.
DEMO_SECRET_KEY = "claimwise-demo-secret-key-not-for-production-0000000000000000"
DEMO_ENCRYPTION_KEY = "ZGVtby1rZXktY2xhaW13aXNlLWRvLW5vdC11c2UtITE="
DEMO_HASH_KEY = "claimwise-demo-hash-key"

SECRET_KEY = os.environ.get("CLAIMWISE_SECRET_KEY", DEMO_SECRET_KEY)
# Comma-separated Fernet keys; the first encrypts, all decrypt (key rotation).
ENCRYPTION_KEYS = [
    k.strip() for k in os.environ.get("CLAIMWISE_ENCRYPTION_KEYS", DEMO_ENCRYPTION_KEY).split(",") if k.strip()
]
HASH_KEY = os.environ.get("CLAIMWISE_HASH_KEY", DEMO_HASH_KEY)

DEBUG = os.environ.get("CLAIMWISE_DEBUG", "0" if PRODUCTION else "1") == "1"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("CLAIMWISE_ALLOWED_HOSTS", "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CLAIMWISE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "ninja",  # serves the API docs' Swagger UI from its own static files, not a CDN
    "huey.contrib.djhuey",
    "claimwise.core",
    "claimwise.accounts",
    "claimwise.policies",
    "claimwise.claims",
    "claimwise.process",
    "claimwise.fraud",
    "claimwise.workbench",
    "claimwise.notifications",
    "claimwise.portal",
    "claimwise.demo",
]

MIDDLEWARE = [
    "claimwise.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified() after the TOTP step
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "claimwise.urls"
WSGI_APPLICATION = "claimwise.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

_sqlite_path = DATA_DIR / "claimwise.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL", default=f"sqlite:///{_sqlite_path}", conn_max_age=600, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers queue instead of
    # failing with "database is locked" when a read lock would have to be upgraded.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and os.environ.get("CLAIMWISE_DB_PREPARED", "1") == "1"
):
    # Server-side binding with prepared statements: PostgreSQL plans a statement a connection
    # repeats once (from its fifth run) instead of every time, about a third of a submit's database
    # CPU (docs/performance.md). Needs a direct connection or a pooler that keeps prepared statements
    # (PgBouncer 1.21+ with max_prepared_statements); CLAIMWISE_DB_PREPARED=0 turns it off.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Covering indexes (INCLUDE) are a PostgreSQL speed-up; SQLite, the embedded demo, builds the same
# index on its key columns, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["claimwise.accounts.backends.ClaimwiseBackend"]
LOGIN_URL = "/admin/login/"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("CLAIMWISE_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True
DEFAULT_CURRENCY = "CNY"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The demo serves static files straight from the apps; production runs collectstatic once.
WHITENOISE_USE_FINDERS = not PRODUCTION

# Uploads: documents are checked by their bytes, not their names (see claims.documents).
DOCUMENT_MAX_BYTES = int(os.environ.get("CLAIMWISE_DOCUMENT_MAX_BYTES", str(20 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Investigation queue (SIU, issue 6 item 5): a claim whose risk score reaches the threshold gets an
# investigation case, due this many working days after it opens. It never pauses the claim's clocks.
CLAIMWISE_SIU_THRESHOLD = os.environ.get("CLAIMWISE_SIU_THRESHOLD", "0.7")
CLAIMWISE_SIU_DAYS = int(os.environ.get("CLAIMWISE_SIU_DAYS", "10"))
# The platform fraud model is retrained weekly once this many investigation outcomes (confirmed fraud
# or not fraud) have closed since its last training (issue 6 item 2, fraud.platform.retrain).
CLAIMWISE_FRAUD_RETRAIN_LABELS = int(os.environ.get("CLAIMWISE_FRAUD_RETRAIN_LABELS", "50"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "claimwise",
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": int(os.environ.get("CLAIMWISE_WORKERS", "2")), "worker_type": "thread"},
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "claimwise",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": int(os.environ.get("CLAIMWISE_WORKERS", "2")), "worker_type": "thread"},
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Notifications (docs/operations.md, "Notifications"): email over SMTP, SMS / WeChat / app push
# through HTTP gateways signed with HMAC-SHA256. A channel is on when it is configured (email: a host;
# a gateway: its URL), or as CLAIMWISE_NOTIFY_CHANNELS lists them.
CLAIMWISE_EMAIL_HOST = os.environ.get("CLAIMWISE_EMAIL_HOST", "")
CLAIMWISE_EMAIL_PORT = int(os.environ.get("CLAIMWISE_EMAIL_PORT", "25"))
CLAIMWISE_EMAIL_USER = os.environ.get("CLAIMWISE_EMAIL_USER", "")
CLAIMWISE_EMAIL_PASSWORD = os.environ.get("CLAIMWISE_EMAIL_PASSWORD", "")
CLAIMWISE_EMAIL_TLS = os.environ.get("CLAIMWISE_EMAIL_TLS", "0") == "1"  # STARTTLS
CLAIMWISE_EMAIL_SSL = os.environ.get("CLAIMWISE_EMAIL_SSL", "0") == "1"  # implicit TLS (port 465)
CLAIMWISE_EMAIL_FROM = os.environ.get("CLAIMWISE_EMAIL_FROM", "claims@claimwise.local")
CLAIMWISE_EMAIL_TIMEOUT = float(os.environ.get("CLAIMWISE_EMAIL_TIMEOUT", "10"))
CLAIMWISE_GATEWAYS = {
    channel: {
        "url": os.environ.get(f"CLAIMWISE_{channel.upper()}_GATEWAY_URL", ""),
        "secret": os.environ.get(f"CLAIMWISE_{channel.upper()}_GATEWAY_SECRET", ""),
    }
    for channel in ("sms", "wechat", "push")
}
CLAIMWISE_GATEWAY_TIMEOUT = float(os.environ.get("CLAIMWISE_GATEWAY_TIMEOUT", "5"))
_configured_channels = ["email"] if CLAIMWISE_EMAIL_HOST else []
_configured_channels += [c for c, g in CLAIMWISE_GATEWAYS.items() if g["url"]]
CLAIMWISE_NOTIFY_CHANNELS = [
    c.strip()
    for c in os.environ.get("CLAIMWISE_NOTIFY_CHANNELS", ",".join(_configured_channels)).split(",")
    if c.strip()
]
# The demo's SMS sandbox (`claimwise demo` turns it on): a stand-in carrier and an inbox page.
CLAIMWISE_DEMO_SANDBOX = os.environ.get("CLAIMWISE_DEMO_SANDBOX", "0") == "1"
CLAIMWISE_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("CLAIMWISE_NOTIFY_MAX_ATTEMPTS", "6"))
CLAIMWISE_NOTIFY_BACKOFF_SECONDS = float(os.environ.get("CLAIMWISE_NOTIFY_BACKOFF_SECONDS", "30"))
CLAIMWISE_NOTIFY_BACKOFF_MAX_SECONDS = float(os.environ.get("CLAIMWISE_NOTIFY_BACKOFF_MAX_SECONDS", "3600"))
# After each commit that wrote messages, a job is queued to deliver them at once (the periodic sweep
# catches anything a dead process never queued); 0 when a `notifications deliver --loop` polls instead.
CLAIMWISE_NOTIFY_KICK = os.environ.get("CLAIMWISE_NOTIFY_KICK", "1") == "1"

# Idle timeout: every request with a session renews it, so a session ends this long after the last
# request (API calls with bearer tokens carry no session and write nothing).
SESSION_COOKIE_AGE = int(
    os.environ.get("CLAIMWISE_SESSION_IDLE_SECONDS", os.environ.get("CLAIMWISE_SESSION_SECONDS", "1800"))
)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Staff workbench sign-in: lock a username after this many failures in a row, for this long.
WORKBENCH_LOCKOUT_FAILURES = int(os.environ.get("CLAIMWISE_LOCKOUT_FAILURES", "5"))
WORKBENCH_LOCKOUT_MINUTES = int(os.environ.get("CLAIMWISE_LOCKOUT_MINUTES", "15"))
OTP_TOTP_ISSUER = "Claimwise"
# Wrong codes count towards the lock-out above; django-otp's own per-device back-off would refuse a
# right code typed within seconds of a wrong one, with no message to say why.
OTP_TOTP_THROTTLE_FACTOR = 0

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CLAIMWISE_LOG_LEVEL", "WARNING")},
}


def _nav(title: object, icon: str, url_name: str) -> dict:
    # Every back-office page is for back-office roles; the model admins refine view versus edit.
    return {
        "title": title,
        "icon": icon,
        "link": reverse_lazy(url_name),
        "permission": "claimwise.core.admin.sidebar_view",
    }


UNFOLD = {
    "SITE_TITLE": _("Claimwise back office"),
    "SITE_HEADER": _("Claimwise"),
    "SITE_SUBHEADER": _("Claims back office"),
    "SITE_SYMBOL": "verified_user",
    "SHOW_LANGUAGES": True,
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": [
            {
                "title": _("Claims"),
                "items": [_nav(_("Claims"), "assignment", "admin:claims_claim_changelist")],
            },
            {
                "title": _("Customers and policies"),
                "items": [
                    _nav(_("Customers"), "person_search", "admin:policies_customer_changelist"),
                    _nav(_("Policies"), "description", "admin:policies_policy_changelist"),
                    _nav(_("Products and coverages"), "inventory_2", "admin:policies_product_changelist"),
                ],
            },
            {
                "title": _("Claim process"),
                "items": [_nav(_("Process definitions"), "account_tree", "admin:process_processdefinition_changelist")],
            },
            {
                "title": _("Notifications"),
                "items": [
                    _nav(_("Messages"), "outgoing_mail", "admin:notifications_message_changelist"),
                    _nav(_("Message templates"), "edit_note", "admin:notifications_messagetemplate_changelist"),
                    _nav(_("Contact preferences"), "contact_phone", "admin:notifications_contactpreference_changelist"),
                ],
            },
            {
                "title": _("Organisation"),
                "items": [
                    _nav(_("Branches"), "apartment", "admin:accounts_branch_changelist"),
                    _nav(_("Teams"), "groups", "admin:accounts_team_changelist"),
                    _nav(_("Partner organisations"), "handshake", "admin:accounts_partnerorganization_changelist"),
                ],
            },
            {
                "title": _("Access"),
                "items": [
                    _nav(_("Users"), "manage_accounts", "admin:accounts_user_changelist"),
                    _nav(_("API tokens"), "key", "admin:accounts_apitoken_changelist"),
                ],
            },
            {
                "title": _("Compliance"),
                "items": [_nav(_("Audit trail"), "fact_check", "admin:core_auditentry_changelist")],
            },
        ],
    },
}
