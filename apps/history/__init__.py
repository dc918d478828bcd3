"""History: periodic snapshots of every cluster, time travel, diff and timeline (issue 11)."""
