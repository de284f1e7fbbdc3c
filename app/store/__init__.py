"""The local practice database (SQLite with SQLCipher). No Qt."""
