"""Escalation and on-call: an urgent alert nobody took reaches someone who will.

- ``opening``: which routed alerts open a chain (in the watcher's transaction), which news
  ends one by itself;
- ``chain``: a chat's chain of steps (wait, repeat in the chat, the on-call person, named
  people, the dispatchers, the admins), its words and its default;
- ``oncall``: who is on call in a chat at a moment, in the chat's zone;
- ``engine``: the periodic job that performs due steps exactly once, and stops chains when
  someone takes the alert (every copy is edited to say who and when).
"""
