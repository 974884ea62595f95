"""Intake: staff reports, the anonymous tip line, the imminent-danger alert and triage."""
