"""Reading a kubeconfig: the one place that decides whether it is usable.

``parse_kubeconfig`` takes the text, picks the context, refuses what the
portal will not do and returns everything the Kubernetes client needs
(``KubeconfigSettings``). Services validate with it and the gateway connects
with it, so what is accepted is exactly what can be used.

Refused on purpose:

* exec and auth-provider plugins: they would run programs on the portal's
  host with the portal's privileges (use a token or a client certificate);
* references to files (``certificate-authority``, ``client-certificate``,
  ``client-key``, ``tokenFile``): the portal stores the kubeconfig text, and
  those files are on the machine it came from. ``embed_referenced_files``
  inlines them, for the command line, which runs on that machine.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .gateway import GatewayError

FLATTEN_HINT = (
    "`kubectl config view --raw --flatten --minify` prints the kubeconfig with the files embedded "
    "(or add the cluster with `manage.py cluster add --kubeconfig`, which embeds them itself)."
)


class KubeconfigError(GatewayError):
    """The kubeconfig cannot be used; the message says why and what to do."""

    code = "kubeconfig"
    http_status = 400


class KubeconfigUnsupported(KubeconfigError):
    """Exec and auth-provider plugins: refused on purpose, not malformed."""

    code = "kubeconfig_unsupported"


@dataclass(frozen=True)
class KubeconfigSettings:
    """The selected context of a usable kubeconfig, and how to connect with it."""

    context: str
    cluster: str
    user: str
    server: str  # the API server URL, without a trailing slash
    auth: str  # "token", "client-certificate" or "basic"
    token: str | None = None
    ca_pem: str | None = None
    verify: bool = True
    client_cert_pem: str | None = None
    client_key_pem: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_server_name: str | None = None


@dataclass
class _Selected:
    """The context a kubeconfig document resolves to, with its cluster and user entries."""

    context: str
    cluster_name: str
    cluster: dict[str, Any]
    user_name: str
    user: dict[str, Any]


def _named(items: Any, kind: str) -> dict[str, dict[str, Any]]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise KubeconfigError(f"'{kind}s' must be a list.")
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise KubeconfigError(f"Every entry of '{kind}s' needs a 'name'.")
        body = item.get(kind)
        if body is None:
            body = item[kind] = {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"The {kind} entry '{item['name']}' must be a mapping.")
        out[item["name"]] = body
    return out


def _document(text: str) -> dict[str, Any]:
    if not text or not text.strip():
        raise KubeconfigError("The kubeconfig is empty.")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise KubeconfigError(f"The kubeconfig is not valid YAML{where}.") from exc
    if not isinstance(doc, dict) or doc.get("kind", "Config") != "Config":
        raise KubeconfigError("This is not a kubeconfig: expected a YAML mapping of kind 'Config'.")
    return doc


def _select(doc: dict[str, Any], context: str | None) -> _Selected:
    """The context asked for (else current-context, else the only one), its cluster and user."""
    contexts = _named(doc.get("contexts"), "context")
    clusters = _named(doc.get("clusters"), "cluster")
    users = _named(doc.get("users"), "user")
    if not contexts:
        raise KubeconfigError("The kubeconfig has no contexts.")
    name = context or doc.get("current-context") or (next(iter(contexts)) if len(contexts) == 1 else "")
    if not name:
        raise KubeconfigError(
            "The kubeconfig has several contexts and no current-context; choose one: " + ", ".join(sorted(contexts))
        )
    if name not in contexts:
        raise KubeconfigError(f"Context '{name}' is not in the kubeconfig; it has: " + ", ".join(sorted(contexts)))
    cluster_name, user_name = contexts[name].get("cluster"), contexts[name].get("user")
    if cluster_name not in clusters:
        raise KubeconfigError(f"Context '{name}' names cluster '{cluster_name}', which the kubeconfig does not define.")
    if user_name not in users:
        raise KubeconfigError(f"Context '{name}' names user '{user_name}', which the kubeconfig does not define.")
    return _Selected(name, cluster_name, clusters[cluster_name], user_name, users[user_name])


def _pem(value: str, field_name: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:  # (UnicodeDecodeError is a ValueError)
        raise KubeconfigError(f"The kubeconfig field {field_name} is not valid base64 of PEM text: {exc}.") from exc


def _refuse_plugins(user_name: str, user: dict[str, Any]) -> None:
    if "exec" in user:
        command = (user.get("exec") or {}).get("command", "?")
        raise KubeconfigUnsupported(
            f"User '{user_name}' authenticates with an exec plugin ('{command}'). Meshdeck does not run programs "
            "from kubeconfigs: use a service-account token or a client certificate instead."
        )
    if "auth-provider" in user:
        provider = (user.get("auth-provider") or {}).get("name", "?")
        raise KubeconfigUnsupported(
            f"User '{user_name}' uses the '{provider}' auth-provider plugin, which Meshdeck does not run. "
            "Use a service-account token or a client certificate."
        )


def _credentials(user_name: str, user: dict[str, Any]) -> dict[str, Any]:
    if user.get("token"):
        return {"auth": "token", "token": str(user["token"])}
    if user.get("tokenFile"):
        raise KubeconfigError(
            f"tokenFile points at a file ({user['tokenFile']}) on the machine the kubeconfig came from: "
            f"paste the token itself instead. {FLATTEN_HINT}"
        )
    if user.get("client-certificate-data") or user.get("client-key-data"):
        if not (user.get("client-certificate-data") and user.get("client-key-data")):
            raise KubeconfigError("A client certificate needs both client-certificate-data and client-key-data.")
        return {
            "auth": "client-certificate",
            "client_cert_pem": _pem(user["client-certificate-data"], "client-certificate-data"),
            "client_key_pem": _pem(user["client-key-data"], "client-key-data"),
        }
    if user.get("client-certificate") or user.get("client-key"):
        raise KubeconfigError(
            "Client certificate paths point at files on the machine the kubeconfig came from: embed them as "
            f"client-certificate-data and client-key-data. {FLATTEN_HINT}"
        )
    if user.get("username") and user.get("password"):
        return {"auth": "basic", "username": str(user["username"]), "password": str(user["password"])}
    raise KubeconfigError(f"User '{user_name}' has no credentials (token or client certificate).")


def parse_kubeconfig(text: str, context: str | None = None) -> KubeconfigSettings:
    """The selected context's connection settings, or a KubeconfigError saying what to change."""
    chosen = _select(_document(text), context)
    cluster = chosen.cluster
    server = cluster.get("server")
    if not server or not str(server).startswith(("https://", "http://")):
        raise KubeconfigError(f"Cluster '{chosen.cluster_name}' has no usable 'server' URL (https://host:port).")
    _refuse_plugins(chosen.user_name, chosen.user)
    credentials = _credentials(chosen.user_name, chosen.user)
    ca_pem = None
    if cluster.get("certificate-authority-data"):
        ca_pem = _pem(cluster["certificate-authority-data"], "certificate-authority-data")
    elif cluster.get("certificate-authority"):
        raise KubeconfigError(
            f"certificate-authority points at a file ({cluster['certificate-authority']}) on the machine the "
            f"kubeconfig came from: embed it as certificate-authority-data. {FLATTEN_HINT}"
        )
    return KubeconfigSettings(
        context=chosen.context,
        cluster=chosen.cluster_name,
        user=chosen.user_name,
        server=str(server).rstrip("/"),
        ca_pem=ca_pem,
        verify=not cluster.get("insecure-skip-tls-verify", False),
        tls_server_name=cluster.get("tls-server-name") or None,
        **credentials,
    )


