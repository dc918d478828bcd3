"""A JSON renderer for large API answers (the traffic graph of a big mesh is megabytes)."""
from __future__ import annotations

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_fallback = JSONEncoder()


class FastJSONRenderer(JSONRenderer):
    """DRF's JSONRenderer, encoded by orjson: same output types, several times faster.

    Types orjson does not know (lazy translations, Decimal, ...) go through DRF's own
    encoder. NaN and infinities become null (the graph never produces them).
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=_fallback.default, option=orjson.OPT_NON_STR_KEYS)
