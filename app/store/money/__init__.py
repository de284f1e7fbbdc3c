"""Money in the store: a patient's account as a ledger of charges and payments."""
