# SPDX-License-Identifier: GPL-2.0-only
"""certbot authenticator: tls-alpn-01 through alpnsteer.

    certbot certonly -a alpnsteer -d example.org
    certbot run -a alpnsteer -i nginx -d example.org

Each challenge is published with `alpnsteer challenge add IDENT KEYAUTH`
and withdrawn with `alpnsteer challenge remove IDENT`, so the webserver
keeps port 443 while the CA validates.  The same decisions as the shipped
hooks (scripts/hooks/*.sh): with an `alpnsteer agent` running (or
ALPNSTEER_AGENT=1, or ALPNSTEER_STORE set) only add and remove, the agent
attaches; otherwise attach as holder `certbot` (--alpnsteer-holder) with a
ttl (--alpnsteer-ttl, 1h), so steering ends by itself should certbot die
before its cleanup, and detach that holder only, afterwards.

certbot's acme library deprecated its tls-alpn-01 challenge in 4.1 and
removed it in 5.0; where it is missing, this module registers its own
(`typ` "tls-alpn-01"), which is all certbot needs: the responder is
alpnsteer's, and it needs only the key authorization.
"""

import logging
import os
import shlex
import shutil
import stat
import subprocess
import time

from acme import challenges
from certbot import errors, interfaces
from certbot.plugins import common

logger = logging.getLogger(__name__)

TYP = "tls-alpn-01"


class TLSALPN01Response(challenges.KeyAuthorizationChallengeResponse):
    """tls-alpn-01 response (RFC 8737), for an acme without its own."""

    typ = TYP


class TLSALPN01(challenges.KeyAuthorizationChallenge):
    """tls-alpn-01 challenge (RFC 8737), for an acme without its own.

    Only the key authorization is needed: alpnsteer makes the validation
    certificate.
    """

    response_cls = TLSALPN01Response
    typ = response_cls.typ

    def validation(self, account_key, **unused_kwargs):
        return self.key_authorization(account_key)


def challenge_class():
    """The class acme deserializes a tls-alpn-01 challenge into.

    certbot matches its preferences against the exact class of each
    challenge the CA offers, so the plugin must name the class that is
    registered: acme's own where it has one (looked up in the registry,
    which does not trip 4.1's deprecation warning), else ours, registered
    here once.
    """
    cls = challenges.Challenge.TYPES.get(TYP)
    if cls is None:
        challenges.Challenge.register(TLSALPN01)
        if TYP not in challenges.ChallengeResponse.TYPES:
            challenges.ChallengeResponse.register(TLSALPN01Response)
        cls = TLSALPN01
    return cls


# At import, before certbot reads its first authorization: a challenge of
# a type nobody registered is deserialized as UnrecognizedChallenge and can
# never be chosen.
CHALLENGE = challenge_class()


def achall_ident(achall):
    """The identifier of a challenge: a DNS name or an IP address.

    certbot's IP support gives the annotated challenge an `identifier`
    (an acme Identifier); older ones have a `domain` string only.
    """
    ident = getattr(achall, "identifier", None)
    value = getattr(ident, "value", None)
    return value if isinstance(value, str) else achall.domain


