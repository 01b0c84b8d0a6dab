"""COM - Common Operation Map: geospatial risk mapping for Thai provincial security work."""

__version__ = "0.1.0"
