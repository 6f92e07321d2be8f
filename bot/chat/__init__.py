"""Chat side: Discord client, cogs (thin), embeds, outbox drainer and the console sink."""
