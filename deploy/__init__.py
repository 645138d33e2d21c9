"""The course on one Linux server: JupyterHub with real Unix accounts and nbgrader's exchange.

``python3 -m deploy setup --roster roster.csv --start`` (as root, in the course's checkout); see
deploy/README.md. Only the standard library: it runs with the server's own Python before any
virtual environment exists.
"""
