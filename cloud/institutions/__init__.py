"""Institutions: clinics and labs, their members, and the connections between them."""
