"""Settings from the chat (issue 18): the registry (`registry`), the kinds of value (`kinds`),
the effective values and their changes (`values`), and where they are declared (`declared`)."""
