"""Program users in the local database: synced practice data, one user per username
across the practice's PCs. No Qt."""
