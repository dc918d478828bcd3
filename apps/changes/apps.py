from django.apps import AppConfig

CHANGE_ACTIONS = {
    "change.create": "A change request was filed (a draft, or a rollback of an applied change).",
    "change.edit": "A change request's input was edited (its approvals are void).",
    "change.submit": "A change request was submitted for review, bound to its payload and resourceVersions.",
    "change.approve": "A reviewer approved a change request (bound to the payload hash they saw).",
    "change.reject": "A reviewer rejected a change request, with a reason.",
    "change.cancel": "A change request was cancelled.",
    "change.apply": "An approver asked for an approved change to be applied (the task is queued).",
    "change.applied": "The apply task wrote every object of a change to the cluster.",
    "change.failed": "The apply task failed; objects already written were restored (message: the API server's).",
    "change.stale": "At apply, a target had changed since review: the change needs review again.",
    "change.rollback": "The rollback of an applied change was filed (names the rollback change).",
    "change.expired": "A change request reached its time to live before it was applied.",
    "change.recovered": "A change its worker left applying (killed) was ended against the cluster: applied, "
                        "or failed with what it had written restored.",
}


class ChangesConfig(AppConfig):
    name = "apps.changes"
    label = "changes"
    verbose_name = "Change requests"

    def ready(self) -> None:
        from apps.audit.actions import register_actions

        register_actions(CHANGE_ACTIONS)
