"""Alta «Поиск вагонов» in the bot: /wagon (add, card, cancel), /wagons, its watcher and alerts.

``service.py`` registers the service; ``card.py`` renders a wagon's card from its number (also
for other commands, such as a search box).
"""

from handlers.alta import alert_fields as alert_fields  # registers Alta's field keys
