"""Live push of graph updates: ``ws/clusters/<cluster>/graph/?namespaces=...&graphType=...``.

- ``spec``: what one socket subscribes to (cluster, namespaces, graph options, and whose eyes:
  the user's namespace visibility), as a hashable key;
- ``build``: the graph answer of a key at a snapshot, built with the graph selectors (sync,
  in the database thread);
- ``builds``: this process's builds and deltas: one build per key and snapshot, one delta per
  key and pair of snapshots, each encoded once, however many sockets share them;
- ``consumer``: ``GraphLiveConsumer``, an ``AuthorizedConsumer`` (docs/live.md).

The worker that took a snapshot sends one ``graph.snapshot`` message per cluster
(``apps.live.receivers``); graphs are built here, in the ASGI process, never in the worker.
"""
