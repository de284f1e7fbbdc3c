"""The domain of Chairside: entities, rules and the sync wire schema.

Imports the standard library only: no Qt, no SQL, no network.
"""
