"""The delta between two graph answers: what a pushed update carries (pure)."""
from __future__ import annotations

import copy
import itertools

from apps.live.graphdelta import apply_delta, delta_counts, graph_delta, is_empty


def node(id_, **data):
    return {"data": {"id": id_, "nodeType": "workload", **data}}


def edge(id_, source, target, **data):
    return {"data": {"id": id_, "source": source, "target": target, "protocol": "http", **data}}


def answer(nodes, edges, **fields):
    return {"cluster": "demo", "timestamp": 100, "graphType": "workload", **fields,
            "elements": {"nodes": nodes, "edges": edges}}


BEFORE = answer(
    [node("box", isBox="namespace"), node("pp", parent="box", traffic={"httpOut": 10.0}),
     node("r1", parent="box", traffic={"httpIn": 10.0}, healthStatus="Healthy")],
    [edge("pp-r1", "pp", "r1", rates={"http": 10.0}, percentReq=100.0, healthStatus="Healthy")],
)


def shifted():
    """reviews-v1 gets 80 %, a new reviews-v3 20 % with errors."""
    after = copy.deepcopy(BEFORE)
    after["timestamp"] = 160
    nodes = after["elements"]["nodes"]
    nodes[2]["data"]["traffic"] = {"httpIn": 8.0}
    nodes.append(node("r3", parent="box", traffic={"httpIn": 2.0, "httpIn5xx": 0.5}, healthStatus="Failure"))
    edges = after["elements"]["edges"]
    edges[0]["data"].update(rates={"http": 8.0}, percentReq=80.0)
    edges.append(edge("pp-r3", "pp", "r3", rates={"http": 2.0, "http5xx": 0.5}, percentReq=20.0,
                      healthStatus="Failure"))
    return after


def by_id(body):
    return {kind: {e["data"]["id"]: e["data"] for e in body["elements"][kind]} for kind in ("nodes", "edges")}


def test_the_same_graph_twice_is_an_empty_delta():
    delta = graph_delta(BEFORE, copy.deepcopy(BEFORE))
    assert is_empty(delta)
    assert delta["fields"] == {}


def test_a_traffic_shift_names_the_new_node_and_edge_and_the_changed_rates():
    delta = graph_delta(BEFORE, shifted())
    assert [e["data"]["id"] for e in delta["added"]["nodes"]] == ["r3"]
    assert [e["data"]["id"] for e in delta["added"]["edges"]] == ["pp-r3"]
    assert delta["removed"] == {"nodes": [], "edges": []}
    assert delta["changed"]["nodes"] == [{"id": "r1", "set": {"traffic": {"httpIn": 8.0}}, "unset": []}]
    assert delta["changed"]["edges"] == [
        {"id": "pp-r1", "set": {"rates": {"http": 8.0}, "percentReq": 80.0}, "unset": []}]
    assert delta["fields"] == {"timestamp": 160}
    assert delta_counts(delta)["added"] == {"nodes": 1, "edges": 1}


def test_only_what_changed_is_sent_not_the_unchanged_fields():
    delta = graph_delta(BEFORE, shifted())
    # the unchanged node "pp" and the unchanged fields of r1 are not in the delta at all
    assert "pp" not in {c["id"] for c in delta["changed"]["nodes"]}
    assert set(delta["changed"]["nodes"][0]["set"]) == {"traffic"}


def test_removed_elements_and_fields_that_disappear():
    after = copy.deepcopy(BEFORE)
    after["elements"]["edges"] = []
    del after["elements"]["nodes"][2]["data"]["healthStatus"]
    after["elements"]["nodes"] = [n for n in after["elements"]["nodes"] if n["data"]["id"] != "pp"]
    delta = graph_delta(BEFORE, after)
    assert delta["removed"] == {"nodes": ["pp"], "edges": ["pp-r1"]}
    assert delta["changed"]["nodes"] == [{"id": "r1", "set": {}, "unset": ["healthStatus"]}]


def test_a_node_moved_to_another_box_is_a_changed_parent():
    after = copy.deepcopy(BEFORE)
    after["elements"]["nodes"].insert(0, node("box2", isBox="namespace"))
    after["elements"]["nodes"][2]["data"]["parent"] = "box2"
    delta = graph_delta(BEFORE, after)
    assert [e["data"]["id"] for e in delta["added"]["nodes"]] == ["box2"]
    assert delta["changed"]["nodes"] == [{"id": "pp", "set": {"parent": "box2"}, "unset": []}]


def test_added_nodes_keep_the_new_answers_order_so_boxes_come_first():
    after = copy.deepcopy(BEFORE)
    after["elements"]["nodes"] += [node("box2", isBox="namespace"), node("x", parent="box2")]
    delta = graph_delta(BEFORE, after)
    assert [e["data"]["id"] for e in delta["added"]["nodes"]] == ["box2", "x"]


def test_applying_the_delta_gives_the_new_graph_and_leaves_the_old_one_alone():
    before = copy.deepcopy(BEFORE)
    for after in (shifted(), BEFORE, answer([], [], timestamp=5)):
        result = apply_delta(before, graph_delta(before, after))
        assert by_id(result) == by_id(after)
        assert {k: v for k, v in result.items() if k != "elements"} == {
            k: v for k, v in after.items() if k != "elements"}
    assert before == BEFORE


def test_a_chain_of_deltas_follows_a_chain_of_graphs():
    graphs = [BEFORE, shifted(), BEFORE, answer([node("only")], [])]
    drawn = graphs[0]
    for previous, current in itertools.pairwise(graphs):
        drawn = apply_delta(drawn, graph_delta(previous, current))
        assert by_id(drawn) == by_id(current)
