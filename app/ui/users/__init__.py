"""The program users screen: adding, changing, resetting and disabling users, and splitting
users merged across PCs."""
