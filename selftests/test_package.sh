#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The Debian package (root): `make deb` into a temporary OUTPUT, lintian
# without errors, then the package installed on this machine with apt-get:
# its files where Debian expects them, the sysusers.d file creating the
# user, the units installed but neither enabled nor started, and the
# INSTALLED binary and hooks steering an acme-tls/1 hello next to the
# webserver (attach, a hook's challenge, check, detach).  Then an attach
# left live across `apt-get purge`: the prerm must drain it (pins gone,
# acme-tls/1 back to the webserver), and the purge must leave none of the
# package's files and no leftovers in /run/alpnsteer.
#
# Skipped (never purged) when an alpnsteer package, or a /usr/sbin/alpnsteer
# of a `make install PREFIX=/usr`, is already on the machine.
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$HERE/.." && pwd)
BUILT=$ALPNSTEER
INST=/usr/sbin/alpnsteer
HOOKS=/usr/lib/alpnsteer/hooks
UNITS="alpnsteer.service alpnsteer-attach.service alpnsteer-forward@.service"
VERSION=$(cat "$REPO/VERSION")
APT="apt-get -q -y -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive

# A skip is the harness's (exit 249) where lib.sh has st_skip; before
# that, a pass of nothing.
skip() {
	declare -F st_skip >/dev/null && st_skip "$*"
	echo "SKIP: $*"
	echo "0 passed, 0 failed"
	exit 0
}

if dpkg-query -W -f '${db:Status-Status}' alpnsteer 2>/dev/null | grep -qv not-installed; then
	skip "an alpnsteer package is installed here; this test would purge it"
fi
[ -e $INST ] && skip "$INST exists (not from a package): this test would replace it"
for t in dpkg-buildpackage dh lintian apt-get; do
	command -v $t >/dev/null || skip "no $t (scripts/install-deps.sh installs it)"
done

PKG_WORK=$(mktemp -d /tmp/alpnsteer-pkgtest.XXXXXX)
# The build's unit tests run the binary as nobody (tests/test_cmds.c).
chmod 755 "$PKG_WORK"
PKG_INSTALLED=0
pkg_cleanup() {
	if [ "$PKG_INSTALLED" = 1 ]; then
		$INST detach --all --wait=20 >/dev/null 2>&1 || true
		$APT purge alpnsteer >/dev/null 2>&1 || true
	fi
	rm -rf "$PKG_WORK"
}
trap 'pkg_cleanup' EXIT

# make deb, in an OUTPUT of its own: never ./build, which other runs use.
out=$PKG_WORK/out
deb=$out/alpnsteer_${VERSION}_$(dpkg --print-architecture).deb
if make -C "$REPO" --no-print-directory deb OUTPUT="$out" > "$PKG_WORK/build.log" 2>&1; then
	ok "make deb OUTPUT=DIR"
else
	grep -E -B3 'not ok|rror' "$PKG_WORK/build.log" | tail -n 40 | sed 's/^/#   /'
	not_ok "make deb OUTPUT=DIR"
fi
check "the package is at OUTPUT/alpnsteer_${VERSION}_ARCH.deb" test -f "$deb"
check "./build untouched by make deb" test ! -e "$out/deb/src/build"

# make install into a staging DESTDIR, from the package's own build (no
# .git there, so nothing is rebuilt): the /usr/local layout, the units
# rewritten for it, and make uninstall taking it all away again.
src=$out/deb/src
stage=$PKG_WORK/stage
L=$stage/usr/local
if make -C "$src" --no-print-directory install OUTPUT="$src/debian/build" \
	DESTDIR="$stage" > "$PKG_WORK/install.log" 2>&1; then
	ok "make install DESTDIR=DIR (PREFIX=/usr/local)"
else
	tail -n 20 "$PKG_WORK/install.log" | sed 's/^/#   /'
	not_ok "make install DESTDIR=DIR (PREFIX=/usr/local)"
fi
missing=
for f in sbin/alpnsteer lib/alpnsteer/hooks/uacme-hook.sh lib/alpnsteer/hooks/dehydrated-hook.sh \
	lib/alpnsteer/hooks/prepost-hook.sh lib/systemd/system/alpnsteer.service \
	lib/systemd/system/alpnsteer-attach.service lib/systemd/system/alpnsteer-forward@.service \
	lib/sysusers.d/alpnsteer.conf share/man/man8/alpnsteer.8 \
	share/bash-completion/completions/alpnsteer share/doc/alpnsteer/README.md \
	share/doc/alpnsteer/docs/design.md; do
	[ -e "$L/$f" ] || missing="$missing $f"
