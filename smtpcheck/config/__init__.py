"""A gateway's configuration: param keys, models, how JavaMail reads it, documents, sources.

The address syntax its host and sender must follow is here too. Nothing is imported by this
file, so that a module of the package costs only what it imports itself (`smtpcheck rules`
reads the param keys without loading pydantic).
"""

__all__: list[str] = []
