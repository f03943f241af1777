"""A private Postfix + Dovecot SASL instance on loopback, and the tests that use it."""
