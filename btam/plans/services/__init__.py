"""The plan's use cases: items, the counselors' log, reviews, closure, the home page's work."""