# ---------------------------------------------------------------------------
# Embedding referenced files (the command line, on the operator's machine)
# ---------------------------------------------------------------------------

# (entry, path field, inline field, how the file's bytes become the inline value)
_FILE_FIELDS = (
    ("cluster", "certificate-authority", "certificate-authority-data", "base64"),
    ("user", "client-certificate", "client-certificate-data", "base64"),
    ("user", "client-key", "client-key-data", "base64"),
    ("user", "tokenFile", "token", "text"),
)


@dataclass(frozen=True)
class EmbeddedFile:
    kubeconfig_field: str  # the field that named it, e.g. "client-key"
    path: Path


def embed_referenced_files(text: str, *, base_dir: Path, context: str | None = None) -> tuple[str, list[EmbeddedFile]]:
    """Inline the files the selected context refers to, as ``kubectl config view --flatten`` does.

    Relative paths resolve against ``base_dir`` (the kubeconfig file's
    directory). An inline value already present wins over a path, as in
    kubectl. Returns the kubeconfig text (unchanged if nothing was embedded)
    and what was embedded; a file that cannot be read is a KubeconfigError
    naming it.
    """
    doc = _document(text)
    chosen = _select(doc, context)
    entries = {"cluster": (chosen.cluster, f"cluster '{chosen.cluster_name}'"),
               "user": (chosen.user, f"user '{chosen.user_name}'")}
    embedded: list[EmbeddedFile] = []
    for entry, path_field, inline_field, encoding in _FILE_FIELDS:
        body, owner = entries[entry]
        if not body.get(path_field):
            continue
        path = Path(str(body.pop(path_field)))
        if body.get(inline_field):
            continue  # the inline value is what kubectl would use
        if not path.is_absolute():
            path = base_dir / path
        try:
            raw = path.read_bytes()
            body[inline_field] = base64.b64encode(raw).decode() if encoding == "base64" else raw.decode().strip()
        except OSError as exc:
            raise KubeconfigError(
                f"Cannot read {path} ({path_field} of {owner} in the kubeconfig): {exc.strerror or exc}."
            ) from exc
        except UnicodeDecodeError as exc:
            raise KubeconfigError(f"{path} ({path_field} of {owner} in the kubeconfig) is not UTF-8 text.") from exc
        embedded.append(EmbeddedFile(path_field, path))
    if not embedded:
        return text, []
    return yaml.safe_dump(doc, sort_keys=False), embedded
