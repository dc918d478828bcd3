"""Changes left ``applying`` by a worker that died (SIGKILL, its host gone) are ended here.

``apply_change`` is acked late, so a killed worker's delivery comes back; but the change is
already ``applying`` (the claim is one conditional UPDATE), so that delivery cannot claim it
again, and nothing else would ever end it. Once its lease (``MESHDECK_APPLY_LEASE_SECONDS``
after ``claimed_at``) has run out, the change is compared with the cluster:

- every write of the payload in place: ``applied`` (the worker died after its last write);
- none in place: ``failed`` with a message saying nothing was changed (not applied again: the
  approver asked for it at a time of their choosing, which has passed);
- some in place: those targets are restored to the prior states stored before the first write,
  then ``failed``.

Each ends with one ``change.recovered`` event in the transaction that sets the status. The lease is
taken over with a conditional UPDATE first, so two recoverers (the periodic task and a redelivered
apply) never both act, and the dead worker, were it only slow, cannot end the change afterwards
(``services._finish`` checks the claim it holds).
"""
from __future__ import annotations

import logging

from django.db.models import Q
from django.utils import timezone

from apps.audit.actor import Actor, acting_as
from apps.clusters.gateway import GatewayError
from apps.clusters.gateways import gateway_for

from .models import ChangeRequest, target_key
from .services import _finish, _restore, apply_lease
from .writes import PriorState, write_from_dict, write_in_place

log = logging.getLogger("meshdeck.changes")
Status = ChangeRequest.Status


def stuck_changes():
    """Changes ``applying`` for longer than the lease (a claim without a time: from before claims had one)."""
    cutoff = timezone.now() - apply_lease()
    return ChangeRequest.objects.filter(status=Status.APPLYING).filter(
        Q(claimed_at__lte=cutoff) | Q(claimed_at__isnull=True, updated_at__lte=cutoff))


def _take_over(change_id: int):
    """Renew the lease of a stuck change for this recoverer (one conditional UPDATE); its new claim or None."""
    now = timezone.now()
    if not stuck_changes().filter(pk=change_id).update(claimed_at=now, updated_at=now):
        return None
    return now


def change_recover(change_id: int) -> str:
    """End one stuck change against the cluster; what happened (``not-stuck`` if it is not stuck)."""
    claim = _take_over(change_id)
    if claim is None:
        return "not-stuck"
    with acting_as(Actor.task("recover_changes")):
        change = ChangeRequest.objects.select_related("cluster").get(pk=change_id)
        try:
            gateway = gateway_for(change.cluster)
            inventory = gateway.inventory()
        except GatewayError as exc:  # keeps its (renewed) lease: tried again when it runs out
            log.warning("change #%s is stuck applying and its cluster cannot be read: %s", change_id, exc)
            return "unreachable"
        writes = [write_from_dict(w) for w in change.payload["writes"]]
        priors = [PriorState.from_dict(p) for p in change.prior_states or []]
        last: dict[str, int] = {}  # a target written twice shows its last write
        for i, write in enumerate(writes):
            last[target_key(write.target)] = i
        prior_of = {target_key(p.target): p for p in reversed(priors)}  # the state before the first write
        written = [i for i in sorted(last.values())
                   if write_in_place(writes[i], inventory, prior_of.get(target_key(writes[i].target)))]
        names = [str(writes[i].target) for i in written]
        base = "The worker applying this change stopped before it finished (killed or lost); "
        if len(written) == len(last):
            _finish(change_id, Status.APPLIED, "change.recovered", claim=claim, prior_states=change.prior_states,
                    message=base + "the cluster shows every write in place, so it is applied.",
                    extra={"recovered": "applied", "written": names})
            return "applied"
        if not written:
            _finish(change_id, Status.FAILED, "change.recovered", claim=claim, outcome="failed",
                    message=base + "none of its writes reached the cluster, so nothing was changed. "
                                   "File it again to apply it.",
                    extra={"recovered": "nothing_written", "written": []})
            return "failed"
        restore = [prior_of[target_key(writes[i].target)] for i in written
                   if target_key(writes[i].target) in prior_of]
        errors = _restore(gateway, restore)
        if len(restore) < len(written):
            errors.append("the prior state of " + ", ".join(
                n for i, n in zip(written, names, strict=True) if target_key(writes[i].target) not in prior_of)
                + " was not recorded")
        message = (base + f"{', '.join(names)} had been written and "
                   + ("could not all be restored: " + "; ".join(errors) + ". Check the cluster against the preview."
                      if errors else "were restored to how they were; nothing of it is left. File it again."))
        _finish(change_id, Status.FAILED, "change.recovered", claim=claim, outcome="failed", message=message,
                extra={"recovered": "restored", "written": names, "restore_errors": errors})
        return "failed"


def changes_recover_stuck() -> int:
    """The periodic task's body: recover every stuck change; how many were ended."""
    ids = list(stuck_changes().values_list("pk", flat=True))
    return sum(change_recover(pk) in ("applied", "failed") for pk in ids)


__all__ = ["change_recover", "changes_recover_stuck", "stuck_changes", "write_in_place"]
