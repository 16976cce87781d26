"""Movizor in the chat: locating drivers, routes, shares, live locations and its alert fields."""
