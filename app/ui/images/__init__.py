"""The image screens: a patient's Images tab, the viewer (pictures and 3D meshes),
acquisition (its folder and its word in the status bar), the unassigned inbox, images
recovered or taken while offline, and the offline images wizard (offline_sync_*)."""
