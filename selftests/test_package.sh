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
# package's files and no leftovers in /run/alpnsteer.  The second package
# built from the same source, python3-certbot-alpnsteer (certbot's
# authenticator), is checked the same way where python3-certbot is
# installed: lintian, its files, `certbot plugins` finding it, and the
# purge taking it (it depends on alpnsteer) with nothing left.
#
# Skipped (never purged) when an alpnsteer package, or a /usr/sbin/alpnsteer
# of a `make install PREFIX=/usr`, is already on the machine.  One function
# per test (lib.sh, st_test); the build and the installed package are the
# set-up they share, the purge test comes last.
. "$(dirname "$0")/lib.sh"
REPO=$(cd "$HERE/.." && pwd)
BUILT=$ALPNSTEER
INST=/usr/sbin/alpnsteer
HOOKS=/usr/lib/alpnsteer/hooks
UNITS="alpnsteer.service alpnsteer-attach.service alpnsteer-forward@.service alpnsteer-agent.service"
VERSION=$(cat "$REPO/VERSION")
APT="apt-get -q -y -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive

if dpkg-query -W -f '${db:Status-Status}' alpnsteer 2>/dev/null | grep -qv not-installed; then
	st_skip "an alpnsteer package is installed here; this test would purge it"
fi
[ -e $INST ] && st_skip "$INST exists (not from a package): this test would replace it"
# not installed: skipped, counted (scripts/install-deps.sh installs them)
st_require_cmd dpkg-buildpackage dh lintian apt-get dpkg-query

PKG_WORK=$(mktemp -d /tmp/alpnsteer-pkgtest.XXXXXX)
# The build's unit tests run the binary as nobody (tests/test_cmds.c).
chmod 755 "$PKG_WORK"
PKG_INSTALLED=0
pkg_cleanup() {
	# A test may have purged it already: apt-get says so and exits 0.
	if [ "$PKG_INSTALLED" = 1 ]; then
		$INST detach --all --wait=20 >/dev/null 2>&1 || true
		$APT purge alpnsteer python3-certbot-alpnsteer >/dev/null 2>&1 || true
	fi
	rm -rf "$PKG_WORK"
}
trap 'pkg_cleanup' EXIT

# make deb, in an OUTPUT of its own: never ./build, which other runs use.
out=$PKG_WORK/out
deb=$out/alpnsteer_${VERSION}_$(dpkg --print-architecture).deb
pydeb=$out/python3-certbot-alpnsteer_${VERSION}_all.deb
PYDIR=/usr/lib/python3/dist-packages
pywant="$PYDIR/certbot_alpnsteer/__init__.py $PYDIR/certbot_alpnsteer-$VERSION.egg-info/entry_points.txt
	/usr/share/doc/python3-certbot-alpnsteer/copyright"
# certbot's plugin package goes in only where certbot is (apt would
# otherwise fetch it).
WITH_CERTBOT=0
dpkg-query -W -f '${db:Status-Status}' python3-certbot 2>/dev/null | grep -qx installed && WITH_CERTBOT=1
src=$out/deb/src
# Every file the package installs, where Debian expects it.
want="$INST /usr/libexec/alpnsteer/alpnsteer-worker $HOOKS/dehydrated-hook.sh $HOOKS/uacme-hook.sh $HOOKS/prepost-hook.sh
	/usr/lib/sysusers.d/alpnsteer.conf /etc/default/alpnsteer
	/usr/share/doc/alpnsteer/README.md /usr/share/doc/alpnsteer/copyright"
for u in $UNITS; do want="$want /lib/systemd/system/$u"; done
want="$want /usr/share/man/man8/alpnsteer.8.gz /usr/share/bash-completion/completions/alpnsteer"

# The build the other tests use (the package and its source tree), left
# in PKG_WORK.
test_make_deb() {
	if make -C "$REPO" --no-print-directory deb OUTPUT="$out" > "$PKG_WORK/build.log" 2>&1; then
		ok "make deb OUTPUT=DIR"
	else
		grep -E -B3 'not ok|rror' "$PKG_WORK/build.log" | tail -n 40 | sed 's/^/#   /'
		not_ok "make deb OUTPUT=DIR"
	fi
	check "the package is at OUTPUT/alpnsteer_${VERSION}_ARCH.deb" test -f "$deb"
	check "... and certbot's plugin at OUTPUT/python3-certbot-alpnsteer_${VERSION}_all.deb" test -f "$pydeb"
	check "... which holds the module and the certbot.plugins entry point" bash -c \
		"dpkg-deb -c '$pydeb' | grep -q '\./usr/lib/python3/dist-packages/certbot_alpnsteer/__init__.py\$' &&
		 dpkg-deb --fsys-tarfile '$pydeb' | tar -xOf - ./usr/lib/python3/dist-packages/certbot_alpnsteer-$VERSION.egg-info/entry_points.txt |
		 grep -qx 'alpnsteer = certbot_alpnsteer:Authenticator'"
	check "./build untouched by make deb" test ! -e "$out/deb/src/build"
}

