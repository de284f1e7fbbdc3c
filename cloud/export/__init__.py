"""The practice's data download: its CSV files, the encrypted ZIP, and the job."""
