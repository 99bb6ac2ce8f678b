"""Email: the outbox written in each action's transaction, its templates, and delivery over SMTP."""