# make install into a staging DESTDIR, from the package's own build (no
# .git there, so nothing is rebuilt): the /usr/local layout, the units
# rewritten for it, and make uninstall taking it all away again.
test_make_install_staging() {
	local stage=$PKG_WORK/stage L missing f
	L=$stage/usr/local
	[ -d "$src/debian/build" ] || st_skip "no package build to install from (test make_deb)"
	st_defer rm -rf "$stage"
	if make -C "$src" --no-print-directory install OUTPUT="$src/debian/build" \
		DESTDIR="$stage" > "$PKG_WORK/install.log" 2>&1; then
		ok "make install DESTDIR=DIR (PREFIX=/usr/local)"
	else
		tail -n 20 "$PKG_WORK/install.log" | sed 's/^/#   /'
		not_ok "make install DESTDIR=DIR (PREFIX=/usr/local)"
	fi
	missing=
	for f in sbin/alpnsteer libexec/alpnsteer/alpnsteer-worker lib/alpnsteer/hooks/uacme-hook.sh lib/alpnsteer/hooks/dehydrated-hook.sh \
		lib/alpnsteer/hooks/prepost-hook.sh lib/systemd/system/alpnsteer.service \
		lib/systemd/system/alpnsteer-attach.service lib/systemd/system/alpnsteer-forward@.service \
		lib/systemd/system/alpnsteer-agent.service lib/sysusers.d/alpnsteer.conf share/man/man8/alpnsteer.8 \
		share/bash-completion/completions/alpnsteer share/doc/alpnsteer/README.md \
		share/doc/alpnsteer/docs/design.md \
		lib/python3*/dist-packages/certbot_alpnsteer/__init__.py \
		lib/python3*/dist-packages/certbot_alpnsteer-$VERSION.egg-info/entry_points.txt; do
		# shellcheck disable=SC2086 # the glob, on purpose
		f=$(cd "$L" && echo $f)
		[ -e "$L/$f" ] || missing="$missing $f"
	done
	expect_eq "make install: binary, hooks, units, sysusers, man page, completion, docs, certbot plugin" \
		"${missing:- none missing}" " none missing"
	check "make install: units run /usr/local/sbin/alpnsteer" \
		grep -q '^ExecStart=/usr/local/sbin/alpnsteer ' "$L/lib/systemd/system/alpnsteer.service"
	make -C "$src" --no-print-directory uninstall OUTPUT="$src/debian/build" \
		DESTDIR="$stage" > /dev/null 2>&1
	expect_eq "make uninstall leaves no file" "$(find "$stage" -type f | wc -l)" 0
}

test_lintian() {
	local lrc
	[ -f "$deb" ] || st_skip "no package to check (test make_deb)"
	# lintian exits non-zero on an error tag (and on a file it cannot read).
	lintian "$deb" "$pydeb" > "$PKG_WORK/lintian.log" 2>&1
	lrc=$?
	grep -v 'running with root privileges' "$PKG_WORK/lintian.log" | sed 's/^/#   lintian: /'
	check "lintian reports no error (E:), for both packages" test $lrc = 0 -a -z "$(grep '^E:' "$PKG_WORK/lintian.log")"
}

# Every file where Debian expects it, in the package's list and on disk.
test_installed_files() {
	local f missing
	expect_eq "dpkg says installed, version $VERSION" \
		"$(dpkg-query -W -f '${db:Status-Status} ${Version}' alpnsteer)" "installed $VERSION"
	dpkg -L alpnsteer > "$PKG_WORK/files"
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
}

# certbot's plugin, as installed: certbot finds it, dh_python3 compiled it.
test_certbot_plugin_installed() {
	local f missing c=$PKG_WORK/certbot
	[ "$WITH_CERTBOT" = 1 ] || st_skip "python3-certbot is not installed"
	expect_eq "dpkg says python3-certbot-alpnsteer installed, version $VERSION" \
		"$(dpkg-query -W -f '${db:Status-Status} ${Version}' python3-certbot-alpnsteer)" "installed $VERSION"
	missing=
	for f in $pywant; do [ -e "$f" ] || missing="$missing $f"; done
	expect_eq "the module, its egg-info and copyright" "${missing:- none missing}" " none missing"
	check "certbot plugins lists alpnsteer (entry point certbot_alpnsteer:Authenticator)" bash -c \
		"certbot plugins --config-dir '$c' --work-dir '$c' --logs-dir '$c' 2>/dev/null |
		 grep -qx 'Entry point: alpnsteer = certbot_alpnsteer:Authenticator'"
	check "the module was byte-compiled at install (py3compile)" \
		bash -c "ls $PYDIR/certbot_alpnsteer/__pycache__/__init__.*.pyc >/dev/null"
}

