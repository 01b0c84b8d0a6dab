"""COM's FastAPI application: thin handlers over the `com` library."""
