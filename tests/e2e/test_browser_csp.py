"""The Content-Security-Policy is really enforced: the browser refuses inline script and inline
style, and the portal's pages need neither (their scripts are files, their data json_script)."""
import pytest

from tests.support.browser import browser_page

from .pages import ConsoleWatch, login

pytestmark = pytest.mark.browser


def test_the_browser_refuses_inline_script_and_style_on_portal_pages(portal, chromium_path):
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        response = page.goto(portal.url + "/clusters/demo/graph/?namespaces=bookinfo")
        policy = response.headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                          "frame-ancestors 'none'", "connect-src 'self'"):
            assert directive in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        page.locator("#graph-live[data-state=live]").wait_for()
        assert watch.problems() == []  # the page itself needed nothing inline
        blocked = page.evaluate("""() => new Promise((done) => {
            document.addEventListener('securitypolicyviolation', () => setTimeout(() => done({
                ranInline: window.__inline === true,
                styled: getComputedStyle(document.getElementById('probe')).color,
            }), 50), {once: false});
            const probe = document.createElement('p');
            probe.id = 'probe';
            probe.setAttribute('style', 'color: rgb(255, 0, 0)');
            document.body.append(probe);
            const s = document.createElement('script');
            s.textContent = 'window.__inline = true';
            document.body.append(s);
        })""")
        assert blocked["ranInline"] is False
        assert blocked["styled"] != "rgb(255, 0, 0)"
        directives = {v["directive"] for v in page.evaluate("window.__cspViolations")}
        assert {"script-src-elem", "style-src-attr"} <= directives


def test_same_origin_websockets_are_allowed_by_the_policy(portal, chromium_path):
    """connect-src 'self' covers ws:// on the same host: the live-push socket may connect."""
    with browser_page(chromium_path, 1280, 800) as page:
        watch = ConsoleWatch(page)
        login(page, portal, "viewer")
        page.goto(portal.url + "/")
        first = page.evaluate("""() => new Promise((done, fail) => {
            const ws = new WebSocket(`ws://${location.host}/ws/clusters/demo/events/?namespaces=bookinfo`);
            ws.onmessage = (e) => { done(JSON.parse(e.data)); ws.close(); };
            ws.onerror = () => fail(new Error('the socket failed'));
        })""")
        assert first == {"type": "subscribed", "cluster": "demo", "namespaces": ["bookinfo"], "refused": []}
        assert watch.problems() == []
