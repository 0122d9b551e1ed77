"""The facilitators' web board: aiohttp.web inside the bot's event loop (see server.py).

auth.py: login links, sessions and CSRF; pages/: one module per page group; charts.py: the usage
plots as hand-drawn SVG; static/: the one stylesheet. Nothing is loaded from the web.
"""
