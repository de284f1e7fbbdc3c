"""The Chairside cloud: the sync API, tus resumable uploads, and the web portal for
doctors, patients and labs, all served by one process (`python -m cloud`).

Of the desktop's code it imports `app.core` (the wire schema, the merge rule, the
clock) and a few helpers of `app.platform` that need neither Qt nor the local store:
the JSON codec, the sealed-file format, bulk inserts, the paused collector, file
hashing. `.importlinter` holds it to that as the code is: the `cloud-apart` contract
forbids `app.store`, `app.ui` and `sync_agent`, `qt-only-in-ui` forbids Qt, and
`app.platform` is allowed.
"""
