"""Users, roles, schools and teams; sign-in with a second factor, sessions, the admin pages."""
