"""The sync screens: the agent's word in the status bar (and starting it), the upload
list, and the concurrent edits to review."""