# The user: the machine may have it already (scripts/install-deps.sh), so
# the installed sysusers.d file must also create it in an empty root.
test_system_user() {
	st_require_cmd systemd-sysusers
	check "user alpnsteer exists, shell nologin" \
		bash -c "getent passwd alpnsteer | grep -q ':/usr/sbin/nologin$'"
	st_defer rm -rf "$PKG_WORK/root"
	mkdir -p "$PKG_WORK/root/etc" "$PKG_WORK/root/usr/lib/sysusers.d"
	cp /usr/lib/sysusers.d/alpnsteer.conf "$PKG_WORK/root/usr/lib/sysusers.d/"
	systemd-sysusers --root="$PKG_WORK/root" alpnsteer.conf > /dev/null 2>&1
	check "the sysusers.d file creates the system user on a fresh root" \
		grep -q '^alpnsteer:x:[0-9]*:[0-9]*:.*:/nonexistent:/usr/sbin/nologin$' "$PKG_WORK/root/etc/passwd"
}

# Units: installed for /usr/sbin, valid, not enabled, nothing started.
test_units_not_enabled() {
	local verify_out u st
	st_require_cmd systemd-analyze systemctl deb-systemd-helper
	check "the units run /usr/sbin/alpnsteer, nothing of /usr/local" \
		bash -c "grep -h '^ExecSt' /lib/systemd/system/alpnsteer*.service | grep -q /usr/sbin/alpnsteer &&
			! grep -q /usr/local /lib/systemd/system/alpnsteer*.service"
	verify_out=$(cd /lib/systemd/system && systemd-analyze verify alpnsteer.service alpnsteer-attach.service alpnsteer-agent.service 2>&1)
	expect_eq "systemd-analyze verify of the installed units" "${verify_out:-clean}" clean
	# alpnsteer.service has an [Install] section (disabled), the oneshots none
	# (static): either way, nothing starts them but a hand or a Requires=.
	for u in alpnsteer.service alpnsteer-attach.service alpnsteer-agent.service; do
		st=$(systemctl is-enabled $u 2>/dev/null)
		case $st in disabled | static) ok "$u is not enabled ($st)" ;;
		*) not_ok "$u is not enabled (got '$st')" ;; esac
	done
	check "no enablement recorded for the units" \
		bash -c "! deb-systemd-helper --quiet was-enabled alpnsteer.service &&
			! deb-systemd-helper --quiet was-enabled alpnsteer-agent.service"
}

# The installed binary and hook at work, next to the webserver.
test_installed_binary_steers() {
	local KA=tok-pkg.thumbprint-pkg AUTH h
	ALPNSTEER=$INST
	expect_eq "installing attached nothing" "$(status_field 'd["state"]')" detached
	check "attach (installed binary, built-in responder)" as attach
	st_defer in_srv "$BUILT" detach --all --wait=20
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
}

# Removal with steering live: the prerm drains it before the binary goes.
# Last: it takes the package away.
test_purge_drains() {
	local f left
	ALPNSTEER=$INST
	check "attach again (left live for the purge)" as attach --forward 127.0.0.1:8443
	st_defer in_srv "$BUILT" detach --all --wait=20
	expect_eq "acme-tls/1 is steered before the purge" \
		"$(field "$(tls $SRV4 --alpn acme-tls/1 --sni a.test)" cn)" acme-responder
	if $APT purge alpnsteer > "$PKG_WORK/purge.log" 2>&1; then
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
	[ "$WITH_CERTBOT" = 1 ] && expect_eq "... nor python3-certbot-alpnsteer, which depends on it" \
		"$(dpkg-query -W -f '${db:Status-Status}' python3-certbot-alpnsteer 2>/dev/null || echo not-installed)" not-installed
	for f in $want $pywant $PYDIR/certbot_alpnsteer /usr/lib/alpnsteer; do [ -e "$f" ] && left="$left $f"; done
	expect_eq "purge left none of the package's files" "${left:- none}" " none"
	check "purge left nothing in /run/alpnsteer" test -z "$(ls -A /run/alpnsteer 2>/dev/null)"
	check "the user stays (Debian keeps system users)" getent passwd alpnsteer
}

st_test make_deb test_make_deb
st_test make_install_staging test_make_install_staging
st_test lintian test_lintian

st_setup
trap 'pkg_cleanup; st_cleanup' EXIT
st_dmesg_mark

# Installed once for the tests below (the purge test takes it away).
debs=("$deb")
[ "$WITH_CERTBOT" = 1 ] && debs+=("$pydeb")
if $APT install --no-install-recommends "${debs[@]}" > "$PKG_WORK/apt.log" 2>&1; then
	PKG_INSTALLED=1
	ok "apt-get install ./alpnsteer_${VERSION}_ARCH.deb"
else
	tail -n 20 "$PKG_WORK/apt.log" | sed 's/^/#   /'
	not_ok "apt-get install ./alpnsteer_${VERSION}_ARCH.deb"
	PKG_INSTALLED=1 # whatever half of it got there goes in the cleanup
	st_summary
	exit
fi
st_test installed_files test_installed_files
st_test certbot_plugin_installed test_certbot_plugin_installed
st_test system_user test_system_user
st_test units_not_enabled test_units_not_enabled
st_test installed_binary_steers test_installed_binary_steers
st_test purge_drains test_purge_drains
check "no kernel WARN" st_dmesg_clean
st_summary
