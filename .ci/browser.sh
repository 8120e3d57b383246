# The browser tests: Debian's Chromium driven by playwright-core (node --test), against a tier-2
# site served by `bench serve` on a loopback port (the Desk's; Frappe CRM's /crm on a site with
# Frappe CRM). Sourced by .ci/run.

# Why this bench cannot serve the Desk, or nothing when it can: the Desk needs Frappe's built
# JavaScript bundles, listed in sites/assets/assets.json by `bench build`.
desk_unavailable() {
	local bench_dir=$1
	if ! grep -q '"desk.bundle.js"' "$bench_dir/sites/assets/assets.json" 2>/dev/null; then
		if ! ls "$bench_dir"/apps/frappe/frappe/public/js/desk.bundle.* >/dev/null 2>&1; then
			echo "this Frappe tree has no Desk JavaScript to build (apps/frappe/frappe/public/js/desk.bundle.js is missing)"
		else
			echo "the bench's Desk JavaScript is not built (sites/assets/assets.json lists no desk.bundle.js: run bench build)"
		fi
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Why this bench cannot show Frappe CRM's interface, or nothing when it may: the crm app with
# its interface built (`bench build --app crm`). Whether /crm then answers is seen on the site.
crm_interface_unavailable() {
	local bench_dir=$1
	if [ ! -f "$bench_dir/apps/crm/crm/hooks.py" ]; then
		echo "no Frappe CRM on this bench (apps/crm)"
	elif ! ls "$bench_dir"/sites/assets/crm/frontend/assets/index-*.js >/dev/null 2>&1; then
		echo "Frappe CRM's interface is not built on this bench (bench build --app crm)"
	fi
}

# The HTTP status of /crm for a logged-in Administrator (200 when Frappe CRM's interface works)
crm_page_status() {
	local port=$1 jar
	jar=$(mktemp)
	curl -s -c "$jar" -o /dev/null -X POST "http://127.0.0.1:$port/api/method/login" -d usr=Administrator -d pwd=admin
	curl -s -b "$jar" -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/crm"
	rm -f "$jar"
}

# BROWSER_TEST_FILES (default desk.test.js): the test files to run; CRM_BROWSER_TEST=1: the
# site's Frappe CRM interface is checked first (a /crm that does not answer 200 is SKIPPED),
# and the Desk's setup wizard is left alone (Frappe CRM would make its demo data).
run_browser_tests() {
	local bench_dir=$1 site=$2 app_dir=$3 log_prefix=${4:-$3/.venv/browser} port=${BROWSER_TEST_PORT:-$(free_port)}
	local files=${BROWSER_TEST_FILES:-desk.test.js}
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	(cd "$app_dir/browser_tests" && npm ci --no-audit --no-fund --silent)
	[ "${CRM_BROWSER_TEST:-0}" = 1 ] || (cd "$bench_dir" && bench --site "$site" execute frappe.desk.page.setup_wizard.setup_wizard.setup_complete \
		--kwargs '{"args": {"language": "English", "country": "France", "timezone": "Europe/Paris", "currency": "EUR", "enable_telemetry": 0}}' >/dev/null)
	# setsid makes the server the leader of its own process group: stopping that group stops
	# exactly what this function started (bench and the Python server it runs).
	(cd "$bench_dir" && exec setsid bench --site "$site" serve --port "$port" --noreload >"$log_prefix-serve.log" 2>&1) &
	local server_pid=$!
	local status=0
	local crm_status=""
	if ! wait_for curl -sf "http://127.0.0.1:$port/api/method/ping"; then
		echo "the site did not answer on port $port:" >&2
		tail -20 "$log_prefix-serve.log" >&2
		status=1
	elif [ "${CRM_BROWSER_TEST:-0}" = 1 ] && [ "$(crm_page_status "$port")" != 200 ]; then
		crm_status=$(crm_page_status "$port")
		echo "browser test SKIPPED: /crm answers $crm_status on this Frappe (see $log_prefix-serve.log)"
		status=3
	else
		# shellcheck disable=SC2086
		(cd "$app_dir/browser_tests" && BASE_URL="http://127.0.0.1:$port" ADMIN_PASSWORD=admin BENCH_DIR="$bench_dir" SITE="$site" node --test $files) || status=$?
	fi
	kill -- "-$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	return "$status"
}
