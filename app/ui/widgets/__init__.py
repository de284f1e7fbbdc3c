"""Pieces every screen uses: form dialogs, table models, date boxes, how dates and money
read, text from elsewhere shown as plain text, and windows sized to the screen."""
