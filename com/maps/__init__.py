"""The operations map: style, layers, controls, the map builder and its data."""
