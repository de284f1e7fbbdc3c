"""Patients in the local database: their details, records, notes and search, and the
existing patients a new one may duplicate. No Qt."""
