"""HTTP: the app and its webhooks, the JSON API with its bearer tokens, the staff console."""
