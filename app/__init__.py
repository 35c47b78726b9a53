"""The application layer: the operations people perform (submit, act on a request, the
lottery, permits, find, list and show, notices), as plain async functions taking the acting
`Principal`. Every front (the `transfers` CLI today; the staff console and the parent portal
next) calls these and nothing below them: no front imports `workflows`, `store` or
`temporalio`.

An operation refuses with `Refused` (or a `rules.errors.PolicyError`, or
`store.migrate.DatabaseNotCurrent`: `REFUSALS` holds all three), and a refused operation has
changed nothing."""
