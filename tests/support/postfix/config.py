"""The text of main.cf, master.cf and dovecot.conf for one private loopback instance.

Pure functions of a Layout and the chosen ports: nothing here touches the file system.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .certs import CertPaths
from .layout import Layout

__all__ = [
    "IMPLICIT_TLS",
    "MYHOSTNAME",
    "Ports",
    "Users",
    "render_dovecot_conf",
    "render_main_cf",
    "render_master_cf",
]

# Fixed, so Postfix never asks the system (or DNS) for its own name.
MYHOSTNAME = "mx.smtpcheck.test"


@dataclass(frozen=True, slots=True)
class Ports:
    """One loopback port per service; see _overrides for what each one speaks."""

    submission: int
    smtps: int
    relay: int
    starttls_optional: int
    expired: int
    wrong_name: int


@dataclass(frozen=True, slots=True)
class Users:
    """System accounts the daemons run as, looked up once on this machine."""

    postfix_uid: int
    postfix_gid: int


# Services that expect a TLS ClientHello before the SMTP greeting.
IMPLICIT_TLS = frozenset({"smtps", "expired", "wrong_name"})

_AUTH_ONLY = (
    "smtpd_client_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
)


def _overrides(service: str, certs: CertPaths) -> dict[str, str]:
    """Return the master.cf ``-o`` overrides that make ``service`` what its name says."""
    sasl_after_tls = {"smtpd_sasl_auth_enable": "yes", "smtpd_tls_auth_only": "yes"}
    implicit = {"smtpd_tls_wrappermode": "yes", "smtpd_tls_security_level": "encrypt"}
    table: dict[str, dict[str, str]] = {
        # 530 to MAIL before STARTTLS; AUTH advertised only after it; relay only when logged in.
        "submission": {
            "smtpd_tls_security_level": "encrypt",
            **sasl_after_tls,
            **dict.fromkeys(_AUTH_ONLY, "permit_sasl_authenticated,reject"),
        },
        "smtps": {**implicit, **sasl_after_tls},
        "relay": {"smtpd_tls_security_level": "none", "smtpd_sasl_auth_enable": "no"},
        "starttls_optional": {"smtpd_tls_security_level": "may", **sasl_after_tls},
        "expired": {**implicit, **sasl_after_tls, "smtpd_tls_chain_files": str(certs.expired)},
        "wrong_name": {
            **implicit,
            **sasl_after_tls,
            "smtpd_tls_chain_files": str(certs.wrong_name),
        },
    }
    # The instance name in every log line tells side-by-side instances apart.
    return {"syslog_name": f"$multi_instance_name/{service}", **table[service]}


def render_main_cf(layout: Layout, certs: CertPaths, users: Users, *, ipv6: bool) -> str:
    """Return a main.cf that keeps every byte of mail and every look-up on this machine."""
    settings = {
        "compatibility_level": "3.6",
        "queue_directory": layout.queue,
        "data_directory": layout.data,
        "meta_directory": "/etc/postfix",
        "mail_owner": "postfix",
        "setgid_group": "postdrop",
        "multi_instance_name": f"postfix-{layout.name}",
        # No syslog on a test machine: postlogd writes this file (needs the postlog service).
        "maillog_file": layout.postfix_log,
        "maillog_file_prefixes": layout.root,
        "myhostname": MYHOSTNAME,
        "mydomain": "smtpcheck.test",
        "myorigin": "$myhostname",
        "smtpd_banner": "$myhostname ESMTP smtpcheck test instance",
        "inet_interfaces": "loopback-only",
        "inet_protocols": "all" if ipv6 else "ipv4",
        "mynetworks": "127.0.0.0/8 [::1]/128" if ipv6 else "127.0.0.0/8",
        "smtpd_peername_lookup": "no",
        "smtp_dns_support_level": "disabled",
        "biff": "no",
        # Nothing is local and nothing is relayed: every recipient is one virtual Maildir.
        "mydestination": "",
        "local_recipient_maps": "",
        "relay_domains": "",
        "alias_maps": "",
        "alias_database": "",
        "virtual_mailbox_domains": "static:all",
        "virtual_mailbox_maps": "static:sink/",
        "virtual_mailbox_base": layout.mail,
        "virtual_uid_maps": f"static:{users.postfix_uid}",
        "virtual_gid_maps": f"static:{users.postfix_gid}",
        "virtual_transport": "virtual",
        # Belt and braces: should any address escape the virtual domain, it goes nowhere.
        "default_transport": "discard:test instance relays nothing",
        "relay_transport": "discard:test instance relays nothing",
        "local_transport": "error:test instance delivers nothing locally",
        "smtpd_tls_chain_files": certs.server,
        "smtpd_tls_security_level": "none",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": layout.auth_socket,
        "smtpd_sasl_auth_enable": "no",
    }
    return "".join(f"{key} = {value}\n" for key, value in settings.items())


# master.cf columns: service type private unpriv chroot wakeup maxproc command. Only the daemons
# that accept and file mail: no smtp, lmtp, local or pickup, so nothing can leave the machine.
_INTERNAL_SERVICES = """\
cleanup    unix  n  -  n  -    0  cleanup
qmgr       unix  n  -  n  300  1  qmgr
tlsmgr     unix  -  -  n  1000? 1 tlsmgr
rewrite    unix  -  -  n  -    -  trivial-rewrite
bounce     unix  -  -  n  -    0  bounce
defer      unix  -  -  n  -    0  bounce
trace      unix  -  -  n  -    0  bounce
verify     unix  -  -  n  -    1  verify
proxymap   unix  -  -  n  -    -  proxymap
proxywrite unix  -  -  n  -    1  proxymap
anvil      unix  -  -  n  -    1  anvil
error      unix  -  -  n  -    -  error
retry      unix  -  -  n  -    -  error
discard    unix  -  -  n  -    -  discard
virtual    unix  -  n  n  -    -  virtual
postlog    unix-dgram n - n -  1  postlogd
"""


def render_master_cf(ports: Ports, certs: CertPaths, *, ipv6: bool) -> str:
    """Return a master.cf with one smtpd per port and address, and the internal daemons."""
    hosts = ["127.0.0.1", "[::1]"] if ipv6 else ["127.0.0.1"]
    lines = []
    for field in dataclasses.fields(ports):
        options = "".join(
            f"\n  -o {key}={value}" for key, value in _overrides(field.name, certs).items()
        )
        port = getattr(ports, field.name)
        lines += [f"{host}:{port} inet n - n - - smtpd{options}" for host in hosts]
    return "\n".join(lines) + "\n" + _INTERNAL_SERVICES


def render_dovecot_conf(layout: Layout) -> str:
    """Return a dovecot.conf for a SASL backend only: no protocols, no listeners but auth."""
    return f"""\
instance_name = {layout.name}
base_dir = {layout.dovecot_run}
state_dir = {layout.dovecot_state}
protocols = none
ssl = no
log_path = {layout.dovecot_log}
default_internal_user = dovecot
default_login_user = dovenull
auth_mechanisms = plain login
# The stock 2 s before every 535 would make each wrong-password test slow. At 0 a failure
# still waits for Dovecot's next failure tick (every 0.5 s), so a 535 takes 0-0.5 s.
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {layout.dovecot_passwd}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home=/nonexistent
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
# A failed login would otherwise delay every later login from 127.0.0.1 by 2-15 s, so the
# outcome of a test would depend on which tests ran before it.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
