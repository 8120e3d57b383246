# Starts what tier 2 needs (MariaDB and the bench's Redis servers) when they are not running.
# Sourced by .ci/run.

wait_for() {
	local tries=60
	until "$@" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || { echo "timed out waiting for: $*" >&2; return 1; }
		sleep 1
	done
}

start_services() {
	local bench_dir=$1 db_root_password=$2
	if ! mysqladmin ping -h127.0.0.1 -uroot -p"$db_root_password" --silent >/dev/null 2>&1; then
		echo "starting MariaDB"
		service mariadb start >/dev/null 2>&1 || (mysqld_safe >/dev/null 2>&1 &)
		wait_for mysqladmin ping -h127.0.0.1 -uroot -p"$db_root_password" --silent
	fi
	local conf port
	for conf in redis_cache redis_queue; do
		[ -f "$bench_dir/config/$conf.conf" ] || continue
		port=$(awk '$1 == "port" {print $2}' "$bench_dir/config/$conf.conf")
		if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
			echo "starting Redis ($conf, port $port)"
			(cd "$bench_dir/config" && redis-server "$conf.conf" --daemonize yes >/dev/null)
			wait_for redis-cli -p "$port" ping
		fi
	done
}
