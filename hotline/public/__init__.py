"""Public pages of the staff side: published answers (/answers) and the rating page (/r/<token>)."""
