"""What `make run` serves: SQLite, in-memory channels, eager tasks, the demo mesh."""
import asyncio
import json

import websockets


def test_seed_prints_four_demo_logins_once(portal):
    assert set(portal.passwords) == {"admin", "operator", "approver", "viewer"}
    again = portal._manage("seed_demo")
    assert "exist already" in again and portal.passwords["viewer"] not in again


def test_every_demo_user_can_log_in_and_sees_the_overview(portal):
    for username in ("admin", "operator", "approver", "viewer"):
        page = portal.login(username).get(portal.url + "/", timeout=30)
        assert page.status_code == 200, username
        assert "bookinfo" in page.text, username
    viewer_page = portal.login("viewer").get(portal.url + "/", timeout=30).text
    assert 'data-namespace="grpc-demo"' not in viewer_page  # viewer is granted bookinfo only
    admin_page = portal.login("admin").get(portal.url + "/", timeout=30).text
    assert 'data-namespace="grpc-demo"' in admin_page


def test_wrong_password_is_refused(portal):
    import requests

    session = requests.Session()
    session.get(portal.url + "/accounts/login/", timeout=10)
    page = session.post(portal.url + "/accounts/login/", data={
        "username": "viewer", "password": "nope", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": portal.url + "/accounts/login/"}, timeout=10)
    assert "Please enter a correct username and password" in page.text


def test_websocket_from_the_same_process_with_the_session_cookie(portal):
    session = portal.login("viewer")
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)

    async def talk():
        async with websockets.connect(
            f"ws://127.0.0.1:{portal.port}/ws/clusters/demo/events/?namespaces=bookinfo",
            additional_headers={"Cookie": cookie}, origin=portal.url,
        ) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))

    assert asyncio.run(talk()) == {"type": "subscribed", "cluster": "demo", "namespaces": ["bookinfo"], "refused": []}


def test_api_schema_and_docs_are_served(portal):
    session = portal.login("viewer")
    schema = session.get(portal.url + "/api/schema/?format=json", timeout=30)
    assert schema.status_code == 200 and "/api/clusters/" in schema.json()["paths"]
    docs = session.get(portal.url + "/api/docs/", timeout=30)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert session.get(portal.url + "/static/vendor/cytoscape.min.js", timeout=30).status_code == 200


def test_the_in_process_scheduler_runs_the_periodic_connection_check(portal):
    """`make run` has no celery beat: the in-process scheduler must run every scheduled task."""
    import time

    session = portal.login("admin")
    deadline = time.monotonic() + 60
    cluster = {}
    while time.monotonic() < deadline:
        cluster = session.get(portal.url + "/api/clusters/demo/", timeout=30).json()
        if cluster.get("last_checked_at"):
            break
        time.sleep(1)
    assert cluster.get("last_checked_at"), "the scheduled connection check never ran"
    assert cluster["last_check_ok"] is True
    log = (portal.data_dir / "portal.log").read_text()
    assert "In-process scheduler started: clusters-check-connections" in log
    assert "NotRegistered" not in log and "scheduled task" not in log  # no "scheduled task X failed"
