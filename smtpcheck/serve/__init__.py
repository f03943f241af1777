"""`smtpcheck serve`: the scheduled health check as a long-running exporter.

``view`` holds what is known (plain data), ``scheduler`` keeps checking the fleet, ``history``
keeps state changes in SQLite, ``metrics`` and ``page`` render a view, ``app`` serves them.
"""

__all__: list[str] = []
