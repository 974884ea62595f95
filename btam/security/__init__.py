"""Cryptography and credentials: field encryption, keys, blind indexes, passwords, MFA, headers."""
