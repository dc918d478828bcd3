"""The Dockerfile passes our hadolint-like checks, and the checks catch what they are for."""
from pathlib import Path

import pytest

from tests.deploy.dockerfile_lint import image_pinned, lint_dockerfile

ROOT = Path(__file__).resolve().parents[2]


def codes(text: str) -> list[str]:
    return sorted({f.code for f in lint_dockerfile(text)})


def test_the_repositorys_dockerfile_is_clean():
    findings = lint_dockerfile((ROOT / "Dockerfile").read_text())
    assert findings == [], "\n".join(map(str, findings))


GOOD = """FROM python:3.11.11-slim-bookworm
WORKDIR /app
RUN pip install --no-cache-dir .
USER 10001
HEALTHCHECK CMD ["python", "check.py"]
CMD ["python", "-m", "app"]
"""


def test_a_minimal_good_dockerfile_is_clean():
    assert lint_dockerfile(GOOD) == []


@pytest.mark.parametrize("image, pinned", [
    ("python:3.11.11-slim-bookworm", True), ("python:3.11", True), ("postgres:15.10-bookworm", True),
    ("prom/prometheus:v2.53.3", True), ("haproxy:2.8.12-bookworm", True),
    ("python@sha256:" + "0" * 64, True), ("python:latest", False), ("python", False),
    ("python:3-slim", False), ("registry.example.com:5000/meshdeck", False),
])
def test_pinned_images(image, pinned):
    assert image_pinned(image) is pinned


@pytest.mark.parametrize("change, code", [
    (("FROM python:3.11.11-slim-bookworm", "FROM python:latest"), "MD001"),
    (("FROM python:3.11.11-slim-bookworm", "FROM python"), "MD001"),
    (("USER 10001\n", ""), "MD002"),
    (("USER 10001", "USER root"), "MD002"),
    (("USER 10001", "USER 0:0"), "MD002"),
    (("WORKDIR /app", "WORKDIR /app\nENV DJANGO_SECRET_KEY=abc123"), "MD003"),
    (("WORKDIR /app", "WORKDIR /app\nARG GITHUB_TOKEN=ghp_x"), "MD003"),
    (("WORKDIR /app", "WORKDIR /app\nENV POSTGRES_PASSWORD hunter2"), "MD003"),
    (("WORKDIR /app", "WORKDIR /app\nCOPY .env ./"), "MD003"),
    (("WORKDIR /app", "WORKDIR /app\nCOPY certs/server.key /etc/ssl/"), "MD003"),
    (('HEALTHCHECK CMD ["python", "check.py"]\n', ""), "MD004"),
    (("RUN pip install --no-cache-dir .", "RUN apt-get install -y curl && rm -rf /var/lib/apt/lists/*"), "MD005"),
    (("RUN pip install --no-cache-dir .", "RUN apt-get install --no-install-recommends curl"), "MD005"),
    (("RUN pip install --no-cache-dir .", "RUN apt-get update && apt-get install -y --no-install-recommends curl"),
     "MD005"),
    (("RUN pip install --no-cache-dir .", "RUN pip install ."), "MD006"),
    (("WORKDIR /app", "WORKDIR /app\nADD . /app"), "MD007"),
    (('CMD ["python", "-m", "app"]', "CMD python -m app"), "MD008"),
    (('HEALTHCHECK CMD ["python", "check.py"]', "HEALTHCHECK CMD curl -f http://localhost/"), "MD008"),
    (("WORKDIR /app", "WORKDIR app"), "MD009"),
    (("RUN pip install --no-cache-dir .", "RUN sudo pip install --no-cache-dir ."), "MD010"),
])
def test_each_rule_catches_its_mistake(change, code):
    old, new = change
    assert old in GOOD
    assert code in codes(GOOD.replace(old, new, 1))


def test_secret_names_without_a_value_and_build_stages_are_fine():
    text = GOOD.replace("WORKDIR /app", "WORKDIR /app\nARG DJANGO_SECRET_KEY\nENV PIP_NO_CACHE_DIR=1")
    assert lint_dockerfile(text) == []
    staged = "FROM node:20.18.1-bookworm-slim AS vendor\nRUN true\n" + GOOD.replace(
        "WORKDIR /app", "WORKDIR /app\nCOPY --from=vendor /src/x /app/x")
    assert lint_dockerfile(staged) == []


def test_continuation_lines_and_comments_are_one_instruction():
    text = GOOD.replace("RUN pip install --no-cache-dir .",
                        "RUN pip install \\\n    # the package\n    --no-cache-dir \\\n    .")
    assert lint_dockerfile(text) == []
