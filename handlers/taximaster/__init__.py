"""Taxi-Master in the chat: ordering a taxi (/taxi), following an order (/order and the
watcher's status card), prices, crews and tariffs.

``service.py`` registers the service (bot/services.py); ``router.py`` builds its router from the
feature modules; ``alert_fields.py`` words its alert field keys.
"""

from handlers.taximaster import alert_fields as alert_fields  # registers the field keys
