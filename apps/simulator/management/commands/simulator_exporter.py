"""``python manage.py simulator_exporter --topology demo --port 9464``: serve a simulated mesh's /metrics."""
from __future__ import annotations

from django.core.management.base import BaseCommand

from apps.simulator.exporter import make_server
from apps.simulator.mesh import SimulatedMesh


def run_exporter(topology: str = "demo", host: str = "127.0.0.1", port: int = 9464, seed: int = 1, stdout=None):
    """Build the mesh and the server (not yet serving); returns (mesh, server)."""
    mesh = SimulatedMesh(topology, seed=seed)
    server = make_server(mesh, host, port)
    if stdout is not None:
        bound = server.server_address[1]
        stdout.write(f"simulated mesh {topology!r} (seed {seed}) on http://{host}:{bound}/metrics\n")
        stdout.flush()
    return mesh, server


class Command(BaseCommand):
    help = "Serve a simulated Istio mesh's metrics at /metrics (Prometheus text format)."

    def add_arguments(self, parser):
        parser.add_argument("--topology", default="demo", help="bookinfo, helloworld, grpc, demo, large or large:N:M")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=9464)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        _, server = run_exporter(options["topology"], options["host"], options["port"], options["seed"], self.stdout)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
