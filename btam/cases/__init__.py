"""The case domain: people, cases, notes, attachments, emergency grants and disclosures."""
