"""Meshdeck settings, all from the environment.

Embedded default (no variables set): SQLite file, in-memory channel layer,
tasks run in-process (Celery eager) with an in-process scheduler.
``DATABASE_URL`` selects PostgreSQL; ``REDIS_URL`` switches the Celery broker,
the channel layer and the cache to Redis. ``portal.production`` hardens this.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("MESHDECK_DATA_DIR", str(BASE_DIR / "var")))

# The development key only ever signs local sessions; production refuses it.
DEV_SECRET_KEY = "meshdeck-dev-only-insecure-key-change-me-0123456789abcdefghijklmnop"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "apps.core",
    "apps.accounts",
    "apps.clusters",
    "apps.meshconfig",
    "apps.simulator",
    "apps.graphs",
    "apps.inventory",
    "apps.live",
    "apps.changes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.ApiErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.accounts.ratelimit.LoginRateLimitMiddleware",  # before CSRF: an over-limit address is refused first
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.selectors.GrantCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "apps.core.context_processors.portal",
                "apps.inventory.navigation.navigation",  # the left navigation of every page
                "apps.changes.context_processors.nav_changes_waiting",  # its "Changes" badge
            ],
        },
    },
]

# --- database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    # Persistent connections (CONN_MAX_AGE > 0) leak under ASGI: Django runs each request's
    # sync code in a thread of its own, and every such thread keeps its own connection until
    # the age runs out, so two web processes under load exhaust PostgreSQL's max_connections.
    # Hence 0 (a connection per request, cheap on a LAN) unless set for a WSGI/worker process.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(DATA_DIR / "meshdeck.sqlite3")),
            # The embedded default has several writers in one process (requests, the in-process
            # scheduler's snapshots and applies). A deferred transaction that turns into a write
            # fails at once with "database is locked" when another holds the lock (SQLite cannot
            # wait there); IMMEDIATE takes the write lock at BEGIN, where the timeout does wait.
            # WAL lets pages read while a snapshot is being written.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: broker, channel layer, cache ---------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No socket timeout, as before redis-py 8 (whose 5 s default cuts channels_redis's
                # 5 s blocking pop short and crashes idle consumers, channels_redis#422). Any
                # timeout also makes redis-py send through asyncio.wait_for, which on Python 3.11
                # can swallow a cancellation: a closed socket's consumer then never ends. Each
                # blocking pop is bounded by Redis itself; connecting is bounded below.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None, "socket_connect_timeout": 5}],
                "prefix": env_str("CHANNELS_PREFIX", "meshdeck"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_PREFIX", "meshdeck"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "meshdeck")
CELERY_TIMEZONE = "UTC"
# One schedule, used by `celery beat` in production and by the in-process
# scheduler of the embedded default (apps.core.scheduler).
CELERY_BEAT_SCHEDULE = {
    "clusters-check-connections": {
        "task": "apps.clusters.tasks.clusters_check_all",
        "schedule": timedelta(seconds=env_int("CLUSTER_CHECK_INTERVAL_SECONDS", 300, minimum=1)),
    },
    # change requests past their time to live (apps.changes)
    "changes-expire": {"task": "apps.changes.tasks.expire_changes", "schedule": timedelta(minutes=5)},
    # changes a killed worker left "applying", once their lease ran out (apps.changes.recovery)
    "changes-recover": {"task": "apps.changes.tasks.recover_changes", "schedule": timedelta(minutes=1)},
}
# Change requests: time to live (hours) of an open change; seconds a UI password confirmation lasts.
MESHDECK_CHANGE_TTL_HOURS = env_int("MESHDECK_CHANGE_TTL_HOURS", 72, minimum=1)
MESHDECK_REAUTH_SECONDS = env_int("MESHDECK_REAUTH_SECONDS", 300, minimum=1)
# A claimed apply not ended after this many seconds is taken to have lost its worker and is recovered:
# longer than any apply can take (each cluster call is bounded by the gateway's timeouts).
MESHDECK_APPLY_LEASE_SECONDS = env_int("MESHDECK_APPLY_LEASE_SECONDS", 600, minimum=1)
# `manage.py runportal` runs the schedule in-process when tasks run eagerly (the embedded
# default); set it on or off explicitly to override (off: nothing periodic runs there).
MESHDECK_INPROCESS_SCHEDULER = env_bool("MESHDECK_INPROCESS_SCHEDULER", CELERY_TASK_ALWAYS_EAGER)

# Live sockets re-check their authorization this often (seconds), besides every grant, team,
# user, token or session change: it covers token expiry and anything a signal cannot see.
MESHDECK_WS_RECHECK_SECONDS = env_int("MESHDECK_WS_RECHECK_SECONDS", 60, minimum=1)

# --- auth -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.LockoutModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "inventory:overview"
LOGOUT_REDIRECT_URL = "accounts:login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
# Lockout: N failed logins within the window, keyed by username AND client IP.
LOCKOUT_THRESHOLD = env_int("LOCKOUT_THRESHOLD", 5)
LOCKOUT_WINDOW_MINUTES = env_int("LOCKOUT_WINDOW_MINUTES", 15)
# Per client IP, beyond the lockout: this many failed logins (all entry points together) within
# the window and that address gets 429 + Retry-After on every login entry point until it ends.
# Counted in this cache (Redis when REDIS_URL is set, so all web processes share the count).
LOGIN_RATE_LIMIT = env_int("LOGIN_RATE_LIMIT", 20, minimum=1)
LOGIN_RATE_LIMIT_WINDOW_SECONDS = env_int("LOGIN_RATE_LIMIT_WINDOW_SECONDS", 900, minimum=1)
LOGIN_RATE_LIMIT_CACHE = "default"
LOGIN_RATE_LIMIT_KEY_PREFIX = "ratelimit"
# Number of reverse proxies in front of the portal whose X-Forwarded-For we trust.
MESHDECK_TRUSTED_PROXY_COUNT = env_int("MESHDECK_TRUSTED_PROXY_COUNT", 0)
# Every password set through the services (pages, admin, API, `manage.py user`) passes these.
# 12 characters at least (OWASP ASVS 2.1.1); no common, all-digit or username-like passwords.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 12, minimum=8)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Cookies and headers (production adds Secure cookies, HSTS and the HTTPS redirect).
# No script reads the CSRF cookie (forms carry {% csrf_token %}), so it is HttpOnly too.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Fernet keys for cluster credentials: first encrypts, all decrypt (rotation).
MESHDECK_ENCRYPTION_KEYS = env_list("MESHDECK_ENCRYPTION_KEYS", "")
# Only the embedded default derives a key from SECRET_KEY; production refuses.
MESHDECK_ALLOW_DERIVED_KEY = True

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "apps.core.openapi.MeshdeckAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Meshdeck API",
    "DESCRIPTION": "See, remember and safely change Istio service meshes.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "HealthStatusEnum": "apps.graphs.api.serializers.HEALTH",
        "SourceKindEnum": "apps.graphs.api.serializers.SOURCE_KINDS",
        "ClusterKindEnum": "apps.clusters.models.Cluster.Kind",
        "ChangeKindEnum": "apps.changes.api.serializers.CHANGE_KIND_CHOICES",
        "ChangeCreateKindEnum": "apps.changes.api.serializers.CREATE_KIND_CHOICES",
        "ChangeStatusEnum": "apps.changes.models.ChangeRequest.Status",
        "SnapshotStatusEnum": "apps.history.models.Snapshot.Status",
    },
    # Path parameters as Django's converters accept them (a slug; one path segment).
    "PATH_CONVERTER_OVERRIDES": {
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        "str": {"type": "string", "pattern": "^[^/]+$"},
    },
}

# --- static, i18n ---------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
# A fresh clone has no var/: SQLite cannot create its file's folder, and
# WhiteNoise warns on every request about a missing STATIC_ROOT.
for _folder in (DATA_DIR, STATIC_ROOT):
    _folder.mkdir(parents=True, exist_ok=True)
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Timeouts for calls to clusters and Prometheus (seconds).
MESHDECK_KUBE_TIMEOUT = env_int("MESHDECK_KUBE_TIMEOUT", 10, minimum=1)  # every Kubernetes API call
MESHDECK_PROMETHEUS_TIMEOUT = env_int("MESHDECK_PROMETHEUS_TIMEOUT", 15, minimum=1)  # connection tests
GRAPH_PROMETHEUS_TIMEOUT = env_int("GRAPH_PROMETHEUS_TIMEOUT", 10, minimum=1)  # graph and health queries

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- audit trail (apps.audit; the review pages in apps.auditreview) -------
INSTALLED_APPS += ["apps.audit", "apps.auditreview"]
# After authentication: audit events name the request's user, IP and request id.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "apps.audit.middleware.AuditContextMiddleware",
)
# Ed25519 private key signing checkpoints (`manage.py audit genkey`); never in
# the database. The embedded default derives one from SECRET_KEY; production
# refuses to start without it.
MESHDECK_AUDIT_KEY = env_str("MESHDECK_AUDIT_KEY", "")
# Public keys of retired signing keys, so their checkpoints still verify.
MESHDECK_AUDIT_VERIFY_KEYS = env_list("MESHDECK_AUDIT_VERIFY_KEYS", "")
# Also append every checkpoint to this file (JSON lines), outside the database.
MESHDECK_AUDIT_CHECKPOINT_FILE = env_str("MESHDECK_AUDIT_CHECKPOINT_FILE", "")
MESHDECK_AUDIT_CHECKPOINT_EVERY = env_int("MESHDECK_AUDIT_CHECKPOINT_EVERY", 1000)  # events; 0: off
MESHDECK_AUDIT_CHECKPOINT_MINUTES = env_int("MESHDECK_AUDIT_CHECKPOINT_MINUTES", 60)
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "apps.audit.tasks.audit_checkpoint_periodic",
    "schedule": timedelta(minutes=max(1, MESHDECK_AUDIT_CHECKPOINT_MINUTES)),
}

# --- Content-Security-Policy (django-csp) ------------------------------------
# Scripts and styles only from our own origin: no inline <script>, no inline event handler,
# no style attribute. Pages pass data to scripts in data- attributes or json_script.
# 'self' in connect-src also allows this origin's WebSocket (ws:/wss:, CSP level 3).
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- history: snapshots (apps.history, docs/history.md) ------------------------
INSTALLED_APPS += ["django_celery_beat", "apps.history"]
# The schedule lives in the database (django-celery-beat, editable in the admin): one
# PeriodicTask per cluster, kept in step with its snapshot schedule by apps.history.services.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
MESHDECK_SNAPSHOT_INTERVAL = env_int("MESHDECK_SNAPSHOT_INTERVAL", 60, minimum=1)  # seconds; per cluster overridable
MESHDECK_SNAPSHOT_WINDOW = env_int("MESHDECK_SNAPSHOT_WINDOW", 60, minimum=10)  # seconds of traffic per snapshot
# Queue of the snapshot tasks ("" = the default queue); a cluster's schedule may name its own queue,
# so a slow cluster gets workers of its own (`celery worker -Q <queue>`).
MESHDECK_SNAPSHOT_QUEUE = env_str("MESHDECK_SNAPSHOT_QUEUE", "")
if MESHDECK_SNAPSHOT_QUEUE:
    CELERY_TASK_ROUTES = {"apps.history.tasks.snapshot_cluster": {"queue": MESHDECK_SNAPSHOT_QUEUE}}
# Retention: every snapshot for N hours, then one per hour for N days, then one per day for N days.
MESHDECK_SNAPSHOT_KEEP_ALL_HOURS = env_int("MESHDECK_SNAPSHOT_KEEP_ALL_HOURS", 24, minimum=1)
MESHDECK_SNAPSHOT_KEEP_HOURLY_DAYS = env_int("MESHDECK_SNAPSHOT_KEEP_HOURLY_DAYS", 30, minimum=1)
MESHDECK_SNAPSHOT_KEEP_DAILY_DAYS = env_int("MESHDECK_SNAPSHOT_KEEP_DAILY_DAYS", 365, minimum=1)
# The latest graph is served from the latest snapshot while it is at most this old (seconds;
# default: two intervals plus a little); 0 turns it off (always live).
MESHDECK_SNAPSHOT_FRESH_SECONDS = env_int("MESHDECK_SNAPSHOT_FRESH_SECONDS", 2 * MESHDECK_SNAPSHOT_INTERVAL + 15,
                                          minimum=0)
CELERY_BEAT_SCHEDULE["history-prune"] = {
    "task": "apps.history.tasks.snapshots_prune",
    "schedule": timedelta(minutes=env_int("MESHDECK_SNAPSHOT_PRUNE_MINUTES", 60, minimum=1)),
}
CELERY_BEAT_SCHEDULE["history-schedules-sync"] = {
    "task": "apps.history.tasks.snapshot_schedules_sync",
    "schedule": timedelta(minutes=5),
}
if MESHDECK_INPROCESS_SCHEDULER:
    # No database scheduler in-process: a tick snapshots each cluster whose current bucket has none.
    CELERY_BEAT_SCHEDULE["history-snapshots-due"] = {
        "task": "apps.history.tasks.snapshots_due",
        "schedule": timedelta(seconds=min(5, MESHDECK_SNAPSHOT_INTERVAL)),
    }
# Rates are kept to this many mantissa bits (52: bit for bit; 20: one part in a million, far below
# what any graph shows) and stored relative to a key frame of the same topology, a new one every N windows.
MESHDECK_SNAPSHOT_RATE_BITS = env_int("MESHDECK_SNAPSHOT_RATE_BITS", 20, minimum=1)
MESHDECK_SNAPSHOT_KEYFRAME_EVERY = env_int("MESHDECK_SNAPSHOT_KEYFRAME_EVERY", 30, minimum=1)
MESHDECK_SNAPSHOT_PROMETHEUS_TIMEOUT = env_int("MESHDECK_SNAPSHOT_PROMETHEUS_TIMEOUT", 30, minimum=1)  # per query
