"""The patient screens: the list and its search, a patient's page with records and payments,
the new-patient and details dialogs, and notes."""
