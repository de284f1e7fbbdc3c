"""The appointment book's storage: chairs and appointments placed in them."""
