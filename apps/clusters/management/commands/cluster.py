"""python manage.py cluster add|set|test|list|genkey|rekey ..."""
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.audit.actor import Actor, acting_as
from apps.clusters.crypto import generate_key
from apps.clusters.kubeconfig import EmbeddedFile, KubeconfigError, embed_referenced_files
from apps.clusters.models import Cluster
from apps.clusters.services import (
    ClusterInputError,
    cluster_create,
    cluster_test_connection,
    cluster_update,
    clusters_reencrypt_credentials,
)


class Command(BaseCommand):
    help = ("Manage clusters: add, set (settings, health tolerances), test, list; "
            "genkey makes a credentials encryption key.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Register a cluster")
        add.add_argument("name")
        add.add_argument("--kubeconfig", help="Path to a kubeconfig file (no exec plugins); the certificate and "
                         "token files it names are embedded, as `kubectl config view --flatten` does")
        add.add_argument("--context", help="Context in the kubeconfig (default: current-context)")
        add.add_argument("--server", help="API server URL (with --token)")
        add.add_argument("--token-file", help="File holding a bearer token (with --server)")
        add.add_argument("--ca-file", help="CA certificate PEM file (with --server)")
        add.add_argument("--prometheus", default="", help="Prometheus URL")
        add.add_argument("--grafana", default="")
        add.add_argument("--tracing", default="", help="Jaeger/Tempo URL")
        add.add_argument("--istio-namespace", default="istio-system")
        add.add_argument("--simulated", action="store_true", help="A built-in simulated mesh")
        add.add_argument("--topology", default="demo", help="Simulator topology (with --simulated)")
        change = sub.add_parser("set", help="Change a cluster's settings")
        change.add_argument("name")
        change.add_argument("--prometheus", dest="prometheus_url", help="Prometheus URL ('' for none)")
        change.add_argument("--grafana", dest="grafana_url")
        change.add_argument("--tracing", dest="tracing_url", help="Jaeger/Tempo URL")
        change.add_argument("--istio-namespace", dest="istio_namespace")
        change.add_argument("--health-tolerances", dest="health_tolerances", metavar="JSON|@FILE|default",
                            help="Kiali-format tolerance list as JSON, @file.json, or 'default' for Kiali's defaults")
        test = sub.add_parser("test", help="Test a cluster's connection")
        test.add_argument("name")
        test.add_argument("--json", action="store_true")
        sub.add_parser("list", help="List clusters")
        sub.add_parser("genkey", help="Print a new Fernet key for MESHDECK_ENCRYPTION_KEYS")
        sub.add_parser("rekey", help="Re-encrypt all credentials with the first MESHDECK_ENCRYPTION_KEYS key")

    def handle(self, *args, action, **opts):
        with acting_as(Actor.command(f"cluster {action}")):
            return getattr(self, f"do_{action}")(**opts)

    def _read(self, path: str | None, what: str) -> str | None:
        if not path:
            return None
        try:
            return Path(path).read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {what} {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{what} {path} is not UTF-8 text.") from exc

    def _read_kubeconfig(self, path: str | None, context: str | None) -> tuple[str | None, list[EmbeddedFile]]:
        """The kubeconfig with the files it names embedded: they are on this machine, not the portal's."""
        text = self._read(path, "kubeconfig")
        if path is None or text is None:
            return None, []
        try:
            return embed_referenced_files(text, base_dir=Path(path).resolve().parent, context=context)
        except KubeconfigError as exc:
            raise CommandError(exc.message) from exc

    def do_add(self, name, kubeconfig, context, server, token_file, ca_file, prometheus, grafana, tracing,
               istio_namespace, simulated, topology, **_):
        kubeconfig_text, embedded = self._read_kubeconfig(kubeconfig, context)
        try:
            cluster = cluster_create(
                name=name, kind=Cluster.Kind.SIMULATED if simulated else Cluster.Kind.KUBERNETES,
                simulator_topology=topology, kubeconfig=kubeconfig_text, kube_context=context,
                api_server_url=server, token=(self._read(token_file, "token file") or "").strip() or None,
                ca_pem=self._read(ca_file, "CA file"), prometheus_url=prometheus, grafana_url=grafana,
                tracing_url=tracing, istio_namespace=istio_namespace,
            )
        except ClusterInputError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Added cluster {cluster.name} ({cluster.get_kind_display()})."))
        for item in embedded:
            self.stdout.write(f"Embedded {item.path} ({item.kubeconfig_field}) into the stored kubeconfig.")
        self.stdout.write(f"Test it with: python manage.py cluster test {cluster.name}")

    def _tolerances(self, raw: str):
        if raw == "default":
            return None
        text = self._read(raw[1:], "tolerances file") if raw.startswith("@") else raw
        if text is None:  # "@" with no file name
            raise CommandError("Name the tolerances file after @, e.g. --health-tolerances @tolerances.json.")
        try:
            return json.loads(text)
        except ValueError as exc:
            where = raw if raw.startswith("@") else "--health-tolerances"
            raise CommandError(f"{where} is not JSON ({exc}); give a list like "
                               '[{"code": "5XX", "protocol": "http", "degraded": 0, "failure": 10}].') from exc

    def do_set(self, name, **opts):
        cluster = self._cluster(name)
        changes = {key: opts[key] for key in ("prometheus_url", "grafana_url", "tracing_url", "istio_namespace")
                   if opts.get(key) is not None}
        if opts.get("health_tolerances") is not None:
            changes["health_tolerances"] = self._tolerances(opts["health_tolerances"])
        if not changes:
            raise CommandError("Nothing to change: give --prometheus, --grafana, --tracing, --istio-namespace "
                               "or --health-tolerances.")
        try:
            cluster_update(cluster=cluster, **changes)
        except ClusterInputError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError(" ".join(m for messages in exc.message_dict.values() for m in messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Changed {', '.join(changes)} of cluster {cluster.name}."))

    def _cluster(self, name: str) -> Cluster:
        cluster = Cluster.objects.filter(name=name).first()
        if cluster is None:
            known = ", ".join(Cluster.objects.values_list("name", flat=True))
            raise CommandError(f"No cluster named '{name}'. Known: " + known)
        return cluster

    def do_test(self, name, json: bool = False, **_):
        cluster = self._cluster(name)
        report = cluster_test_connection(cluster, record=True)
        if json:
            self.stdout.write(_json_dumps(report))
        else:
            for check in report["checks"]:
                mark = self.style.SUCCESS("ok  ") if check["ok"] else self.style.ERROR("FAIL")
                details = {k: v for k, v in check.items() if k not in ("name", "ok")}
                self.stdout.write(f"{mark} {check['name']}: " + ", ".join(f"{k}={v}" for k, v in details.items()))
        if not report["ok"]:
            raise CommandError("Connection test failed.")

    def do_list(self, **_):
        for c in Cluster.objects.all():
            state = {True: "ok", False: "failing", None: "untested"}[c.last_check_ok]
            self.stdout.write(f"{c.name:20} {c.kind:11} {state:9} {c.api_server_url or c.simulator_topology}")

    def do_genkey(self, **_):
        self.stdout.write(generate_key())

    def do_rekey(self, **_):
        done, unreadable = clusters_reencrypt_credentials()
        self.stdout.write(f"Re-encrypted the credentials of {len(done)} cluster(s) with the first key"
                          + (f": {', '.join(done)}." if done else "."))
        if unreadable:
            raise CommandError(
                "No configured key can read the credentials of: " + ", ".join(unreadable)
                + ". Add the key they were saved with to MESHDECK_ENCRYPTION_KEYS, or enter them again."
            )


def _json_dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
