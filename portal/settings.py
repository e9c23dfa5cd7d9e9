"""One settings module for every environment; production differs only by env vars.

Defaults are the embedded set-up of `make run`: SQLite, a filesystem Celery broker and
mail written to files under var/. `.env.example` documents every variable.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME = env.str("SITE_NAME", default="中国建设招标网")
# Open Contracting identifiers (api/ocds.py): the prefix OCP registers for the publisher
# (ocds-xxxxxx until it does); OC4IDS project ids likewise; the data's licence URI, if any.
OCDS_OCID_PREFIX = env.str("OCDS_OCID_PREFIX", default="ocds-xxxxxx")
OC4IDS_ID_PREFIX = env.str("OC4IDS_ID_PREFIX", default="oc4ids-xxxxxx")
OPEN_DATA_LICENSE = env.str("OPEN_DATA_LICENSE", default="")

# The read-only API (api/): member keys only, JSON only (no browsable pages), throttled
# per member at their plan's rate.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.PlanAllowsApi"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PlanRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

MEMBERSHIP_HOTLINE = env.str("MEMBERSHIP_HOTLINE", default="4000-156-001")
FEEDBACK_EMAIL = env.str("FEEDBACK_EMAIL", default="service@example.com")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "django_filters",
    "rest_framework",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "portal",
    "news",
    "members",
    "billing",
    "support",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions: a session saved on the way out is a write (portal/db_routers.py).
    "portal.db_routers.ReplicaReadsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "members.middleware.StaffSecondFactorMiddleware",
    "members.middleware.PrivatePagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]

# A search walking rows for common terms (news/search_plans.py) gets this long before the
# index answers instead.
SEARCH_SCAN_TIMEOUT_MS = env.int("SEARCH_SCAN_TIMEOUT_MS", default=300)


def _database(url: str) -> dict:
    config = env.db_url_config(url)
    config["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    if config["ENGINE"].endswith("postgresql"):
        # Search bitmaps must stay exact: a lossy page makes PostgreSQL recompute the
        # n-grams of every row on it (news/search.py). 16 MB keeps bitmaps over ~2M rows exact.
        work_mem = env.str("DATABASE_WORK_MEM", default="16MB")
        options = config.setdefault("OPTIONS", {})
        # jit off: the n-gram function's cost estimate puts every search over
        # jit_above_cost, and compiling cost 20-100 ms a query for nothing (short OLTP queries).
        options["options"] = f"{options.get('options', '')} -c work_mem={work_mem} -c jit=off"
        options["options"] = options["options"].strip()
    return config


DATABASES = {
    "default": _database(env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")),
}
# PostgreSQL streaming replicas (comma-separated URLs; empty: one database). Each becomes an
# alias replica1, replica2 … that portal/db_routers.py sends web pages' reads to; writes,
# the access policy and whatever follows a member's own write read the primary ("default").
# Tests mirror them onto the test database, so the suite runs unchanged with them set.
for _n, _url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[]), start=1):
    DATABASES[f"replica{_n}"] = {**_database(_url), "TEST": {"MIRROR": "default"}}
DATABASE_REPLICAS = [alias for alias in DATABASES if alias != "default"]
DATABASE_ROUTERS = ["portal.db_routers.PrimaryReplicaRouter"]
# After a request that wrote (any POST), the browser reads the primary this long, so a
# member sees what they just did although a replica may not have replayed it yet.
REPLICA_STICKY_SECONDS = env.int("REPLICA_STICKY_SECONDS", default=10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
# Anonymous visitors' pages are cached this long (portal/pagecache.py); 0 turns it off.
PAGE_CACHE_SECONDS = env.int("PAGE_CACHE_SECONDS", default=60)
# Signed-in members' list pages reuse their viewer-independent part (rows, counts, filter
# form) for this long, per kind of viewer (portal/pagecache.py shared_fragment); 0 turns it off.
FRAGMENT_CACHE_SECONDS = env.int("FRAGMENT_CACHE_SECONDS", default=60)

AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Accounts (django-allauth): email + password, confirmed by a link whose GET only shows
# a button (mail scanners pre-fetch links), throttled logins and sign-ups.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = (
    "https" if env.bool("SECURE_SSL_REDIRECT", default=False) else "http"
)
ACCOUNT_RATE_LIMITS = {
    # failed logins: per IP and per account; the login view answers 429 past these
    "login_failed": env.str("RATE_LIMIT_LOGIN_FAILED", default="10/m/ip,5/5m/key"),
    "signup": env.str("RATE_LIMIT_SIGNUP", default="10/h/ip"),
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
# Staff reach the admin only after a second factor (TOTP). Off only where DEBUG is on
# (`make run`), unless set explicitly.
STAFF_REQUIRE_MFA = env.bool("STAFF_REQUIRE_MFA", default=not DEBUG)
# SMS (instant alerts to the member's confirmed mobile): file lines by default,
# members.sms.AliyunBackend in production (Alibaba Cloud SMS, approved templates).
SMS_BACKEND = env.str("SMS_BACKEND", default="members.sms.FileBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(VAR_DIR / "sms" / "outbox.jsonl"))
ALIYUN_ACCESS_KEY_ID = env.str("ALIYUN_ACCESS_KEY_ID", default="")
ALIYUN_ACCESS_KEY_SECRET = env.str("ALIYUN_ACCESS_KEY_SECRET", default="")
ALIYUN_SMS_ENDPOINT = env.str("ALIYUN_SMS_ENDPOINT", default="dysmsapi.aliyuncs.com")
ALIYUN_SMS_SIGN_NAME = env.str("ALIYUN_SMS_SIGN_NAME", default="")
ALIYUN_SMS_TEMPLATES = {
    "alert": env.str("ALIYUN_SMS_TEMPLATE_ALERT", default=""),
    "verify": env.str("ALIYUN_SMS_TEMPLATE_VERIFY", default=""),
    "consult": env.str("ALIYUN_SMS_TEMPLATE_CONSULT", default=""),
}
# Who receives membership applications; default: every active staff user with an email.
STAFF_NOTIFY_EMAILS = env.list("STAFF_NOTIFY_EMAILS", default=[])

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded import archives wait here for the worker (news.ImportJob).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# Uploads with more files than this are imported by a Celery task, with progress.
IMPORT_INLINE_MAX_FILES = env.int("IMPORT_INLINE_MAX_FILES", default=200)
# Processes that parse and mask the next batch of an import while the current one is
# stored (news.importing.pipeline); 0 does all of it in the importing process.
IMPORT_PREPARE_PROCESSES = env.int("IMPORT_PREPARE_PROCESSES", default=1)

# The address in alert emails' mailto: List-Unsubscribe; mail to it is read by
# `manage.py unsubscribe_mailbox` (an SMTP listener the domain's MX points at). Empty: none.
ALERTS_UNSUBSCRIBE_MAILBOX = env.str("ALERTS_UNSUBSCRIBE_MAILBOX", default="")

# 意见反馈 / 在线沟通: submissions per IP (count, seconds) before the page answers 429.
FEEDBACK_RATE = (env.int("FEEDBACK_RATE_COUNT", default=5), 3600)
CONSULT_RATE = (env.int("CONSULT_RATE_COUNT", default=20), 600)

# Online checkout (billing). A provider is offered when its credentials are set; see README.
ALIPAY_APP_ID = env.str("ALIPAY_APP_ID", default="")
ALIPAY_APP_PRIVATE_KEY = env.str("ALIPAY_APP_PRIVATE_KEY", default="")
ALIPAY_PUBLIC_KEY = env.str("ALIPAY_PUBLIC_KEY", default="")
ALIPAY_GATEWAY = env.str("ALIPAY_GATEWAY", default="https://openapi.alipay.com/gateway.do")
WECHATPAY_MCHID = env.str("WECHATPAY_MCHID", default="")
WECHATPAY_APPID = env.str("WECHATPAY_APPID", default="")
WECHATPAY_PRIVATE_KEY = env.str("WECHATPAY_PRIVATE_KEY", default="")
WECHATPAY_CERT_SERIAL_NO = env.str("WECHATPAY_CERT_SERIAL_NO", default="")
WECHATPAY_APIV3_KEY = env.str("WECHATPAY_APIV3_KEY", default="")
WECHATPAY_PUBLIC_KEY = env.str("WECHATPAY_PUBLIC_KEY", default="")
WECHATPAY_PUBLIC_KEY_ID = env.str("WECHATPAY_PUBLIC_KEY_ID", default="")
WECHATPAY_API_BASE = env.str("WECHATPAY_API_BASE", default="https://api.mch.weixin.qq.com")
# Seconds to wait for a provider's answer (query, refund, close). A refund that times out
# stays open and is asked again with its refund number (billing.services).
PAYMENT_API_TIMEOUT = env.float("PAYMENT_API_TIMEOUT", default=15.0)
# 模拟支付: a local stand-in provider for trying checkout; never in production.
PAYMENT_DEV_PROVIDER = env.bool("PAYMENT_DEV_PROVIDER", default=DEBUG)
PAYMENT_DEV_KEY_PATH = env.str("PAYMENT_DEV_KEY_PATH", default=str(VAR_DIR / "billing" / "dev.pem"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}


# Mail: files under var/outbox by default; SMTP in production via EMAIL_URL
# (smtp+tls://user:pass@host:587). Django 6.1's MAILERS replaces the EMAIL_* settings.
def _mailer_from_url(url: str) -> dict:
    parsed = environ.Env.email_url_config(url)
    backend = parsed["EMAIL_BACKEND"]
    options = {}
    if backend.endswith("smtp.EmailBackend"):
        options = {
            "host": parsed["EMAIL_HOST"] or "localhost",
            "port": parsed["EMAIL_PORT"] or 25,
            "username": parsed["EMAIL_HOST_USER"] or "",
            "password": parsed["EMAIL_HOST_PASSWORD"] or "",
            "use_tls": parsed.get("EMAIL_USE_TLS", False),
            "use_ssl": parsed.get("EMAIL_USE_SSL", False),
            "timeout": env.int("EMAIL_TIMEOUT", default=10),
        }
    elif backend.endswith("filebased.EmailBackend"):
        options = {"file_path": parsed["EMAIL_FILE_PATH"] or str(VAR_DIR / "outbox")}
    return {"BACKEND": backend, "OPTIONS": options}


MAILERS = {"default": _mailer_from_url(env.str("EMAIL_URL", default="filemail://"))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <noreply@example.com>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# Security. The HTTPS settings follow SECURE_SSL_REDIRECT so one switch turns production on.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_SSL_REDIRECT)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Strict CSP: nothing inline without the per-request nonce, no third-party origins.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Celery. The default broker is kombu's filesystem transport so `make run` needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    # The transport does not create its folders; web, worker and beat all need them.
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Broadcasts (worker control) would otherwise land in ./control of the cwd.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# An instant alert's claim keeps other workers off it this long; a dead worker's claims
# run out after it and the sweep, every ALERT_SWEEP_SECONDS, sends them again (with those
# never claimed 30 s after matching): after a crash alerts go out within lease + sweep.
# The SMTP timeout (EMAIL_TIMEOUT) must stay below the lease: system check members.E001.
ALERT_CLAIM_LEASE_SECONDS = env.int("ALERT_CLAIM_LEASE_SECONDS", default=30)
# 30 s: a dead worker's alerts go out within a minute (lease + one interval at most).
ALERT_SWEEP_SECONDS = env.float("ALERT_SWEEP_SECONDS", default=30.0)
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "portal.tasks.heartbeat", "schedule": 60.0},
    "alerts-digest": {
        "task": "members.tasks.alerts_digest",
        "schedule": crontab(minute=0),
    },
    "alerts-sweep": {
        "task": "members.tasks.alerts_sweep",
        "schedule": ALERT_SWEEP_SECONDS,
        # While workers are down, sweeps queued up would each enqueue the same rows again.
        "options": {"expires": ALERT_SWEEP_SECONDS},
    },
    # Unpaid orders: ask the provider after 15 minutes, close after 2 hours; open refunds:
    # ask the provider by refund number (billing.services.refunds_reconcile).
    "orders-reconcile": {"task": "billing.tasks.orders_reconcile", "schedule": 300.0},
    # 开标日历: tomorrow's deadlines, one email per member (members.deadlines).
    "deadline-reminders": {
        "task": "members.tasks.deadline_reminders",
        "schedule": crontab(hour=8, minute=0),
    },
    # Marks lapsed subscriptions, sends the 7-day and 1-day renewal reminders (once each).
    "subscriptions-daily": {
        "task": "members.tasks.subscriptions_daily",
        "schedule": crontab(hour=8, minute=0),
    },
}
# Beyond this the worker counts as down on /healthz (beat sends a heartbeat every minute).
WORKER_HEARTBEAT_MAX_AGE = env.int("WORKER_HEARTBEAT_MAX_AGE", default=180)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
