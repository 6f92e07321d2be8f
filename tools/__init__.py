"""Diagnostic scripts: thin argparse wrappers over bot.ops (`python -m tools.<name>`)."""
