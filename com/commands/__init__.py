"""The `com` command groups, one module per concern; :mod:`com.cli` assembles them."""