done
expect_eq "make install: binary, hooks, units, sysusers, man page, completion, docs" \
	"${missing:- none missing}" " none missing"
check "make install: units run /usr/local/sbin/alpnsteer" \
	grep -q '^ExecStart=/usr/local/sbin/alpnsteer ' "$L/lib/systemd/system/alpnsteer.service"
make -C "$src" --no-print-directory uninstall OUTPUT="$src/debian/build" \
	DESTDIR="$stage" > /dev/null 2>&1
expect_eq "make uninstall leaves no file" "$(find "$stage" -type f | wc -l)" 0

# lintian exits non-zero on an error tag (and on a file it cannot read).
lintian "$deb" > "$PKG_WORK/lintian.log" 2>&1
lrc=$?
grep -v 'running with root privileges' "$PKG_WORK/lintian.log" | sed 's/^/#   lintian: /'
check "lintian reports no error (E:)" test $lrc = 0 -a -z "$(grep '^E:' "$PKG_WORK/lintian.log")"

st_setup
trap 'pkg_cleanup; st_cleanup' EXIT
st_dmesg_mark

if $APT install --no-install-recommends "$deb" > "$PKG_WORK/apt.log" 2>&1; then
	PKG_INSTALLED=1
	ok "apt-get install ./alpnsteer_${VERSION}_ARCH.deb"
else
	tail -n 20 "$PKG_WORK/apt.log" | sed 's/^/#   /'
	not_ok "apt-get install ./alpnsteer_${VERSION}_ARCH.deb"
	PKG_INSTALLED=1 # whatever half of it got there goes in the cleanup
	st_summary
	exit
fi
expect_eq "dpkg says installed, version $VERSION" \
	"$(dpkg-query -W -f '${db:Status-Status} ${Version}' alpnsteer)" "installed $VERSION"

# Every file where Debian expects it, in the package's list and on disk.
dpkg -L alpnsteer > "$PKG_WORK/files"
want="$INST $HOOKS/dehydrated-hook.sh $HOOKS/uacme-hook.sh $HOOKS/prepost-hook.sh
	/usr/lib/sysusers.d/alpnsteer.conf /etc/default/alpnsteer
	/usr/share/doc/alpnsteer/README.md /usr/share/doc/alpnsteer/copyright"
for u in $UNITS; do want="$want /lib/systemd/system/$u"; done
want="$want /usr/share/man/man8/alpnsteer.8.gz /usr/share/bash-completion/completions/alpnsteer"
missing=
for f in $want; do
	grep -qx "$f" "$PKG_WORK/files" && [ -e "$f" ] || missing="$missing $f"
done
expect_eq "dpkg -L: binary, hooks, units, sysusers, default, docs (man page, completion)" \
	"${missing:- none missing}" " none missing"
check "nothing under /usr/local" test -z "$(grep '^/usr/local' "$PKG_WORK/files")"
check "the hooks are executable" test -x $HOOKS/uacme-hook.sh -a -x $HOOKS/dehydrated-hook.sh
check "/usr/sbin/alpnsteer --help" bash -c "$INST --help | grep -q '^Usage: alpnsteer'"
check "alpnsteer version says $VERSION" bash -c "$INST version | grep -qw '$VERSION'"
check "the man page is alpnsteer(8), gzipped" \
	bash -c "zcat /usr/share/man/man8/alpnsteer.8.gz | grep -q '^\\.TH ALPNSTEER 8'"
check "the bash completion completes alpnsteer's verbs" \
	bash -c ". /usr/share/bash-completion/completions/alpnsteer && complete -p alpnsteer"

# The user: the machine may have it already (scripts/install-deps.sh), so
# the installed sysusers.d file must also create it in an empty root.
check "user alpnsteer exists, shell nologin" \
	bash -c "getent passwd alpnsteer | grep -q ':/usr/sbin/nologin$'"
mkdir -p "$PKG_WORK/root/etc" "$PKG_WORK/root/usr/lib/sysusers.d"
cp /usr/lib/sysusers.d/alpnsteer.conf "$PKG_WORK/root/usr/lib/sysusers.d/"
systemd-sysusers --root="$PKG_WORK/root" alpnsteer.conf > /dev/null 2>&1
check "the sysusers.d file creates the system user on a fresh root" \
	grep -q '^alpnsteer:x:[0-9]*:[0-9]*:.*:/nonexistent:/usr/sbin/nologin$' "$PKG_WORK/root/etc/passwd"

