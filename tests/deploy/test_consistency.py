"""docker-compose.yml, the Dockerfile and deploy/kubernetes/ run what scripts/topology.py runs.

The runner is what the topology test and the load benchmark start for real; these files cannot
be run here (no container engine), so they are held to the runner: the same commands, the same
environment variables, the same ports and health path, and they parse.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import ROOT, base_resources, load_topology
from tests.deploy.dockerfile_lint import final_stage, image_pinned

topology = load_topology()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PORTAL_SERVICES = ("migrate", "web", "worker", "beat", "exporter")


# --- compose ------------------------------------------------------------------------------

def test_compose_has_the_production_topology():
    assert set(SERVICES) == {"postgres", "redis", "migrate", "web", "lb", "worker", "beat", "exporter", "prometheus"}
    assert SERVICES["web"]["deploy"]["replicas"] == 2
    assert "deploy" not in SERVICES["beat"] or SERVICES["beat"]["deploy"].get("replicas", 1) == 1


@pytest.mark.parametrize("service", PORTAL_SERVICES)
def test_compose_runs_the_runners_commands(service):
    assert SERVICES[service]["command"] == topology.image_commands()[service]


@pytest.mark.parametrize("service", PORTAL_SERVICES)
def test_every_portal_service_is_the_image_with_every_required_variable(service):
    spec = SERVICES[service]
    assert spec["image"] == "meshdeck:latest" and spec["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert set(topology.REQUIRED_ENV) <= set(spec["environment"])
    assert spec["environment"]["DJANGO_SETTINGS_MODULE"] == "portal.production"


def test_compose_takes_secrets_from_the_operator_never_from_the_file():
    env = SERVICES["web"]["environment"]
    for name in topology.SECRET_ENV:
        value = env[name]
        if name == "DATABASE_URL":  # built from the password variable
            assert "${POSTGRES_PASSWORD" in value
            continue
        assert re.fullmatch(r"\$\{" + name + r":\?[^}]+\}", value), f"{name} must be ${{{name}:?...}}"


def test_migrations_run_once_before_web_worker_and_beat():
    for service in ("web", "worker", "beat", "exporter"):
        assert SERVICES[service]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert SERVICES["migrate"]["restart"] == "no"


def test_compose_images_are_pinned():
    for name, spec in SERVICES.items():
        if name not in PORTAL_SERVICES:
            assert image_pinned(spec["image"]), f"{name}: {spec['image']}"


def test_balancer_terminates_tls_and_balances_every_web_replica_on_the_web_port():
    cfg = (ROOT / "deploy" / "compose" / "haproxy.cfg").read_text()
    assert SERVICES["lb"]["ports"] == ["8443:8443"] and "bind :8443 ssl crt" in cfg
    assert f"web:{topology.IMAGE_WEB_PORT}" in cfg and "balance roundrobin" in cfg
    assert "X-Forwarded-Proto https" in cfg and "option forwardfor" in cfg
    assert f"uri {topology.HEALTH_PATH}" in cfg
    # one balancer, so one trusted X-Forwarded-For hop; the probe's Host must be allowed
    env = SERVICES["web"]["environment"]
    assert env["MESHDECK_TRUSTED_PROXY_COUNT"] == "1"
    assert "hdr Host localhost" in cfg and env["DJANGO_ALLOWED_HOSTS"].endswith(",localhost")
    assert SERVICES["web"]["expose"] == [str(topology.IMAGE_WEB_PORT)]


def test_demo_prometheus_scrapes_the_exporter():
    prom = yaml.safe_load((ROOT / "deploy" / "compose" / "prometheus.yml").read_text())
    targets = [t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == [f"exporter:{topology.IMAGE_EXPORTER_PORT}"]
    assert SERVICES["exporter"]["expose"] == [str(topology.IMAGE_EXPORTER_PORT)]


# --- Dockerfile -------------------------------------------------------------------------------

def _final(keyword: str) -> list[str]:
    return [i.args for i in final_stage((ROOT / "Dockerfile").read_text()) if i.keyword == keyword]


def test_the_images_default_command_is_the_web_process():
    assert json.loads(_final("CMD")[-1]) == topology.web_command()
    assert _final("EXPOSE") == [str(topology.IMAGE_WEB_PORT)]
    assert "DJANGO_SETTINGS_MODULE=portal.production" in " ".join(_final("ENV"))


def test_the_image_collects_static_files_and_its_healthcheck_asks_the_health_path():
    runs = " ".join(_final("RUN"))
    assert " ".join(topology.collectstatic_command()) in runs
    assert "deploy/healthcheck.py" in _final("HEALTHCHECK")[-1]
    check = (ROOT / "deploy" / "healthcheck.py").read_text()
    assert f'PATH = "{topology.HEALTH_PATH}"' in check and f'"{topology.IMAGE_WEB_PORT}"' in check
    # the healthcheck and the vendor script are in the build context
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "deploy" not in ignored and "scripts" not in ignored and ".git" in ignored and ".env" in ignored


def test_the_image_installs_the_locked_versions():
    runs = " ".join(_final("RUN"))
    assert "--constraint /tmp/constraints.txt ." in runs and "requirements.lock" in runs
    assert "requirements.lock" in " ".join(_final("COPY"))
    assert "requirements.lock" not in (ROOT / ".dockerignore").read_text()


def test_the_images_user_is_the_one_kubernetes_runs_as():
    assert _final("USER")[-1] == "10001:10001"
    for obj in base_resources():
        if obj["kind"] in ("Deployment", "Job"):
            ctx = obj["spec"]["template"]["spec"]["securityContext"]
            assert (ctx["runAsUser"], ctx["runAsGroup"], ctx["runAsNonRoot"]) == (10001, 10001, True)


# --- Kubernetes ------------------------------------------------------------------------------

def _by_kind(kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in base_resources() if o["kind"] == kind}


def _container(obj: dict) -> dict:
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    return container


def test_kubernetes_runs_the_runners_commands_with_the_replicas_asked_for():
    deployments = _by_kind("Deployment")
    commands = topology.image_commands()
    assert {n: _container(d)["command"] for n, d in deployments.items()} == {
        "meshdeck-web": commands["web"], "meshdeck-worker": commands["worker"], "meshdeck-beat": commands["beat"]}
    assert _container(_by_kind("Job")["meshdeck-migrate"])["command"] == commands["migrate"]
    assert deployments["meshdeck-web"]["spec"]["replicas"] == 2
    assert deployments["meshdeck-beat"]["spec"]["replicas"] == 1
    assert deployments["meshdeck-beat"]["spec"]["strategy"] == {"type": "Recreate"}  # never two beats


def test_web_pods_listen_and_are_probed_where_the_runner_probes():
    web = _container(_by_kind("Deployment")["meshdeck-web"])
    assert web["ports"] == [{"name": "http", "containerPort": topology.IMAGE_WEB_PORT, "protocol": "TCP"}]
    for probe in (web["readinessProbe"], web["livenessProbe"]):
        assert probe["httpGet"]["path"] == topology.HEALTH_PATH
        headers = {h["name"]: h["value"] for h in probe["httpGet"]["httpHeaders"]}
        assert headers == {"Host": "localhost", "X-Forwarded-Proto": "https"}
    service = _by_kind("Service")["meshdeck-web"]
    assert service["spec"]["selector"] == _by_kind("Deployment")["meshdeck-web"]["spec"]["selector"]["matchLabels"]


def test_settings_come_from_the_configmap_and_secrets_from_a_secret_reference_only():
    config = _by_kind("ConfigMap")["meshdeck-config"]["data"]
    secret_names = set(topology.SECRET_ENV)
    assert not secret_names & set(config), "secrets must not be in the ConfigMap"
    assert set(topology.REQUIRED_ENV) - secret_names <= set(config)
    assert "localhost" in config["DJANGO_ALLOWED_HOSTS"].split(",")  # the probes' Host
    for obj in base_resources():
        if obj["kind"] in ("Deployment", "Job"):
            env_from = _container(obj)["envFrom"]
            assert {"configMapRef": {"name": "meshdeck-config"}} in env_from
            assert {"secretRef": {"name": "meshdeck-env"}} in env_from
    secrets = _by_kind("Secret")
    assert "meshdeck-env" not in secrets  # the operator creates it
    for secret in secrets.values():
        assert not secret.get("data") and not secret.get("stringData"), "no secret values in the base"
        assert secret["type"] == "kubernetes.io/service-account-token"


def test_portal_pods_are_locked_down_and_mount_no_cluster_token():
    accounts = _by_kind("ServiceAccount")
    assert accounts["meshdeck-portal"]["automountServiceAccountToken"] is False
    for obj in base_resources():
        if obj["kind"] in ("Deployment", "Job"):
            pod = obj["spec"]["template"]["spec"]
            assert pod["serviceAccountName"] == "meshdeck-portal"
            sec = _container(obj)["securityContext"]
            assert sec == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                           "capabilities": {"drop": ["ALL"]}}
            mounts = {m["mountPath"] for m in _container(obj)["volumeMounts"]}
            assert {"/tmp", "/app/var"} <= mounts  # beat's schedule, MESHDECK_DATA_DIR


READ = {"get", "list", "watch"}
EXPECTED_RULES = {
    ("", "namespaces"): READ | {"patch"},
    ("", "pods"): READ, ("", "services"): READ, ("", "endpoints"): READ,
    ("apps", "replicasets"): READ,
    ("apps", "deployments"): READ | {"patch"}, ("apps", "statefulsets"): READ | {"patch"},
    ("apps", "daemonsets"): READ | {"patch"},
    ("networking.istio.io", "virtualservices"): READ | {"create", "patch", "delete"},
    ("networking.istio.io", "destinationrules"): READ | {"create", "patch", "delete"},
}


def test_the_cluster_role_is_exactly_the_least_meshdeck_needs():
    from apps.clusters.inventory import ISTIO_KINDS

    expected = dict(EXPECTED_RULES)
    for group, _, plural in ISTIO_KINDS.values():
        expected.setdefault((group, plural), READ)  # every Istio kind the inventory reads
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in _by_kind("ClusterRole")["meshdeck"]["rules"]:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == expected
    assert not any("*" in verbs for verbs in granted.values())
    binding = _by_kind("ClusterRoleBinding")["meshdeck"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "meshdeck", "namespace": "meshdeck"}]


# --- the runner --------------------------------------------------------------------------------

def test_the_runner_sets_every_required_variable_and_keeps_its_secrets(tmp_path: Path):
    run = topology.Topology(run_dir=tmp_path, database_url="postgres://u@127.0.0.1:5432/x",
                            redis_url="redis://127.0.0.1:6379/6")
    first = run._environment()
    assert all(first.get(name) for name in topology.REQUIRED_ENV)
    assert first["DJANGO_SETTINGS_MODULE"] == "portal.production"
    assert len(first["DJANGO_SECRET_KEY"]) >= 50
    again = topology.Topology(run_dir=tmp_path, database_url="postgres://u@127.0.0.1:5432/x",
                              redis_url="redis://127.0.0.1:6379/6")._environment()
    assert {k: again[k] for k in topology.SECRET_ENV if k != "DATABASE_URL"} == {
        k: first[k] for k in topology.SECRET_ENV if k != "DATABASE_URL"}  # a restart reads its own data
    assert (tmp_path / "env.json").stat().st_mode & 0o077 == 0


def test_the_runners_web_command_is_composes_plus_tls_only():
    cert, key = Path("/c.pem"), Path("/k.pem")
    ours = topology.web_command("127.0.0.1", 1234) + topology.tls_args(cert, key)
    theirs = topology.web_command()
    assert ours[:3] == theirs[:3] and ours[7:11] == theirs[7:11]  # only --host and --port differ
    assert ours[11:] == ["--ssl-certfile", "/c.pem", "--ssl-keyfile", "/k.pem"]
    assert theirs[9:11] == ["--timeout-keep-alive", "75"]  # longer than the balancers' idle timeout


def test_print_commands_lists_the_image_commands(capsys):
    assert topology.main(["--print-commands"]) == 0
    assert json.loads(capsys.readouterr().out) == topology.image_commands()
