"""Movizor in the chat: locating drivers, routes, shares, live locations and its alert fields."""

from handlers.movizor import alert_fields as alert_fields  # registers Movizor's field keys
