"""The pages of sign-in, the own account and the district administrator."""
