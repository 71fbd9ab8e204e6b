#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# certbot's alpnsteer authenticator (certbot/certbot_alpnsteer), without
# root and without a CA: its tls-alpn-01 challenge type where the acme
# library has none (acme 5.0 removed TLSALPN01; simulated here by taking
# it out of acme's registry before the plugin is imported), certbot's own
# challenge choice and deserialization picking it, and the alpnsteer
# calls perform/cleanup make in attach mode and in agent mode, through a
# wrapper that records them.  Debian's certbot (python3-certbot) is the
# one imported: skipped without it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
if ! [ -x $py ] || ! $py -c 'import certbot, acme' 2>/dev/null; then
	echo "# SKIP: certbot (python3-certbot) is not installed"
	exit 249
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/alpnsteer" <<EOF
#!/bin/sh
echo "\$*" >> "$tmp/calls"
EOF
chmod +x "$tmp/alpnsteer"
export PYTHONPATH=$here/../certbot PYTHONDONTWRITEBYTECODE=1 CALLS=$tmp/calls
export ALPNSTEER=$tmp/alpnsteer ALPNSTEER_RUN_DIR=$tmp/run
unset ALPNSTEER_AGENT ALPNSTEER_STORE
# shellcheck disable=SC2016 # Python, not shell
$py - "$here/../VERSION" "$here/../certbot/pyproject.toml" <<'EOF'
import os, sys, types
from acme import challenges, messages
passed = failed = 0
def ok(what, cond):
    global passed, failed
    if cond:
        passed += 1
        print("ok", what)
    else:
        failed += 1
        print("not ok", what)

version = open(sys.argv[1]).read().strip()
ok(f"certbot/pyproject.toml says version {version}, as VERSION does",
   f'version = "{version}"' in open(sys.argv[2]).read())

# acme 5.0: no tls-alpn-01 in the registry.
acme_own = challenges.Challenge.TYPES.pop("tls-alpn-01", None)
challenges.ChallengeResponse.TYPES.pop("tls-alpn-01", None)
import certbot_alpnsteer as m
from certbot import achallenges
from certbot._internal import auth_handler
ok("without acme's, the plugin registers its own tls-alpn-01",
   m.CHALLENGE is m.TLSALPN01 and challenges.Challenge.TYPES["tls-alpn-01"] is m.TLSALPN01)
ok("... and its response", challenges.ChallengeResponse.TYPES.get("tls-alpn-01") is m.TLSALPN01Response)
token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
token2 = "-Xn-CXV0mKJhYBdJetRKhm_0xbbFycmyD1XrGwtpdJ4"
body = messages.ChallengeBody.from_json({"type": "tls-alpn-01", "status": "pending",
    "url": "https://ca.test/chall/1", "token": token})
ok("a tls-alpn-01 challenge from the CA is deserialized into it", isinstance(body.chall, m.TLSALPN01))
other = messages.ChallengeBody.from_json({"type": "http-01", "status": "pending",
    "url": "https://ca.test/chall/2", "token": token})
ok("certbot's gen_challenge_path chooses it over http-01",
   auth_handler.gen_challenge_path([other, body], [m.CHALLENGE]) == (1,))

import josepy
from cryptography.hazmat.primitives.asymmetric import rsa
key = josepy.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
thumb = josepy.b64encode(key.thumbprint()).decode()
def achall(challb, name):
    return auth_handler.challb_to_achall(challb, key, name)
a = achall(body, "example.test")
ok("certbot annotates it as a key authorization challenge",
   isinstance(a, achallenges.KeyAuthorizationAnnotatedChallenge))
ok("m.achall_ident: the identifier", m.achall_ident(a) == "example.test")
# certbot 5.3 (IP identifiers): the annotated challenge has `identifier`,
# an acme Identifier of type "ip" for an address, and `domain` is
# deprecated; the address goes to `challenge add` as it is (alpnsteer
# answers its reverse-name SNI).
ipid = messages.Identifier(typ=messages.IDENTIFIER_IP, value="2001:db8::1")
ok("m.achall_ident: an IP identifier (certbot 5.3's achall.identifier) is its address",
   m.achall_ident(types.SimpleNamespace(identifier=ipid, domain="wrong.test")) == "2001:db8::1")

conf = types.SimpleNamespace(alpnsteer_path=os.environ["ALPNSTEER"], alpnsteer_holder="certbot",
    alpnsteer_ttl="1h", alpnsteer_attach_opts="--per-source 4", alpnsteer_detach_wait="60")
def calls():
    try:
        with open(os.environ["CALLS"]) as f:
            return [l.strip() for l in f]
    finally:
        if os.path.exists(os.environ["CALLS"]):
            os.unlink(os.environ["CALLS"])

b2 = messages.ChallengeBody.from_json({"type": "tls-alpn-01", "status": "pending",
    "url": "https://ca.test/chall/3", "token": token2})
auth = m.Authenticator(conf, "alpnsteer")
auth.prepare()
ok("get_chall_pref: tls-alpn-01", auth.get_chall_pref("example.test") == [m.CHALLENGE])
achalls = [a, achall(b2, "192.0.2.1")]
resp = auth.perform(achalls)
ok("perform: one response per challenge, tls-alpn-01",
   [r.typ for r in resp] == ["tls-alpn-01", "tls-alpn-01"])
ok("... whose JSON carries no key authorization (RFC 8555: {})",
   "keyAuthorization" not in resp[0].to_partial_json())
auth.cleanup(achalls)
want = ["attach --holder certbot --ttl 1h --per-source 4",
        f"challenge add --ttl 1h -- example.test {token}.{thumb}",
        f"challenge add --ttl 1h -- 192.0.2.1 {token2}.{thumb}",
        "challenge remove example.test", "challenge remove 192.0.2.1",
        "detach --holder certbot --wait=60"]
got = calls()
# A token may start with '-' (base64url): the key authorization comes
# after "--", or alpnsteer would take it for an option.
ok("attach mode: attach as holder certbot with the ttl, add KEYAUTH (after --), remove, detach", got == want)
if got != want:
    print("#", got)

os.environ["ALPNSTEER_AGENT"] = "1"
auth = m.Authenticator(conf, "alpnsteer")
auth.perform([a])
auth.cleanup([a])
got = calls()
ok("agent mode (ALPNSTEER_AGENT=1): add and remove only",
   got == [f"challenge add --ttl 1h -- example.test {token}.{thumb}", "challenge remove example.test"])
del os.environ["ALPNSTEER_AGENT"]

conf.alpnsteer_path = "/nonexistent/alpnsteer"
try:
    m.Authenticator(conf, "alpnsteer").prepare()
    ok("prepare refuses a missing alpnsteer", False)
except Exception as e:
    ok("prepare refuses a missing alpnsteer, with Error and Hint",
       "Error: " in str(e) and "Hint: " in str(e))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
