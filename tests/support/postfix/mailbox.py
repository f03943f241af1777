"""The IMAP side of a private instance: one Dovecot IMAP user whose Maildir Postfix fills.

`configure_imap` turns the configs that harness.start wrote into IMAP mode; harness.start
then starts the daemons as usual and waits for the IMAP greetings too.
"""

from __future__ import annotations

import os
import pwd
import secrets
import socket
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .certs import CertPaths
from .config import (
    IMAP_ADDRESS,
    PLAIN_ONLY_HOST,
    ImapPorts,
    Users,
    render_dovecot_conf,
    render_dovecot_imap,
    render_main_cf,
)
from .layout import Layout

__all__ = ["ImapAccess", "configure_imap", "imap_from_json"]


@dataclass(frozen=True, slots=True)
class ImapAccess:
    """The IMAP side of an instance started with ``imap=True``: one user, one Maildir.

    Mail that Postfix accepts for ``address`` lands in ``maildir``, which Dovecot serves as
    that user's INBOX on ``ports.imaps`` (TLS), ``ports.starttls`` (both on ``host``) and, with
    no STARTTLS offered, ``ports.plain_only`` on ``plain_only_host``.
    """

    host: str
    plain_only_host: str
    ports: ImapPorts
    user: str
    password: str
    address: str
    maildir: Path


def configure_imap(layout: Layout, certs: CertPaths, host: str, *, ipv6: bool) -> ImapAccess:
    """Turn the written configs into IMAP mode; return how to reach the IMAP user."""
    postfix = pwd.getpwnam("postfix")
    users = Users(postfix_uid=postfix.pw_uid, postfix_gid=postfix.pw_gid)
    ports = _free_imap_ports(host)
    imap = render_dovecot_imap(layout, ports, certs, users)
    layout.dovecot_config.write_text(render_dovecot_conf(layout, imap))
    main_cf = layout.postfix_config / "main.cf"
    main_cf.write_text(render_main_cf(layout, certs, users, ipv6=ipv6, imap=True))
    settled = time.time() - 60  # as in harness._write_configs: no settling wait
    os.utime(main_cf, (settled, settled))
    # Its own random password, so no test can pass with the submission user's.
    password = secrets.token_urlsafe(12)
    with layout.dovecot_passwd.open("a") as passwd:
        passwd.write(f"{IMAP_ADDRESS}:{{PLAIN}}{password}\n")
    maildir = layout.imap_maildir
    # user:password:uid:gid:gecos:home:shell; "mail_location = maildir:~" makes home the Maildir.
    layout.imap_users.write_text(
        f"{IMAP_ADDRESS}::{users.postfix_uid}:{users.postfix_gid}::{maildir}::\n"
    )
    # Made now, as virtual(8) would make it, so a login before the first delivery sees it.
    for path in (maildir, maildir / "cur", maildir / "new", maildir / "tmp"):
        path.mkdir(mode=0o700)
        os.chown(path, postfix.pw_uid, postfix.pw_gid)
    return ImapAccess(
        host=host,
        plain_only_host=PLAIN_ONLY_HOST,
        ports=ports,
        user=IMAP_ADDRESS,
        password=password,
        address=IMAP_ADDRESS,
        maildir=maildir,
    )


def _free_imap_ports(host: str) -> ImapPorts:
    """Pick Dovecot's ports, held until all are chosen (a race with another program remains)."""
    with ExitStack() as held:
        chosen: list[int] = []
        for address in (host, host, PLAIN_ONLY_HOST):
            sock = held.enter_context(socket.socket())
            sock.bind((address, 0))
            chosen.append(sock.getsockname()[1])
    return ImapPorts(*chosen)


def imap_from_json(data: dict[str, Any]) -> ImapAccess:
    """Read back what PostfixInstance.to_json wrote for the IMAP side."""
    return ImapAccess(
        **data | {"ports": ImapPorts(**data["ports"]), "maildir": Path(data["maildir"])}
    )
