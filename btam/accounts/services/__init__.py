"""The district administrator's services: users, and the district's schools and teams."""
