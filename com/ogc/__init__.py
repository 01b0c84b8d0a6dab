"""OGC API collections: what each serves, query parsing, CQL2, items, exports and tiles."""