# Units: installed for /usr/sbin, valid, not enabled, nothing started.
check "the units run /usr/sbin/alpnsteer, nothing of /usr/local" \
	bash -c "grep -h '^ExecSt' /lib/systemd/system/alpnsteer*.service | grep -q /usr/sbin/alpnsteer &&
		! grep -q /usr/local /lib/systemd/system/alpnsteer*.service"
verify_out=$(cd /lib/systemd/system && systemd-analyze verify alpnsteer.service alpnsteer-attach.service 2>&1)
expect_eq "systemd-analyze verify of the installed units" "${verify_out:-clean}" clean
# alpnsteer.service has an [Install] section (disabled), the oneshots none
# (static): either way, nothing starts them but a hand or a Requires=.
for u in alpnsteer.service alpnsteer-attach.service; do
	st=$(systemctl is-enabled $u 2>/dev/null)
	case $st in disabled | static) ok "$u is not enabled ($st)" ;;
	*) not_ok "$u is not enabled (got '$st')" ;; esac
done
check "no enablement recorded for the units" \
	bash -c "! deb-systemd-helper --quiet was-enabled alpnsteer.service"
ALPNSTEER=$INST
expect_eq "installing attached nothing" "$(status_field 'd["state"]')" detached

# The installed binary and hook at work, next to the webserver.
check "attach (installed binary, built-in responder)" as attach
KA=tok-pkg.thumbprint-pkg
AUTH=$(printf %s "$KA" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
# The hook as uacme runs it: alpnsteer from PATH, as installed.
check "uacme-hook.sh from $HOOKS adds the challenge" \
	in_srv env -u ALPNSTEER PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	$HOOKS/uacme-hook.sh begin tls-alpn-01 pkg.test tok-pkg "$AUTH"
check "alpnsteer check passes against the steered port" \
	in_cli $INST check pkg.test --address $SRV4 --keyauth "$KA"
check "[$SRV6] alpnsteer check passes" in_cli $INST check pkg.test --address $SRV6 --keyauth "$KA"
for h in $SRV4 "[$SRV6]"; do
	expect_eq "[${h//[][]/}] HTTPS clients still get $ST_WEB" \
		"$(web_curl -sk --max-time 5 https://$h/)" hello-from-nginx
done
check "uacme-hook.sh done removes it" \
	in_srv env -u ALPNSTEER PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	$HOOKS/uacme-hook.sh done tls-alpn-01 pkg.test tok-pkg "$AUTH"
check "detach --wait" as detach --wait=20
expect_eq "detached" "$(status_field 'd["state"]')" detached

# Removal with steering live: the prerm drains it before the binary goes.
check "attach again (left live for the purge)" as attach --forward 127.0.0.1:8443
expect_eq "acme-tls/1 is steered before the purge" \
	"$(field "$(tls $SRV4 --alpn acme-tls/1 --sni a.test)" cn)" acme-responder
if $APT purge alpnsteer > "$PKG_WORK/purge.log" 2>&1; then
	PKG_INSTALLED=0
	ok "apt-get purge alpnsteer"
else
	tail -n 20 "$PKG_WORK/purge.log" | sed 's/^/#   /'
	not_ok "apt-get purge alpnsteer"
fi
ALPNSTEER=$BUILT
check "the prerm detached: no pins left" test ! -e /sys/fs/bpf/alpnsteer
expect_eq "status (built binary): detached" "$(status_field 'd["state"]')" detached
check "acme-tls/1 reaches $ST_WEB again" nginx_refuses_acme $SRV4 a.test
expect_eq "dpkg: not installed" \
	"$(dpkg-query -W -f '${db:Status-Status}' alpnsteer 2>/dev/null || echo not-installed)" not-installed
left=
for f in $want /usr/lib/alpnsteer; do [ -e "$f" ] && left="$left $f"; done
expect_eq "purge left none of the package's files" "${left:- none}" " none"
check "purge left nothing in /run/alpnsteer" test -z "$(ls -A /run/alpnsteer 2>/dev/null)"
check "the user stays (Debian keeps system users)" getent passwd alpnsteer
check "no kernel WARN" st_dmesg_clean
st_summary
