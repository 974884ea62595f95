"""Meeting services: scheduling, the agenda, attendance, minutes, decisions, their pages."""
