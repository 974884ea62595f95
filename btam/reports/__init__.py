"""The home page and de-identified aggregates."""
