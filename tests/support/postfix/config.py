"""The text of main.cf, master.cf and dovecot.conf for one private loopback instance.

Pure functions of a Layout and the chosen ports: nothing here touches the file system.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .certs import CertPaths
from .layout import Layout

__all__ = [
    "IMAP_ADDRESS",
    "IMPLICIT_TLS",
    "MYHOSTNAME",
    "PLAIN_ONLY_HOST",
    "ImapPorts",
    "Ports",
    "Users",
    "render_dovecot_conf",
    "render_dovecot_imap",
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


@dataclass(frozen=True, slots=True)
class ImapPorts:
    """Dovecot's IMAP listeners, when the instance serves IMAP (``start(root, imap=True)``)."""

    starttls: int  # 127.0.0.1: plain IMAP that offers STARTTLS
    imaps: int  # 127.0.0.1: implicit TLS
    plain_only: int  # PLAIN_ONLY_HOST: offers no STARTTLS and would take a plaintext LOGIN


# IMAP mode: Postfix files mail for this one address into the IMAP user's Maildir (the user
# logs in with this same name); every other recipient still lands in the sink Maildir.
IMAP_ADDRESS = "inbox@imap.smtpcheck.test"
# Another loopback address (all of 127/8 is loopback on Linux), so that Dovecot's per-address
# `local` block can switch TLS off for one listener only.
PLAIN_ONLY_HOST = "127.0.0.2"

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


def render_main_cf(
    layout: Layout, certs: CertPaths, users: Users, *, ipv6: bool, imap: bool = False
) -> str:
    """Return a main.cf that keeps every byte of mail and every look-up on this machine.

    With ``imap``, mail for IMAP_ADDRESS goes to the IMAP user's Maildir instead of the sink.
    """
    # The trailing "/" makes each a Maildir; the first table that knows the address wins.
    mailboxes = f"inline:{{{IMAP_ADDRESS}=imap/}}, static:sink/" if imap else "static:sink/"
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
        "virtual_mailbox_maps": mailboxes,
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


def render_dovecot_conf(layout: Layout, imap: _DovecotImap | None = None) -> str:
    """Return a dovecot.conf for a SASL backend only: no protocols, no listeners but auth.

    With ``imap`` (see `render_dovecot_imap`), it also serves IMAP to the one IMAP user.
    """
    imap_userdb, imap_rest = imap if imap is not None else ("", "")
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
{imap_userdb}userdb {{
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
{imap_rest}"""


# What render_dovecot_conf adds for IMAP: a userdb that must come before the static one (the
# first userdb that knows a user wins), and the rest, which may follow the SASL settings.
_DovecotImap = tuple[str, str]


def render_dovecot_imap(
    layout: Layout, ports: ImapPorts, certs: CertPaths, users: Users
) -> _DovecotImap:
    """Return the IMAP additions to dovecot.conf: imap(s) on 127.0.0.1, plain on PLAIN_ONLY_HOST."""
    userdb = f"""\
# The IMAP user only (its uid, home and Maildir); everyone else falls through to the static userdb.
userdb {{
  driver = passwd-file
  args = username_format=%u {layout.imap_users}
}}
"""
    rest = f"""\
# IMAP for the delivery tests (later settings override the SASL-only ones above).
protocols = imap
listen = 127.0.0.1
ssl = yes
# "<" reads the file; without it Dovecot starts but every handshake fails. The key and the
# chain share one file (key first, as Postfix wants it); each setting takes its own part.
ssl_cert = <{certs.server}
ssl_key = <{certs.server}
# virtual(8) writes the Maildir as the postfix user (uid {users.postfix_uid}); Dovecot's mail
# processes must run as that user too, below the stock first_valid_uid of 500.
first_valid_uid = {users.postfix_uid}
mail_location = maildir:~
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {ports.starttls}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ports.imaps}
    ssl = yes
  }}
  inet_listener plain_only {{
    address = {PLAIN_ONLY_HOST}
    port = {ports.plain_only}
  }}
}}
# A server that offers no STARTTLS and would take LOGIN in plaintext: only a client's own
# refusal keeps the password off the wire there.
local {PLAIN_ONLY_HOST} {{
  ssl = no
  disable_plaintext_auth = no
}}
"""
    return userdb, rest
