"""The appointment book: a time grid of the day, one column per chair."""
