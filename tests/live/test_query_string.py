"""The subscription's query string is URL-decoded like any other: percent escapes, ``+``,
repeated parameters; a name that cannot be a namespace is refused, never made into a group."""
from __future__ import annotations

import pytest

from apps.live.authorized import query_values

from .conftest import WAIT, connect, publish, subscribe, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_query_values_decodes_and_joins():
    assert query_values(b"namespaces=bookinfo%2Cgrpc-demo", "namespaces") == ["bookinfo", "grpc-demo"]
    assert query_values(b"namespaces=bookinfo,+grpc-demo", "namespaces") == ["bookinfo", "grpc-demo"]
    assert query_values(b"namespaces=a&other=x&namespaces=b,a", "namespaces") == ["a", "b"]
    assert query_values(b"namespaces=book+info", "namespaces") == ["book info"]
    assert query_values(b"namespaces=&namespaces=,,", "namespaces") == []
    assert query_values(b"", "namespaces") == []


async def test_percent_encoded_namespaces_are_parsed(channel_layer, viewer, sim_cluster):
    ws, hello = await subscribe("/ws/clusters/demo/events/?namespaces=bookinfo%2Cgrpc-demo",
                                token=await token_for(viewer))
    assert hello == {"type": "subscribed", "cluster": "demo", "namespaces": ["bookinfo"], "refused": ["grpc-demo"]}
    await publish(sim_cluster, "bookinfo", {"n": 1})
    assert await ws.receive_json_from(timeout=WAIT) == {"n": 1}
    await ws.disconnect()


async def test_names_that_cannot_be_namespaces_are_refused_even_with_every_namespace_granted(
        channel_layer, operator, sim_cluster):
    # Before the fix, "a b" or a 200-character name reached the channel layer as a group name.
    ws, hello = await subscribe(f"/ws/clusters/demo/events/?namespaces=book+info,bookinfo,Caps,{'x' * 200}",
                                token=await token_for(operator))
    assert hello["namespaces"] == ["bookinfo"]
    assert hello["refused"] == sorted(["book info", "Caps", "x" * 200])
    await ws.disconnect()


async def test_too_many_namespaces_are_refused(channel_layer, operator, sim_cluster):
    names = ",".join(f"ns-{i}" for i in range(101))
    _, connected, code = await connect(f"/ws/clusters/demo/events/?namespaces={names}", token=await token_for(operator))
    assert not connected and code == 4400
