"""The image's HEALTHCHECK (deploy/healthcheck.py) and the probes' request, against a real web
process with production settings: they pass where a naive check would be redirected or refused."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.deploy.conftest import ROOT, load_topology
from tests.support.net import free_port

topology = load_topology()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """One plain-HTTP web process (as in the image, behind its balancer), production settings."""
    run = topology.Topology(run_dir=tmp_path_factory.mktemp("health"), database_url="postgres://nobody@127.0.0.1:1/none",
                            redis_url="redis://127.0.0.1:1/0", static_root=ROOT / "var" / "topology-static",
                            env={"DJANGO_ALLOWED_HOSTS": "meshdeck.example.com,localhost"})
    run.env = run._environment()
    run._collectstatic()
    port = free_port()
    process = topology.Process("web", topology.web_command("127.0.0.1", port), run.env, run.run_dir)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "Uvicorn running" not in process.log():
            assert process.alive(), process.log()
            time.sleep(0.3)
        yield port, run.env
    finally:
        process.stop()


def _healthcheck(port: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "deploy" / "healthcheck.py")], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, check=False, env={**env, "MESHDECK_HEALTHCHECK_PORT": str(port)})


def _status(port: int, headers: dict[str, str]) -> int:
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"http://127.0.0.1:{port}{topology.HEALTH_PATH}", headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_images_healthcheck_passes_on_a_healthy_web_process(web):
    port, env = web
    result = _healthcheck(port, env)
    assert result.returncode == 0, result.stderr


def test_the_healthcheck_fails_when_nothing_answers(web):
    _, env = web
    assert _healthcheck(free_port(), env).returncode == 1


def test_the_probes_request_is_what_production_settings_accept(web):
    port, _ = web
    # What the Kubernetes probes and haproxy's check send (deploy/kubernetes/web.yaml, haproxy.cfg):
    assert _status(port, {"Host": "localhost", "X-Forwarded-Proto": "https"}) == 200
    # Without the scheme header production redirects to HTTPS; with a Host it does not know, 400.
    assert _status(port, {"Host": "localhost"}) == 301
    assert _status(port, {"Host": "10.0.0.7:8000", "X-Forwarded-Proto": "https"}) == 400
