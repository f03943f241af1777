"""Finding the port and TLS mode that work on a host: the candidates, the search, the suggestion.

Only `check --suggest` and `smtpcheck discover` import this package.
"""

__all__: list[str] = []
