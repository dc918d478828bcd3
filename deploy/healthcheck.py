"""The image's HEALTHCHECK: the web process on this container answers its login page.

Stdlib only (the slim image has no curl). Production settings redirect plain HTTP to HTTPS and
accept only DJANGO_ALLOWED_HOSTS, so the check says what the load balancer would: the first
allowed host and ``X-Forwarded-Proto: https``. Exit 0 when the page answers 200.
"""
import os
import sys
import urllib.request

PORT = os.environ.get("MESHDECK_HEALTHCHECK_PORT", "8000")
PATH = "/accounts/login/"


def allowed_host() -> str:
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main() -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{PATH}", headers={"Host": allowed_host(), "X-Forwarded-Proto": "https"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(request, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
