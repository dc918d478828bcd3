"""What every browser test does with a page: log in, watch the console, run axe, walk with Tab."""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# The pages every user sees: (screenshot name, URL, what the page shows when it is ready)
PAGES = [
    ("overview", "/", "table.namespaces"),
    ("cluster", "/clusters/demo/", "h1"),
    ("namespaces", "/clusters/demo/namespaces/", "table.namespaces"),
    ("workloads", "/clusters/demo/namespaces/-/workloads/", "table.workloads"),
    ("workload-detail", "/clusters/demo/namespaces/bookinfo/workloads/reviews-v2/?kind=Deployment", "table.pods"),
    ("services", "/clusters/demo/namespaces/-/services/", "table.services"),
    ("service-detail", "/clusters/demo/namespaces/bookinfo/services/reviews/", "table.ports"),
    ("istio-config", "/clusters/demo/istio/", "table.istio-config, p.empty"),
    ("istio-config-detail", "/clusters/demo/istio/bookinfo/ServiceEntry/httpbin-ext/", "pre.yaml"),
    ("graph", "/clusters/demo/graph/?namespaces=bookinfo", "#graph-live[data-state=live]"),
    ("profile", "/accounts/profile/", "h1"),
    ("audit", "/audit/", "h1"),
    ("workloads-empty-filter", "/clusters/demo/namespaces/-/workloads/?q=no-such-workload", "p.empty"),
    ("apps", "/clusters/demo/namespaces/-/apps/", "table.apps"),
    ("app-detail", "/clusters/demo/namespaces/bookinfo/apps/reviews/", "table.app-workloads"),
    ("apps-empty-filter", "/clusters/demo/namespaces/-/apps/?q=no-such-app", "p.empty"),
]

# Runs before any page script (through the DevTools protocol, so the page's CSP does not apply):
# records Content-Security-Policy violations, which Chromium also reports on the console.
WATCH_SCRIPT = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push({directive: e.violatedDirective, blocked: e.blockedURI, line: e.lineNumber,
                               sample: e.sample});
});
"""


def login(page, portal, username: str, password: str | None = None) -> None:
    page.goto(portal.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password or portal.passwords[username])
    with page.expect_navigation():
        page.press("#id_password", "Enter")


class ConsoleWatch:
    """Console errors and warnings, uncaught exceptions and failed requests of a page."""

    def __init__(self, page):
        self.page = page
        self.messages: list[str] = []
        self.expected_failures: set[str] = set()
        page.add_init_script(WATCH_SCRIPT)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"uncaught: {exc}"))
        page.on("requestfailed", self._failed)

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning"):
            self.messages.append(f"console.{msg.type}: {msg.text} ({msg.location.get('url', '')})")

    def _failed(self, request) -> None:
        # ERR_ABORTED: a request cut short by leaving the page (e.g. the favicon), not a failure
        if request.failure == "net::ERR_ABORTED":
            return
        if not any(part in request.url for part in self.expected_failures):
            self.messages.append(f"request failed: {request.url} ({request.failure})")

    def problems(self) -> list[str]:
        violations = self.page.evaluate("window.__cspViolations || []")
        return self.messages + [f"CSP violation: {json.dumps(v)}" for v in violations]

    def clear(self) -> None:
        self.messages.clear()
        self.page.evaluate("window.__cspViolations = []")


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core (from npm) on the page as it is now; violations of the given impacts."""
    # evaluate() runs through the DevTools protocol, outside the page's CSP
    page.evaluate(AXE.read_text())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
    }""")
    return [v for v in result if v["impact"] in impacts]


# Every control a person can reach with Tab: visible, enabled, not taken out of the tab order.
_MARK_FOCUSABLES = """() => {
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  let n = 0;
  const out = [];
  // A radio group is one Tab stop (arrow keys move inside it): its checked radio, else its first.
  const radioStop = (el) => {
    const group = [...document.querySelectorAll('input[type=radio]')]
      .filter(r => r.name === el.name && r.form === el.form);
    return (group.find(r => r.checked) || group[0]) === el;
  };
  for (const el of document.querySelectorAll(sel)) {
    if (el.closest('[hidden], [inert]') || el.disabled || el.tabIndex < 0) continue;
    if (el.type === 'radio' && el.name && !radioStop(el)) continue;
    if (el.tagName !== 'SUMMARY' && el.closest('details:not([open])')
        && !el.closest('details:not([open]) > summary')) continue;
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || (r.width === 0 && r.height === 0)) continue;
    el.dataset.tabId = String(n++);
    out.push({id: el.dataset.tabId, what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' +
              (el.getAttribute('aria-label') || el.textContent || el.name || '').trim().slice(0, 40)});
  }
  return out;
}"""


def tab_walk(page, limit: int = 400) -> tuple[list[dict], set[str]]:
    """(every focusable control, the ids reached by pressing Tab from the top of the page)."""
    controls = page.evaluate(_MARK_FOCUSABLES)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    page.evaluate("() => document.body.focus()")
    reached: set[str] = set()
    for _ in range(min(limit, len(controls) * 2 + 5)):
        page.keyboard.press("Tab")
        tab_id = page.evaluate("document.activeElement && document.activeElement.dataset ? "
                               "document.activeElement.dataset.tabId || '' : ''")
        if tab_id in reached:  # back at the start: the walk went round
            break
        if tab_id:
            reached.add(tab_id)
    return controls, reached


def unreachable(page) -> list[str]:
    controls, reached = tab_walk(page)
    return [c["what"] for c in controls if c["id"] not in reached]
