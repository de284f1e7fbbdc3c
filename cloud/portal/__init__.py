"""The read-only web portal for doctors and patients, and the server accounts behind it."""
