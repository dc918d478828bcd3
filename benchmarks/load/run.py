"""Load benchmark: 100 logged-in users for 60 s against the production-like topology.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python benchmarks/load/run.py [--users 100] [--seconds 60] [--web 2]

Starts scripts/topology.py on a scratch database (dropped afterwards): N web processes behind the
balancer, a worker and beat (beat's periodic work runs meanwhile: connection checks every 5 s,
and snapshots once the portal has them), runs locust headless on loopback, and prints per page
the requests, failures, p50 / p95 / max (ms) and the throughput. Exits 1 on any failure.
Needs the `load` extra: pip install -e '.[load]'. Not part of CI; no thresholds.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.deploy.topology_support import running_topology, session_for  # noqa: E402 - after sys.path

# Beat's periodic work during the run (connection checks, snapshots every 10 s), and a login rate
# limit above the user count: here every simulated person logs in from 127.0.0.1, where the
# per-address limit (LOGIN_RATE_LIMIT, 20 per 15 min) would refuse the 21st.
LOAD_ENV = {"CLUSTER_CHECK_INTERVAL_SECONDS": "5", "MESHDECK_SNAPSHOT_INTERVAL": "10",
            "LOGIN_RATE_LIMIT": "100000"}


def log_in_everyone(runner, users: int) -> list[dict]:
    """One session per simulated person, logged in through the balancer before the measured run."""
    people = sorted(runner.passwords)
    names = [people[i % len(people)] for i in range(users)]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        sessions = list(pool.map(lambda name: (name, session_for(runner, runner.url, name)), names))
    print(f"load: {users} logins in {time.monotonic() - started:.0f} s (password hashing dominates)", flush=True)
    return [{"username": name, "cookies": {c.name: c.value for c in session.cookies}} for name, session in sessions]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--web", type=int, default=2)
    args = parser.parse_args()
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url.startswith("redis"):
        parser.error("set DATABASE_URL (PostgreSQL) and REDIS_URL (Redis)")
    with tempfile.TemporaryDirectory(prefix="meshdeck-load-") as tmp:
        tmp_path = Path(tmp)
        print(f"load: starting the topology ({args.web} web processes, worker, beat)...", flush=True)
        with running_topology(tmp_path / "run", database_url, redis_url, web=args.web, worker_concurrency=1,
                              env=LOAD_ENV) as runner:
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
            env.update(MESHDECK_LOAD_CA=str(runner.ca_path), MESHDECK_LOAD_PASSWORDS=json.dumps(runner.passwords))
            prefix = tmp_path / "locust"
            sessions_file = tmp_path / "sessions.json"
            sessions_file.write_text(json.dumps(log_in_everyone(runner, args.users)))
            env["MESHDECK_LOAD_SESSIONS"] = str(sessions_file)
            command = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "benchmarks/load/locustfile.py"),
                       "--headless", "--host", runner.url, "-u", str(args.users), "-r", str(args.spawn_rate),
                       "-t", f"{args.seconds}s", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
            print(f"load: {args.users} users (spawned at {args.spawn_rate}/s) for {args.seconds} s on {runner.url}",
                  flush=True)
            started = time.monotonic()
            locust = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            elapsed = time.monotonic() - started
            runner.check_alive()
            balanced = list(runner.balancer.connections)
            worker_log = runner.processes["worker"].log()
        rows = list(csv.DictReader(Path(f"{prefix}_stats.csv").read_text().splitlines()))
        failures = list(csv.DictReader(Path(f"{prefix}_failures.csv").read_text().splitlines()))
    print(f"\n{'page':14} {'requests':>9} {'failures':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>7}")
    for row in rows:
        print(f"{row['Name']:14} {row['Request Count']:>9} {row['Failure Count']:>9} {row['50%']:>8} "
              f"{row['95%']:>8} {float(row['Max Response Time']):>8.0f} {float(row['Requests/s']):>7.1f}")
    total = next(r for r in rows if r["Name"] == "Aggregated")
    print(f"\nconnections per web process: {balanced}; worker tasks succeeded meanwhile: "
          f"{worker_log.count('succeeded in')}; locust ran {elapsed:.0f} s")
    for failure in failures:
        print(f"FAILURE {failure['Method']} {failure['Name']}: {failure['Error']} x{failure['Occurrences']}")
    if locust.returncode not in (0, 1):
        print(locust.stdout[-3000:], locust.stderr[-3000:])
    errors = int(total["Failure Count"])
    print(f"errors: {errors}")
    return 0 if errors == 0 and locust.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
