"""The pieces of the web app that app.py wires together."""
