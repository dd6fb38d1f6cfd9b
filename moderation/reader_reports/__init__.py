"""Reader reports: a site's readers flag comments; enough reports send one to review."""
