"""The people services: matching, a person's record, the record of disclosures."""
