"""Scan tickets and lab cases."""
