"""The Chairside cloud: sync API, resumable uploads and (later) the web portal.

Imports `app.core` and nothing else of `app`; never Qt.
"""
