# Meshdeck's image: one image for every process (web, worker, beat, migrate, exporter).
# docker-compose.yml and deploy/kubernetes/ run it with the commands of scripts/topology.py
# (tests/deploy/ checks they agree, and lints this file).

# --- front-end libraries, from the npm registry (scripts/vendor.sh) ------------------------
FROM node:20.18.1-bookworm-slim AS vendor
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/vendor.sh scripts/vendor.sh
RUN bash scripts/vendor.sh

# --- the portal ---------------------------------------------------------------------------
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=portal.production \
    MESHDECK_DATA_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

# A fixed, numeric, unprivileged user: Kubernetes' runAsNonRoot can check a number.
RUN groupadd --system --gid 10001 meshdeck \
    && useradd --system --uid 10001 --gid meshdeck --home-dir /app --no-create-home --shell /usr/sbin/nologin meshdeck

WORKDIR /app
COPY pyproject.toml requirements.lock ./
COPY portal portal
COPY apps apps
# Exactly the lock's versions of what the portal needs, without the lock's test and lint extras:
# the lock as constraints. pip checks no hashes for a local package, so they are dropped here.
RUN sed -E '/^[[:space:]]*--hash=/d; s/[[:space:]]*\\$//' requirements.lock > /tmp/constraints.txt \
    && pip install --no-cache-dir --constraint /tmp/constraints.txt . \
    && rm /tmp/constraints.txt
COPY manage.py ./
COPY templates templates
COPY static static
COPY deploy/healthcheck.py deploy/healthcheck.py
COPY --from=vendor /src/static/vendor static/vendor

# collectstatic only reads settings; production's start-up checks want their variables, so it
# gets throw-away values for this one command (never kept in the image's environment). The real
# ones come from the environment at run time (compose: the operator's shell; Kubernetes: a Secret).
RUN DJANGO_SECRET_KEY=collectstatic-only-placeholder-not-a-secret-0123456789abcdef \
    DATABASE_URL=postgres://collectstatic@127.0.0.1/none REDIS_URL=redis://127.0.0.1:6379/0 \
    MESHDECK_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    MESHDECK_AUDIT_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var && chown meshdeck:meshdeck /app/var

USER 10001:10001
EXPOSE 8000
# The web process's own check (worker and beat override it in compose).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["python", "deploy/healthcheck.py"]
CMD ["uvicorn", "portal.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--forwarded-allow-ips", "*", "--timeout-keep-alive", "75"]
