"""The appointment book: a time grid of the day, one column per chair; and the diary of
the day's visits, appointments and payments."""
