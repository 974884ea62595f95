"""The assessment services: facts, answers, determinations and the notices they make due."""
