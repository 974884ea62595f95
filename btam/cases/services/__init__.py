"""The case services, one module per stage; each takes the acting user explicitly."""
