"""What tests, benchmarks and scripts share: real servers on loopback and the ways to drive them.

``servers``: aiosmtpd (plain, STARTTLS, implicit TLS, AUTH) and raw misbehaving servers with
trustme certificates; ``postfix``: a private Postfix + Dovecot SASL instance; ``panel``: a local
panel API that follows the documented contract; ``gateways``: gateway objects pointed at them;
``cli``: the one way to run the command line in a test.
"""
