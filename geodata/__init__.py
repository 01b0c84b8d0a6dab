"""Reference-data manifest, field mappings and documentation (never the boundary files)."""
