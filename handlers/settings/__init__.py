"""The /settings screens (issue 18): global settings for admins, a chat's own for its members."""
