"""A grant's namespace patterns as a database filter: the rows it lets through are exactly the ones
the Python predicate allows, on the database the suite runs on (PostgreSQL in CI)."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.selectors import namespace_q, visibility_from_key

pytestmark = pytest.mark.django_db

NAMES = ["bookinfo", "book", "bookinfo-v2", "ebookinfo", "b00k", "istio-system", "kube-system", "default",
         "team-a", "team-b", "team-ab", "a.b", "axb", "x", "payments-eu-1", "payments-us-12"]
KEYS = [("*",), (), ("bookinfo",), ("book*",), ("*info",), ("b??k",), ("team-[ab]",), ("team-[!a]*",),
        ("a.b",), ("*-system", "default"), ("payments-*-1?", "x"), ("[bk]*",), ("bookinfo", "book*", "team-?")]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: ",".join(k) or "none")
def test_the_sql_filter_lets_through_exactly_what_the_predicate_allows(key):
    User = get_user_model()
    User.objects.bulk_create([User(username=n) for n in NAMES])
    in_sql = set(User.objects.filter(namespace_q(key, field="username")).values_list("username", flat=True))
    allowed = visibility_from_key(key)
    assert in_sql == {n for n in NAMES if allowed(n)}
