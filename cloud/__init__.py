"""The Chairside cloud: sync API, resumable uploads and (later) the web portal.

Imports `app.core` and, of `app.platform`, only its Qt- and SQL-free helpers (the
JSON codec, the sealed-file format); never Qt.
"""
