"""Who may see and do what: access, privacy, audit trail, API keys, users and retention."""
