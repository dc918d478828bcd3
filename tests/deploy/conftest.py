"""Shared by the deployment tests: the topology runner as a module, the rendered manifests, kubectl."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import binaries

ROOT = Path(__file__).resolve().parents[2]
KUBE_BASE = ROOT / "deploy" / "kubernetes"


def load_topology():
    """scripts/topology.py as a module (scripts/ is not a package)."""
    name = "meshdeck_topology"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "topology.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def topology_module():
    return load_topology()


def base_resources() -> list[dict]:
    """The kustomize base's objects read straight from the files it lists (no kubectl needed)."""
    kustomization = yaml.safe_load((KUBE_BASE / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((KUBE_BASE / name).read_text()) if d]
    return docs


def kubectl_path() -> str:
    """$MESHDECK_KUBECTL, the one scripts/kube/build.sh built, or the machine's; else skip (fail in CI)."""
    for candidate in (os.environ.get("MESHDECK_KUBECTL"), str(binaries.kube_bin_dir() / "kubectl"),
                      shutil.which("kubectl")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    message = "kubectl not found; `bash scripts/kube/build.sh` builds one when the machine has none"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def kubectl():
    path = kubectl_path()

    def run(*args: str, kubeconfig: Path | None = None, check: bool = True, stdin: str | None = None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["KUBECONFIG"] = str(kubeconfig) if kubeconfig else os.devnull
        result = subprocess.run([path, *args], env=env, input=stdin, capture_output=True, text=True,
                                timeout=120, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    return run
