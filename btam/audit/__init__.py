"""The tamper-evident audit trail, kept in a store of its own, and the auditor's pages."""
