"""Movizor in the chat: locating drivers, routes, shares, live locations and its alert fields.

``service.py`` registers the service (bot/services.py); ``router.py`` builds its router from the
feature modules; ``alert_fields.py`` words its alert field keys.
"""

from handlers.movizor import alert_fields as alert_fields  # registers Movizor's field keys
