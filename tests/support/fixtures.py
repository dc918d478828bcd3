"""pytest fixtures for the real test infrastructure.

Loaded by the main conftest with ``pytest_plugins = ["tests.support.fixtures"]``
(or ad hoc with ``pytest -p tests.support.fixtures``).

Fixtures
--------
``kube_apiserver`` (session)
    One :class:`tests.support.kubeapi.KubeAPIServer` (etcd + kube-apiserver
    v1.20.2 + kube-controller-manager, Istio CRDs loaded) for the whole run,
    stopped at the end.
``kube_namespace`` (function)
    Factory ``kube_namespace(prefix="t", labels=None) -> str`` creating a
    uniquely named namespace; every namespace it made is deleted after the
    test.
``prometheus_factory`` (session)
    Factory ``prometheus_factory(targets, scrape_interval="1s", **kw) ->
    PrometheusServer`` (started); all are stopped at session end (tests may
    ``.stop()`` theirs earlier).
``chromium_path`` (session)
    ``pathlib.Path`` of Debian's chromium.

Missing binaries skip the test locally and fail it under CI (see
:func:`tests.support.binaries.require`). Tests using these fixtures get the
``kube`` / ``prometheus`` / ``browser`` markers automatically.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tests.support import binaries
from tests.support.kubeapi import KubeAPIServer, KubeStartupError
from tests.support.prometheus import PrometheusServer

_FIXTURE_MARKERS = {
    "kube_apiserver": "kube",
    "kube_namespace": "kube",
    "prometheus_factory": "prometheus",
    "chromium_path": "browser",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = getattr(item, "fixturenames", ())
        for fixture, marker in _FIXTURE_MARKERS.items():
            if fixture in names and item.get_closest_marker(marker) is None:
                item.add_marker(marker)


@pytest.fixture(scope="session")
def kube_apiserver() -> Iterable[KubeAPIServer]:
    for name in ("etcd", "kube-apiserver", "kube-controller-manager"):
        binaries.require(name)
    server = KubeAPIServer()
    try:
        server.start()
    except KubeStartupError as exc:
        pytest.fail(f"could not start the test Kubernetes control plane: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def kube_namespace(kube_apiserver: KubeAPIServer) -> Iterable[Callable[..., str]]:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(kube_apiserver.api_client())
    created: list[str] = []

    def make(prefix: str = "t", labels: dict[str, str] | None = None) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"[:63].strip("-")
        core.create_namespace(
            client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels or None))
        )
        created.append(name)
        return name

    yield make

    for name in created:
        try:
            core.delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture(scope="session")
def prometheus_factory() -> Iterable[Callable[..., PrometheusServer]]:
    servers: list[PrometheusServer] = []

    def make(targets: Iterable[Any] = (), scrape_interval: str = "1s", **kwargs) -> PrometheusServer:
        binaries.require("prometheus")
        server = PrometheusServer(targets, scrape_interval=scrape_interval, **kwargs)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="session")
def chromium_path():
    return binaries.require("chromium")
