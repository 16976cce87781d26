"""Daily digests: at the chat's hour, one message about the last 24 hours of its areas.

- :mod:`bot.digests.content` counts a chat's history into a summary (pure);
- :mod:`bot.digests.render` words it and adds the buttons that open each list;
- :mod:`bot.digests.job` finds the chats whose hour has come and sends each digest once.
"""
