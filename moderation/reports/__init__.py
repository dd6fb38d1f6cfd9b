"""The model and queue reports (/reports/): read-only pages for moderators and site admins."""
