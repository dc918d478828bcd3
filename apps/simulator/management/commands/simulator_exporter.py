"""``python manage.py simulator_exporter``: serve a simulated mesh's /metrics.

``--cluster NAME`` serves that simulated cluster's mesh as every portal process
sees it (each scrape first follows the cluster's change log in the database);
``--topology`` serves a standalone mesh of its own.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from apps.simulator.exporter import make_server
from apps.simulator.mesh import SimulatedMesh


def run_exporter(topology: str = "demo", host: str = "127.0.0.1", port: int = 9464, seed: int = 1, stdout=None):
    """Build a standalone mesh and the server (not yet serving); returns (mesh, server)."""
    mesh = SimulatedMesh(topology, seed=seed)
    server = _listen(mesh, host, port)
    _announce(server, host, f"simulated mesh {topology!r} (seed {seed})", stdout)
    return mesh, server


def run_cluster_exporter(cluster_name: str, host: str = "127.0.0.1", port: int = 9464, stdout=None):
    """The server for a simulated cluster's shared mesh (not yet serving); returns (mesh, server)."""
    from apps.clusters.models import Cluster
    from apps.simulator.gateway import mesh_for_cluster

    cluster = Cluster.objects.filter(name=cluster_name).first()
    if cluster is None:
        known = ", ".join(Cluster.objects.filter(kind=Cluster.Kind.SIMULATED).values_list("name", flat=True))
        raise CommandError(f"No cluster named {cluster_name!r}. Simulated clusters: {known or 'none'}.")
    if cluster.kind != Cluster.Kind.SIMULATED:
        raise CommandError(f"Cluster {cluster_name!r} is a Kubernetes cluster; its Prometheus already has its metrics.")
    mesh = mesh_for_cluster(cluster)
    server = _listen(mesh, host, port, after_request=connections.close_all)
    _announce(server, host, f"simulated cluster {cluster.name!r} ({mesh.topology})", stdout)
    return mesh, server


def _listen(mesh, host: str, port: int, after_request=None):
    try:
        return make_server(mesh, host, port, after_request)
    except OSError as exc:
        raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from exc


def _announce(server, host: str, what: str, stdout) -> None:
    if stdout is not None:
        stdout.write(f"{what} on http://{host}:{server.server_address[1]}/metrics\n")
        stdout.flush()


class Command(BaseCommand):
    help = "Serve a simulated Istio mesh's metrics at /metrics (Prometheus text format)."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--cluster",
                           help="a simulated cluster of the portal: its shared mesh, following its changes")
        which.add_argument("--topology", default="demo",
                           help="a standalone mesh: bookinfo, helloworld, grpc, demo, large or large:N:M")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9464)
        parser.add_argument("--seed", type=int, default=1, help="with --topology")

    def handle(self, *args, **options):
        if options["cluster"]:
            _, server = run_cluster_exporter(options["cluster"], options["host"], options["port"], self.stdout)
        else:
            try:
                _, server = run_exporter(options["topology"], options["host"], options["port"], options["seed"],
                                         self.stdout)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
