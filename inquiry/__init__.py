"""The balance inquiry: the facts one person's balance answer depends on, fetched in one SQL
statement (facts), and the pure rule that turns them into the answer for a channel (diagnosis)."""
