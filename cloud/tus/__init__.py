"""The tus 1.0.0 resumable upload protocol (core, creation, creation-with-upload,
checksum, termination, expiration): header parsing and the on-disk part files.

Uploads resume on any node. An upload's row (length, metadata, expiry, completion) is
in the database; its bytes so far are an encrypted part file in a folder every
process shares (`CHAIRSIDE_CLOUD_UPLOAD_DIR`), its offset that file's size and its
part keys wrapped with the master key all processes share. This shared folder is the
chosen design (S3 multipart uploads for the parts are the alternative, not built). The
writer's lock is a PostgreSQL advisory lock (upload_lock), the part file's flock on
SQLite, one machine.
"""
