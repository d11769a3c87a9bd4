"""Notifications: Jinja2 templates (Vietnamese and English), pure rendering, the outbox, the SMTP sender."""
