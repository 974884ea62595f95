"""Fact-based assessment: facts, models as data, answers, determinations with quorum."""