class Authenticator(common.Plugin, interfaces.Authenticator):
    """tls-alpn-01 through alpnsteer, next to the running webserver."""

    description = ("Obtain certificates with tls-alpn-01 on port 443 next to the "
                   "running webserver, through alpnsteer")

    @classmethod
    def add_parser_arguments(cls, add):
        add("path", default=os.environ.get("ALPNSTEER", "alpnsteer"),
            help="The alpnsteer program (default: $ALPNSTEER or alpnsteer from PATH).")
        add("holder", default=os.environ.get("ALPNSTEER_HOLDER", "certbot"),
            help="Holder name of the attachment this plugin makes when no "
                 "alpnsteer agent runs (default: certbot).")
        add("ttl", default=os.environ.get("ALPNSTEER_TTL", "1h"),
            help="Ttl of that holder and of each challenge: steering and the "
                 "challenges end by themselves after it (default: 1h).")
        add("attach-opts", default=os.environ.get("ALPNSTEER_ATTACH_OPTS", ""),
            help="More `alpnsteer attach` options for that attachment.")
        add("detach-wait", default=os.environ.get("ALPNSTEER_DETACH_WAIT", "60"),
            help="Seconds `alpnsteer detach --wait` waits for the drain (default: 60).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._attached = False
        self._pending = set()

    def more_info(self):
        return ("Publishes each tls-alpn-01 challenge with `alpnsteer challenge "
                "add` and withdraws it with `challenge remove`; attaches "
                "alpnsteer for the run unless an alpnsteer agent does.")

    def prepare(self):
        prog = self.conf("path")
        if shutil.which(prog) is None:
            raise errors.MisconfigurationError(
                f"Error: alpnsteer program {prog!r} not found\n"
                "Hint: install alpnsteer, or name it with --alpnsteer-path")

    def get_chall_pref(self, unused_domain):
        # Which class: acme's own, or ours where acme has none (the
        # selftest asserts it).
        logger.debug("tls-alpn-01 challenge class: %s.%s", CHALLENGE.__module__,
                     CHALLENGE.__qualname__)
        return [CHALLENGE]

    def _run(self, *args, check=True):
        cmd = [self.conf("path"), *args]
        logger.debug("running %s", shlex.join(cmd))
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, check=False)
        out = (p.stdout + p.stderr).strip()
        if out:
            logger.debug("%s", out)
        if check and p.returncode != 0:
            raise errors.PluginError(
                f"{shlex.join(cmd)} failed (exit {p.returncode}):\n{out}")
        return p.returncode, out

    def _agent_mode(self):
        """The hooks' rule: ALPNSTEER_AGENT=1, a store, or a live agent."""
        if os.environ.get("ALPNSTEER_AGENT") == "1" or os.environ.get("ALPNSTEER_STORE"):
            return True
        run_dir = os.environ.get("ALPNSTEER_RUN_DIR", "/run/alpnsteer")
        # A socket left by a killed agent refuses connections: not live.
        sock = os.path.join(run_dir, "agent.sock")
        try:
            if not os.path.exists(sock) or not stat.S_ISSOCK(os.stat(sock).st_mode):
                return False
        except OSError:
            return False
        rc, _ = self._run("agent", "status", check=False)
        return rc == 0

    def _store_settle(self, ident):
        """With a store, wait until every node answers as the CA would."""
        if not os.environ.get("ALPNSTEER_STORE"):
            return
        nodes = os.environ.get("ALPNSTEER_STORE_CHECK", "").split()
        if not nodes:
            time.sleep(float(os.environ.get("ALPNSTEER_STORE_SETTLE", "2")))
            return
        opts = shlex.split(os.environ.get("ALPNSTEER_STORE_CHECK_OPTS", ""))
        wait = float(os.environ.get("ALPNSTEER_STORE_CHECK_WAIT", "10"))
        for node in nodes:
            end = time.monotonic() + wait
            while True:
                rc, out = self._run("check", ident, "--address", node, *opts, check=False)
                if rc == 0:
                    break
                if time.monotonic() >= end:
                    raise errors.PluginError(
                        f"Error: node {node} does not answer {ident} for the CA: "
                        f"{out.splitlines()[-1] if out else '?'}")
                time.sleep(0.2)

    def perform(self, achalls):
        ttl = self.conf("ttl")
        if not self._attached and not self._agent_mode():
            self._run("attach", "--holder", self.conf("holder"), "--ttl", ttl,
                      *shlex.split(self.conf("attach-opts") or ""))
            self._attached = True
        responses = []
        for achall in achalls:
            ident = achall_ident(achall)
            keyauth = achall.chall.key_authorization(achall.account_key)
            # A token is base64url and may start with "-": after "--",
            # the key authorization is never taken for an option.
            self._run("challenge", "add", "--ttl", ttl, "--", ident, keyauth)
            self._pending.add(ident)
            try:
                self._store_settle(ident)
            except errors.PluginError:
                self._remove(ident)
                raise
            logger.info("alpnsteer answers tls-alpn-01 for %s", ident)
            responses.append(achall.response(achall.account_key))
        return responses

    def _remove(self, ident):
        """Remove one challenge; False when it stays answered until its ttl."""
        self._pending.discard(ident)
        rc, out = self._run("challenge", "remove", ident, check=False)
        # Already gone (removed before, expired, a detach) is no failure.
        if rc == 0 or "no pending challenge for" in out or "alpnsteer is not attached" in out:
            return True
        logger.error("%s\nError: could not remove the challenge for %s; it stays "
                     "answered until its ttl (%s)", out, ident, self.conf("ttl"))
        return False

    def cleanup(self, achalls):
        # A failed remove or detach does not fail the certificate: the ttl
        # ends both, and the error is logged for the administrator.
        for achall in achalls:
            self._remove(achall_ident(achall))
        if self._attached and not self._pending:
            rc, out = self._run("detach", "--holder", self.conf("holder"),
                                f"--wait={self.conf('detach-wait')}", check=False)
            self._attached = False
            if rc != 0:
                logger.error("%s\nError: alpnsteer detach --holder %s failed; steering "
                             "ends at its ttl (%s)", out, self.conf("holder"), self.conf("ttl"))
