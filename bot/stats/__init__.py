"""Pure format code for c0rnp0rn round-stats files: names, parser, pairing, round-2 differential.

No I/O, no asyncio, stdlib only: bytes in, typed records out.
"""
