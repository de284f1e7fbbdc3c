"""The desktop screens: the only package that imports Qt (PySide6).

By area, like app.store: shell (start-up, sign-in, the main window, background work in
shell.ops), widgets (shared pieces), patients, schedule, images, sync, server, users. A
new screen goes into the folder of its area; a new area gets its own folder."""
