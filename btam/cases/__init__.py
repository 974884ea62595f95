"""The case core: cases, parties, notes, attachments, members, work, emergency grants, lifecycle."""
