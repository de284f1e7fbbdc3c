"""Sync in the local database: the outbox of local changes, applying other PCs' changes
(and setting aside those that do not fit), concurrent edits to review, the agent's state
and the upload queue. No Qt."""
