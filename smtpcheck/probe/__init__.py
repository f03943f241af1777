"""The live probe of one gateway: the SMTP session in explicit timed stages and what it needs.

``session`` drives the stages; ``opening`` greets and secures the connection; ``client`` is the
one module that imports aiosmtplib; ``failures`` names why a stage failed; ``recorder`` and
``transcript`` keep what was seen; ``network``, ``looks``, ``tls``, ``certificate`` and
``message`` are the sockets, second looks, TLS contexts, certificate reading and test message.
Nothing is imported here: importing ``smtpcheck.probe.tls`` must not load the SMTP client.
"""

__all__: list[str] = []
