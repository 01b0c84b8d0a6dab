"""Geography: coordinate parsing and the one UTM projection rule."""
