"""The Chairside sync agent: a background process, no GUI, one per practice database."""
