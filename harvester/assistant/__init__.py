"""`harvester mcp`: the journal served to AI assistants over the Model Context Protocol.
The `mcp` SDK is imported only by the server module, so nothing else pays for it."""
