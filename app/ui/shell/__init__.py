"""Start-up and the main window: choosing the practice file, signing in, the window and its
menus, the context every screen gets, and background work (ops: WriteOp on the single
database writer, ReadOp on a small pool)."""
