"""`harvester serve`: the inbox, drafts, journal and report in a browser, on the store's own
functions; and the signed one-click links the weekly digest carries."""
