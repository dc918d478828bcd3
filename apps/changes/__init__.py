"""Changes to a mesh: every change kind's parameters, validation, renderer and preview.

Pure modules (no ORM, no HTTP): ``render.render_change(data, inventory)`` turns a
person's input into the exact writes (``writes.PlannedWrite``) a cluster gateway
executes; ``preview.preview_change(rendered, inventory)`` shows what they would
do (YAML, diff against live objects, validation, predicted traffic, restarts).
The request/review/apply flow is built on top of these.
"""
