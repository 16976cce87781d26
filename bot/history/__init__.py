"""History: what each chat heard and what the bot did for it (storage/history.py keeps it).

- :mod:`bot.history.events` turns a routed alert into a history event (the pipeline calls it);
- :mod:`bot.history.recorder` is the one place the services' flows record their actions.
"""
