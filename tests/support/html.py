"""Cutting a rendered page into the piece a test asserts on."""


def fragment(html: str, marker: str, end: str) -> str:
    """From the first ``marker`` to the next ``end`` (e.g. a row: 'data-namespace="x"', '</tr>')."""
    start = html.index(marker)
    return html[start:html.index(end, start)]
