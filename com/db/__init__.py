"""Persistence: engine, tables, queries and migrations of COM's PostGIS store."""
