#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis that the tests use are up.
# Starts a local server that is installed but stopped; stops at once, naming what is
# missing and the variable to point elsewhere, when one is absent.
set -euo pipefail

pg_host=${PGHOST_FOR_TESTS:-127.0.0.1}
pg_port=${PGPORT_FOR_TESTS:-5432}
redis_host=${REDIS_HOST_FOR_TESTS:-127.0.0.1}
redis_port=${REDIS_PORT_FOR_TESTS:-6379}

wait_for() {  # wait_for "description" command...
  local what=$1; shift
  for _ in $(seq 1 30); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "ERROR: $what did not come up within 30 s." >&2
  return 1
}

pg_up() {
  if command -v pg_isready >/dev/null; then pg_isready -q -h "$pg_host" -p "$pg_port"
  else (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; fi
}
redis_up() {
  if command -v redis-cli >/dev/null; then [ "$(redis-cli -h "$redis_host" -p "$redis_port" ping 2>/dev/null)" = PONG ]
  else (exec 3<>"/dev/tcp/$redis_host/$redis_port") 2>/dev/null; fi
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "Starting PostgreSQL $version ..."
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for "PostgreSQL on $pg_host:$pg_port" pg_up
  else
    echo "ERROR: PostgreSQL is not installed or not reachable on $pg_host:$pg_port." >&2
    echo "       Install it (apt-get install postgresql) or set TEST_DATABASE_URL to another server." >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis ..."
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
    wait_for "Redis on $redis_host:$redis_port" redis_up
  else
    echo "ERROR: Redis is not installed or not reachable on $redis_host:$redis_port." >&2
    echo "       Install it (apt-get install redis-server) or set TEST_BROKER_URL to another server." >&2
    exit 1
  fi
fi
echo "PostgreSQL and Redis are up."
