"""Who may do what: actors and roles, route permissions, THE policy, refusals, record classes."""
