"""The tus 1.0.0 resumable upload protocol (core, creation, creation-with-upload,
checksum, termination, expiration): header parsing and the on-disk part files."""
