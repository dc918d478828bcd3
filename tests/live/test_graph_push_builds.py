"""One build per view and snapshot in a process, however many sockets wait for it (pure: a
counting builder stands in for the graph selectors)."""
from __future__ import annotations

import asyncio
import json

from apps.live.graphpush import builds as builds_module
from apps.live.graphpush.build import GraphBuildError
from apps.live.graphpush.builds import GraphBuilds
from apps.live.graphpush.spec import GraphKey, GraphOptionsSpec

OPTIONS = GraphOptionsSpec("workload", 60, False, (), False, 0.95)
KEY = GraphKey(1, ("bookinfo",), OPTIONS, ("bookinfo",))
OTHER_EYES = GraphKey(1, ("bookinfo",), OPTIONS, ("*",))


def snapshot(id_):
    return {"id": id_, "previous_id": id_ - 1, "taken_at": 1000.0 + id_, "status": "ok"}


class CountingBuilder:
    def __init__(self, fail_with=None):
        self.calls = []
        self.release = asyncio.Event()
        self.fail_with = fail_with

    async def __call__(self, key, snapshot_id, taken_at):
        self.calls.append((key, snapshot_id))
        await self.release.wait()
        if self.fail_with:
            raise self.fail_with
        return {"timestamp": taken_at, "eyes": key.visibility,
                "elements": {"nodes": [{"data": {"id": f"n{snapshot_id}"}}], "edges": []}}


async def test_a_thousand_waiters_cost_one_build_and_get_the_same_bytes():
    builder = CountingBuilder()
    builds = GraphBuilds(builder)
    waiters = [asyncio.create_task(builds.at_snapshot(KEY, snapshot(1))) for _ in range(1000)]
    await asyncio.sleep(0)
    builder.release.set()
    results = await asyncio.gather(*waiters)
    assert len(builder.calls) == 1
    assert len({id(b) for b in results}) == 1
    assert json.loads(results[0].full_text())["type"] == "graph.full"
    # and once built, later sockets get it without building again
    assert await builds.at_snapshot(KEY, snapshot(1)) is results[0]
    assert len(builder.calls) == 1


async def test_users_who_see_different_namespaces_get_separate_builds():
    builder = CountingBuilder()
    builder.release.set()
    builds = GraphBuilds(builder)
    mine, theirs = await builds.at_snapshot(KEY, snapshot(1)), await builds.at_snapshot(OTHER_EYES, snapshot(1))
    assert mine is not theirs and mine.answer["eyes"] != theirs.answer["eyes"]
    assert len(builder.calls) == 2


async def test_a_socket_that_leaves_while_waiting_does_not_cancel_the_others():
    builder = CountingBuilder()
    builds = GraphBuilds(builder)
    leaving = asyncio.create_task(builds.at_snapshot(KEY, snapshot(1)))
    staying = asyncio.create_task(builds.at_snapshot(KEY, snapshot(1)))
    await asyncio.sleep(0)
    leaving.cancel()
    builder.release.set()
    built = await staying
    assert built.answer is not None and len(builder.calls) == 1


async def test_deltas_are_computed_once_per_pair_of_answers():
    builder = CountingBuilder()
    builder.release.set()
    builds = GraphBuilds(builder)
    first, second = await builds.at_snapshot(KEY, snapshot(1)), await builds.at_snapshot(KEY, snapshot(2))
    text = builds.delta_text(first, second)
    assert builds.delta_text(first, second) is text
    message = json.loads(text)
    assert message["type"] == "graph.delta" and message["from"] == 1 and message["snapshot"]["id"] == 2
    assert [e["data"]["id"] for e in message["added"]["nodes"]] == ["n2"]
    assert message["removed"]["nodes"] == ["n1"]


async def test_old_snapshots_are_forgotten_so_catch_up_falls_back_to_the_whole_graph():
    builder = CountingBuilder()
    builder.release.set()
    builds = GraphBuilds(builder)
    for id_ in range(1, builds_module.KEEP_PER_KEY + 3):
        await builds.at_snapshot(KEY, snapshot(id_))
    assert builds.cached(KEY, 1) is None
    assert builds.cached(KEY, builds_module.KEEP_PER_KEY + 2) is not None


async def test_a_failed_build_becomes_an_error_message_for_that_snapshot():
    builder = CountingBuilder(fail_with=GraphBuildError("unavailable", "Prometheus did not answer.", status=503))
    builder.release.set()
    builds = GraphBuilds(builder)
    built = await builds.at_snapshot(KEY, snapshot(3))
    message = json.loads(built.error_text())
    assert message == {"type": "graph.error", "snapshot": snapshot(3), "code": "unavailable", "status": 503,
                       "detail": "Prometheus did not answer."}


async def test_the_latest_snapshot_only_moves_forward():
    builds = GraphBuilds(CountingBuilder())
    builds.note_snapshot(1, snapshot(5))
    builds.note_snapshot(1, snapshot(4))  # a late, older message
    assert builds.latest(1)["id"] == 5
