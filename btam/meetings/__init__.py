"""Case meetings: the agenda built from the cases, attendance with quorum, minutes, decisions."""
