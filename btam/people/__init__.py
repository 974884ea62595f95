"""People across cases: matching by blind index, history, the record of disclosures."""
