"""Managing the risk: plan items, the counselors' log, referrals, notifications, reviews."""
