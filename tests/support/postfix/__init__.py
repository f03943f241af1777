"""A private Postfix + Dovecot SASL instance on loopback: harness, configs, layout, certificates."""
