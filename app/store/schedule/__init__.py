"""The appointment book's storage: chairs and appointments placed in them; and the diary's
day of visits, appointments and money taken. No Qt."""
