"""The Navixy panel API: ``client`` (the one httpx importer) and ``answers`` (what it said).

Imported only when a command reads gateways from the panel.
"""

__all__: list[str] = []
