"""Live feeds (issue 17): detector alerts over MQTT and HTTP, and webhook pushes to agencies."""
