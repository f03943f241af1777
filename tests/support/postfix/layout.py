"""Where everything of one private Postfix + Dovecot instance lives inside its own directory."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Layout"]


@dataclass(frozen=True, slots=True)
class Layout:
    """Paths under one instance directory; nothing of an instance lives outside it."""

    root: Path

    @property
    def name(self) -> str:
        """A name unique per directory, so two instances never share logs or registries."""
        return "smtpcheck-" + hashlib.sha256(bytes(self.root)).hexdigest()[:8]

    @property
    def state(self) -> Path:
        return self.root / "instance.json"

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def postfix_config(self) -> Path:
        return self.root / "postfix"

    @property
    def queue(self) -> Path:
        return self.root / "queue"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def maildir(self) -> Path:
        # The trailing "/" in virtual_mailbox_maps makes this a Maildir (see config.py).
        return self.mail / "sink"

    @property
    def postfix_log(self) -> Path:
        return self.root / "postfix.log"

    @property
    def dovecot_config(self) -> Path:
        return self.root / "dovecot" / "dovecot.conf"

    @property
    def dovecot_passwd(self) -> Path:
        return self.root / "dovecot" / "passwd"

    @property
    def dovecot_run(self) -> Path:
        return self.root / "dovecot" / "run"

    @property
    def dovecot_state(self) -> Path:
        return self.root / "dovecot" / "state"

    @property
    def dovecot_log(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def dovecot_pid(self) -> Path:
        # Dovecot writes this itself into base_dir once its master runs.
        return self.dovecot_run / "master.pid"

    @property
    def auth_socket(self) -> Path:
        return self.dovecot_run / "auth-postfix"

    @property
    def imap_maildir(self) -> Path:
        # "imap/" in virtual_mailbox_maps (config.py, IMAP mode): the one IMAP user's Maildir.
        return self.mail / "imap"

    @property
    def imap_users(self) -> Path:
        # The IMAP user's userdb entry (uid, home, Maildir); looked up before the static userdb.
        return self.root / "dovecot" / "imap-users"
