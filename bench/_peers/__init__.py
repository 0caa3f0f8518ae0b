"""Contestants of bench/smallcall.py: one module per peer, each with a server and a client."""
