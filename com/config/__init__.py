"""Configuration: settings and the one severity model."""
