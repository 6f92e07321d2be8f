"""Slash-command cogs: thin adapters from interactions to bot.db.chat_queries and bot.ops."""
