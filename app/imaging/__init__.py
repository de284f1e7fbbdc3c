"""Images: classification, decoding, thumbnails, the content-addressed file store and
the acquisition folder's import rules. No Qt, no database."""
