"""The Content-Security-Policy allows scripts and styles from our own origin only, so the
templates and scripts must not rely on anything inline (a browser would refuse it)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted([*ROOT.glob("templates/**/*.html"), *ROOT.glob("apps/*/templates/**/*.html")])
SCRIPTS = sorted(p for p in ROOT.glob("static/**/*.js") if "vendor" not in p.parts)

HTML_RULES = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
     "an inline <script> (use a file, data- attributes or json_script)"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "an inline event handler (attach it from a script file)"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "a style attribute (use a class in a stylesheet)"),
    (re.compile(r"<style\b", re.IGNORECASE), "an inline <style> (use a stylesheet)"),
    (re.compile(r"javascript:", re.IGNORECASE), "a javascript: URL"),
]
JS_RULES = [
    (re.compile(r"(?<![.\w])eval\s*\(|new\s+Function\s*\("), "eval / new Function (needs 'unsafe-eval')"),
    (re.compile(r"setAttribute\(\s*[\"']style[\"']|\.innerHTML\s*=|insertAdjacentHTML"),
     "markup or a style attribute built from a string (use DOM calls and classes)"),
]


COMMENTS = {
    ".html": re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}|<!--.*?-->", re.DOTALL),
    ".js": re.compile(r"/\*.*?\*/|(?<![:\\\"'])//[^\n]*", re.DOTALL),
}


def _without_comments(path):
    """The file with comments blanked out (newlines kept, so line numbers stay right)."""
    return COMMENTS[path.suffix].sub(lambda m: re.sub(r"[^\n]", " ", m.group()), path.read_text())


def _violations(paths, rules):
    found = []
    for path in paths:
        text = _without_comments(path)
        for pattern, what in rules:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    return found


def test_templates_have_no_inline_script_handler_or_style():
    assert TEMPLATES, "no templates found"
    assert _violations(TEMPLATES, HTML_RULES) == []


def test_page_scripts_need_no_eval_and_build_no_markup_from_strings():
    assert SCRIPTS, "no scripts found"
    assert _violations(SCRIPTS, JS_RULES) == []
