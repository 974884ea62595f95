"""The intake services: reports, tips, triage."""
