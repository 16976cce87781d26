"""Mobiforce in the chat: field-service tasks (card, list, wizard, comment, close), clients and
employees from the bot's own directories, and its alert fields.

``service.py`` registers the service (bot/services.py); ``router.py`` builds its router from the
feature modules; ``alert_fields.py`` words its alert field keys.
"""

from handlers.mobiforce import alert_fields as alert_fields  # registers Mobiforce's field keys
