"""Files out: exports and the one spreadsheet formula-escaping rule."""
