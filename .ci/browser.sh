# The Desk browser test: Debian's Chromium driven by playwright-core (node --test), against the
# tier-2 site served by `bench serve` on a loopback port. Sourced by .ci/run.

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

run_browser_tests() {
	local bench_dir=$1 site=$2 app_dir=$3 log_prefix=${4:-$3/.venv/browser} port=${BROWSER_TEST_PORT:-$(free_port)}
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	(cd "$app_dir/browser_tests" && npm ci --no-audit --no-fund --silent)
	(cd "$bench_dir" && bench --site "$site" execute frappe.desk.page.setup_wizard.setup_wizard.setup_complete \
		--kwargs '{"args": {"language": "English", "country": "France", "timezone": "Europe/Paris", "currency": "EUR", "enable_telemetry": 0}}' >/dev/null)
	# setsid makes the server the leader of its own process group: stopping that group stops
	# exactly what this function started (bench and the Python server it runs).
	(cd "$bench_dir" && exec setsid bench --site "$site" serve --port "$port" --noreload >"$log_prefix-serve.log" 2>&1) &
	local server_pid=$!
	local status=0
	if wait_for curl -sf "http://127.0.0.1:$port/api/method/ping"; then
		(cd "$app_dir/browser_tests" && BASE_URL="http://127.0.0.1:$port" ADMIN_PASSWORD=admin BENCH_DIR="$bench_dir" SITE="$site" node --test) || status=$?
	else
		echo "the site did not answer on port $port:" >&2
		tail -20 "$log_prefix-serve.log" >&2
		status=1
	fi
	kill -- "-$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	return "$status"
}
