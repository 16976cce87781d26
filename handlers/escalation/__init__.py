"""/escalation, /oncall and the buttons under an escalation's copies (bot/escalation)."""
