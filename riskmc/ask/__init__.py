"""Questions of a finished run: events, what holds given a condition, reverse stress, goal seek."""
