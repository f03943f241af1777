"""Every default a user can change, defined once: the code uses it and ``--help`` shows it.

Plain constants with no imports, so the command line can show them without loading anything.
"""

from __future__ import annotations

__all__ = [
    "API_ANSWER_LIMIT",
    "API_TIMEOUT",
    "CERT_WARN_DAYS",
    "CHECK_TIMEOUT",
    "CONCURRENCY",
    "DELIVERY_PASSWORD_ENV",
    "DELIVERY_TIMEOUT",
    "DELIVERY_TIMEOUT_MAX",
    "DISCOVER_TIMEOUT",
    "FAIL_ON",
    "FORMAT",
    "FORMATS",
    "PER_HOST",
    "SLOW_GREETING_MS",
]

#: Seconds that `check` waits at most in each phase of a probe (the config's own timeouts apply
#: when shorter).
CHECK_TIMEOUT = 10.0
#: Seconds per phase for discovery and ``--suggest``: a closed or silent port is the common case.
DISCOVER_TIMEOUT = 5.0
#: Probes at once over all hosts: enough that a fleet of black holes ends in about one timeout.
CONCURRENCY = 256
#: Connections at once to one host: a shared relay must not see a flood.
PER_HOST = 8
#: Warn when a server certificate expires within this many days (SC607).
CERT_WARN_DAYS = 21
#: A greeting slower than this is SC507 (some servers delay it on purpose, RFC 5321 §4.5.3.2).
SLOW_GREETING_MS = 5000.0
#: Seconds for each panel API request; every try of one fetch together stops after 3 times this.
API_TIMEOUT = 20.0
#: Every output format of a report, in the order ``--help`` lists them.
FORMATS = ("text", "json", "junit", "nagios", "prometheus", "sarif")
#: The output format when none is asked for.
FORMAT = "text"
#: The lowest finding severity that fails a run (``--fail-on``).
FAIL_ON = "error"
#: Bytes of one panel API answer, counted decoded, past which it is refused: a fleet's gateway
#: list is a few MB, and a small compressed answer must not inflate into gigabytes.
API_ANSWER_LIMIT = 64 * 1024 * 1024

#: Seconds `--expect-delivery` looks for the test message after the server's 250.
DELIVERY_TIMEOUT = 30.0
#: The longest `--delivery-timeout` taken: a health check waits for nothing for an hour.
DELIVERY_TIMEOUT_MAX = 600.0
#: The environment variable the mailbox (or the catcher's basic-auth) password is read from.
DELIVERY_PASSWORD_ENV = "SMTPCHECK_DELIVERY_PASSWORD"
