# An IMAP server for the end-to-end reply test: Debian's dovecot on 127.0.0.1, with its own
# configuration, mailbox and runtime folder under .venv/imap (the system's dovecot, if any, is
# left alone). Sourced by .ci/run: start_imap exports EMAIL_CAMPAIGN_IMAP_* for the tests and
# stop_imap stops only the dovecot it started, by the PID in its own master.pid.

imap_dir=""
imap_pid=""

install_dovecot() {
	command -v dovecot >/dev/null && return 0
	echo "installing dovecot-imapd"
	# The package's scripts would start the system's dovecot: a policy-rc.d that denies it,
	# only while installing, and only when the machine has none of its own.
	local policy=/usr/sbin/policy-rc.d made_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
	fi
	local status=0
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; } || status=$?
	[ "$made_policy" -eq 0 ] || rm -f "$policy"
	return "$status"
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_imap() {
	local app_dir=$1
	install_dovecot || { echo "dovecot could not be installed: the IMAP reply test will be skipped" >&2; return 0; }
	imap_dir="$app_dir/.venv/imap"
	rm -rf "$imap_dir"
	mkdir -p "$imap_dir/run" "$imap_dir/state" "$imap_dir/mail"
	chown nobody:nogroup "$imap_dir/mail"
	local port user=campaign-replies@example.com password
	port=$(free_port)
	password=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
	echo "$user:{PLAIN}$password" >"$imap_dir/users"
	chgrp dovecot "$imap_dir/users" && chmod 640 "$imap_dir/users"  # read by dovecot's auth process
	cat >"$imap_dir/dovecot.conf" <<-EOF
		base_dir = $imap_dir/run
		state_dir = $imap_dir/state
		log_path = $imap_dir/dovecot.log
		info_log_path = $imap_dir/dovecot.log
		protocols = imap
		listen = 127.0.0.1
		ssl = no
		disable_plaintext_auth = no
		auth_mechanisms = plain login
		default_internal_user = dovecot
		default_login_user = dovenull
		first_valid_uid = 65534
		last_valid_uid = 65534
		mail_location = maildir:$imap_dir/mail/%u
		passdb {
		  driver = passwd-file
		  args = scheme=PLAIN username_format=%u $imap_dir/users
		}
		userdb {
		  driver = static
		  args = uid=nobody gid=nogroup home=$imap_dir/mail/%u
		}
		service imap-login {
		  chroot =
		  inet_listener imap {
		    address = 127.0.0.1
		    port = $port
		  }
		  inet_listener imaps {
		    port = 0
		  }
		}
		service anvil {
		  chroot =
		}
	EOF
	if ! dovecot -c "$imap_dir/dovecot.conf"; then
		echo "dovecot did not start: the IMAP reply test will be skipped" >&2
		return 0
	fi
	if ! wait_for test -s "$imap_dir/run/master.pid"; then
		echo "dovecot wrote no PID: the IMAP reply test will be skipped" >&2
		return 0
	fi
	imap_pid=$(cat "$imap_dir/run/master.pid")
	if ! wait_for python3 -c "import imaplib; imaplib.IMAP4('127.0.0.1', $port).logout()"; then
		echo "dovecot does not answer on port $port: the IMAP reply test will be skipped" >&2
		tail -5 "$imap_dir/dovecot.log" >&2
		return 0
	fi
	echo "dovecot (PID $imap_pid) answers IMAP on 127.0.0.1:$port"
	export EMAIL_CAMPAIGN_IMAP_HOST=127.0.0.1 EMAIL_CAMPAIGN_IMAP_PORT=$port
	export EMAIL_CAMPAIGN_IMAP_USER=$user EMAIL_CAMPAIGN_IMAP_PASSWORD=$password
}

stop_imap() {
	[ -n "$imap_pid" ] || return 0
	kill "$imap_pid" 2>/dev/null || true
	local tries=30
	while kill -0 "$imap_pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		sleep 0.5
		tries=$((tries - 1))
	done
	echo "dovecot (PID $imap_pid) stopped"
	imap_pid=""
}
