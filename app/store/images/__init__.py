"""Images in the local database: the series of each patient, what acquisition took, and
the pictures taken while offline waiting to be matched to patients. No Qt."""
