# SPDX-License-Identifier: GPL-2.0-only
# bash completion for alpnsteer(8).
# Generated from the command table (user/cli/cmds.c) by `make docs`: do not
# edit; make test checks that it matches.

_alpnsteer()
{
	local cur prev words cword
	_init_completion -s || return

	case $prev in
	--cgroup | --alpn-dir)
		_filedir -d
		return
		;;
	--user)
		COMPREPLY=($(compgen -u -- "$cur"))
		return
		;;
	--control-group)
		COMPREPLY=($(compgen -g -- "$cur"))
		return
		;;
	--preclassify)
		COMPREPLY=($(compgen -W "$(command ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return
		;;
	--port | --forward | --domain | --pool | --pool-max | --per-source | --handshake-timeout | --proxy-protocol | --proxy-from | --metrics-file | --holder | --ttl | --drain-wait | --digest | --store | --store-ca | --store-cert | --store-key | --store-user | --store-password-file | --address | --keyauth | --proxy-source | --grace | --names | --quota)
		return
		;;
	esac

	local i w cmd= takes=" --port --forward --domain --pool --pool-max --per-source --cgroup --handshake-timeout --alpn-dir --control-group --user --proxy-protocol --proxy-from --preclassify --metrics-file --holder --ttl --drain-wait --digest --store --store-ca --store-cert --store-key --store-user --store-password-file --address --keyauth --proxy-source --grace --names --quota "
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -* ]]; then
			[[ $takes == *" $w "* ]] && ((i++))
			continue
		fi
		case "$cmd" in
		"" | challenge | agent) cmd=${cmd:+$cmd }$w ;;
		*) break ;;
		esac
	done

	case "$cmd" in
	"")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-j --json -v --verbose -d --debug -V --version -h --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "attach run detach status challenge check agent features version help" -- "$cur"))
		fi
		;;
	"attach")
		COMPREPLY=($(compgen -W "--port --forward --domain --pool --pool-max --per-source --cgroup --handshake-timeout --alpn-dir --control-group --user --proxy-protocol --proxy-from --preclassify --metrics-file --holder --ttl --drain-wait -h --help" -- "$cur"))
		;;
	"run")
		COMPREPLY=($(compgen -W "--port --forward --domain --pool --pool-max --per-source --cgroup --handshake-timeout --alpn-dir --control-group --user --proxy-protocol --proxy-from --preclassify --metrics-file --holder --ttl --drain-wait -h --help" -- "$cur"))
		;;
	"detach")
		COMPREPLY=($(compgen -W "--holder --all --wait -h --help" -- "$cur"))
		;;
	"status")
		COMPREPLY=($(compgen -W "-j --json --metrics -h --help" -- "$cur"))
		;;
	"challenge")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-h --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "add remove list trace" -- "$cur"))
		fi
		;;
	"challenge add")
		COMPREPLY=($(compgen -W "--digest --ttl --store --store-ca --store-cert --store-key --store-user --store-password-file -h --help" -- "$cur"))
		;;
	"challenge remove")
		COMPREPLY=($(compgen -W "--store --store-ca --store-cert --store-key --store-user --store-password-file -h --help" -- "$cur"))
		;;
	"challenge list")
		COMPREPLY=($(compgen -W "-j --json -h --help" -- "$cur"))
		;;
	"challenge trace")
		COMPREPLY=($(compgen -W "-j --json -h --help" -- "$cur"))
		;;
	"check")
		COMPREPLY=($(compgen -W "--address --keyauth --port --proxy-protocol --proxy-source -h --help" -- "$cur"))
		;;
	"agent")
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--grace --ttl --store --store-ca --store-cert --store-key --store-user --store-password-file --names --quota --port --forward --domain --pool --pool-max --per-source --cgroup --handshake-timeout --alpn-dir --control-group --user --proxy-protocol --proxy-from --preclassify --metrics-file --drain-wait -h --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "status stop" -- "$cur"))
		fi
		;;
	"agent status")
		COMPREPLY=($(compgen -W "-h --help" -- "$cur"))
		;;
	"agent stop")
		COMPREPLY=($(compgen -W "-h --help" -- "$cur"))
		;;
	"features")
		COMPREPLY=($(compgen -W "-j --json -h --help" -- "$cur"))
		;;
	"version")
		COMPREPLY=($(compgen -W "-j --json -h --help" -- "$cur"))
		;;
	help)
		COMPREPLY=($(compgen -W "attach run detach status challenge check agent features version help" -- "$cur"))
		;;
	esac
} &&
	complete -F _alpnsteer alpnsteer
