"""Alerts: the source-independent model, routing to subscribed chats, the outbox and its sender."""
