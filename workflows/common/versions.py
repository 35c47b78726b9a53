"""The versioned changes of the workflows (``workflow.patched``), folded into one marker a run.

A change to a workflow that may already be running is guarded by a patch id, so that runs
started before it replay as they ran. Temporal's core SDK pairs every patch marker a new run
records with an upsert of the ``TemporalChangeVersion`` search attribute: a history event and a
visibility write on the server for each distinct id, which on the embedded dev server cost
like a stage change (three of a request's eight upserts were patches).

So the ids that every run started from now on takes are folded into ``BASELINE``: a new run
records that one marker, and each folded id is then true without a marker of its own. A run
started before the baseline has no baseline marker in its history: for it ``patched`` asks
Temporal about each id as before, and it replays exactly as it ran.

A new change gets a new id, outside the baselines, and costs its one upsert a run until it is
folded into the next baseline: a new name, with the newest baseline's ids and the new ones,
put first in ``BASELINES``. A run replays with the baseline its history holds: asked first
for the newest, a run recorded before it has no such marker, so it is asked for the older
ones in turn, and for each id of its own. ``temporal workflow list --query
"TemporalChangeVersion = '<baseline>'"`` finds the runs that took a baseline.
"""

from __future__ import annotations

from temporalio import workflow

_FIRST: frozenset[str] = frozenset({
    "search-attributes",  # every process keeps its search attributes current
    "local-records",  # records are written by local activities
    "issue-permit",  # an approval starts the permit's own workflow
    "lottery-releases-results",  # the lottery releases its results and keeps the seats
    "start-attributes",  # a workflow is started with its first stage's search attributes
    "local-receipts",  # a request's receipt is sent by a local activity
})

_SECOND = _FIRST | {
    "notices-behind-updates",  # an Update returns without waiting for its notice
}

_THIRD = _SECOND | {
    "signed-starts",  # a start is verified against its front's proof
    "signed-actions",  # an Update is verified against its front's proof, in its handler
}

_FOURTH = _THIRD | {
    "signed-signals",  # signals between workflows carry proofs, and need them
    "county-class-extension",  # a county extends only as EC 46601 allows
    "failed-notices-escalated",  # a notice that failed for good is escalated, not fatal
    "permit-yearly-record",  # each school year's run of a permit writes its record
}

_FIFTH = _FOURTH | {
    "intake-clock",  # a request judges its receipt on its own clock at start
    "paper-forms",  # the lottery takes paper forms received before its close
    "permit-agreements",  # a permit takes its conditions from the districts' agreement
}

BASELINES: tuple[tuple[str, frozenset[str]], ...] = (  # the newest first
    ("baseline-2026-12-03", _FIFTH | {
        "received-at-start",  # received when the server started the run, not its first task
        "file-complete-notice",  # the parent is told when the file is complete
    }),
    ("baseline-2026-12-02b", _FIFTH),
    ("baseline-2026-12-02", _FOURTH),
    ("baseline-2026-12", _THIRD),
    ("baseline-2026-11-24", _SECOND),
    ("baseline-2026-11", _FIRST),
)
BASELINE = BASELINES[0][0]
"""The marker every run started from now on records."""


def patched(patch_id: str) -> bool:
    """``workflow.patched(patch_id)``, true without a marker of its own for an id folded into
    the baseline that the run took."""
    for baseline, folded in BASELINES:
        if patch_id in folded and workflow.patched(baseline):
            return True
    return workflow.patched(patch_id)
