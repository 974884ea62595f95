"""The case services; each takes the acting user explicitly and stages, never commits."""
