"""The intake pages: reporting a concern, the tip line, the triage queue."""
