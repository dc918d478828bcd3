"""Istio's host rules (apps.meshconfig.hosts), one table each, as Istio documents and implements them.

Sources: the VirtualService reference ("short-names ... (i.e. has no dots in the
name)", read "based on the namespace of the rule, not the service"), pilot's
ResolveShortnameToFQDN (only dot-free names are expanded; "*" and IP addresses
never), and host.Name's Matches / SubsetOf for wildcards.
"""
from __future__ import annotations

import pytest

from apps.meshconfig import hosts

RESOLVE = [
    # (host as written, namespace of the rule, what Istio reads)
    ("reviews", "bookinfo", "reviews.bookinfo.svc.cluster.local"),  # short name: the rule's namespace
    ("reviews", "other", "reviews.other.svc.cluster.local"),  # ... not the service's
    ("reviews.bookinfo.svc.cluster.local", "other", "reviews.bookinfo.svc.cluster.local"),  # FQDN kept
    ("reviews.other", "bookinfo", "reviews.other"),  # a dot: taken literally, not Service reviews of ns other
    ("reviews.other.svc", "bookinfo", "reviews.other.svc"),  # likewise: pilot appends nothing
    ("httpbin.org", "bookinfo", "httpbin.org"),
    ("*", "bookinfo", "*"),  # the lone wildcard is fully qualified
    ("*.example.com", "bookinfo", "*.example.com"),
    ("10.0.0.7", "bookinfo", "10.0.0.7"),
    ("::1", "bookinfo", "::1"),  # an IPv6 address has no dot, and is still not a short name
    ("  Reviews ", "bookinfo", "reviews.bookinfo.svc.cluster.local"),  # DNS names compare case-insensitively
    ("", "bookinfo", ""),
]


@pytest.mark.parametrize("host,namespace,expected", RESOLVE)
def test_resolve(host, namespace, expected):
    assert hosts.resolve(host, namespace) == expected


COVERS = [
    # (pattern, host, pattern covers host) = Name(host).SubsetOf(pattern)
    ("reviews.bookinfo.svc.cluster.local", "reviews.bookinfo.svc.cluster.local", True),
    ("reviews.bookinfo.svc.cluster.local", "ratings.bookinfo.svc.cluster.local", False),
    ("*.bookinfo.svc.cluster.local", "reviews.bookinfo.svc.cluster.local", True),
    ("*.example.com", "a.example.com", True),
    ("*.example.com", "a.b.example.com", True),
    ("*.example.com", "example.com", False),  # the wildcard needs a label before the suffix
    ("*.example.com", "example.org", False),
    ("*", "anything.example.com", True),
    ("*", "*.example.com", True),
    ("*.com", "*.example.com", True),  # a narrower wildcard is inside a wider one
    ("*.example.com", "*.com", False),  # ... not the other way round
    ("a.example.com", "*.example.com", False),  # a name never covers a wildcard
    ("reviews.other", "reviews.other.svc.cluster.local", False),  # no DNS search paths in the proxy
]


@pytest.mark.parametrize("pattern,host,expected", COVERS)
def test_covers(pattern, host, expected):
    assert hosts.covers(pattern, host) is expected


OVERLAPS = [
    # Name.Matches: symmetric
    ("foo.com", "foo.com", True),
    ("foo.com", "bar.com", False),
    ("*.com", "foo.com", True),
    ("bar.com", "*.com", True),
    ("*.foo.com", "foo.com", False),
    ("*", "foo.com", True),
    ("*", "*.com", True),
    ("*.com", "*.foo.com", True),
    ("*.foo.com", "*.bar.com", False),
]


@pytest.mark.parametrize("a,b,expected", OVERLAPS)
def test_overlaps(a, b, expected):
    assert hosts.overlaps(a, b) is expected
    assert hosts.overlaps(b, a) is expected


SERVICE_OF = [
    ("reviews.bookinfo.svc.cluster.local", ("reviews", "bookinfo")),
    ("REVIEWS.bookinfo.svc.cluster.local", ("reviews", "bookinfo")),
    ("reviews.bookinfo", None),
    ("a.b.bookinfo.svc.cluster.local", None),  # not a Service hostname (pods/subdomains are not routed)
    ("*.bookinfo.svc.cluster.local", None),
    ("httpbin.org", None),
]


@pytest.mark.parametrize("host,expected", SERVICE_OF)
def test_service_of(host, expected):
    assert hosts.service_of(host) == expected
    if expected:
        assert hosts.service_host(*expected) == hosts.normalise(host)
