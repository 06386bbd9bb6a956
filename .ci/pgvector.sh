# Sourced by .ci/run (bash): installs the pgvector extension for the base
# image's PostgreSQL 15 when it is missing, starts a throwaway server on
# 127.0.0.1 and exports its DSN in RAGVSFT_PG_DSN for the tests of
# ./pgvector. The server and its folder are removed when the sourcing shell
# exits. A developer can source it too: `source .ci/pgvector.sh`.
#
# Debian 12 has no pgvector package; Debian 13's source package builds
# against postgresql-server-dev-15. Only its source list is added, in a file
# of its own handed to apt for these two commands, so the machine's apt
# configuration is left as it was.

pg_bin=/usr/lib/postgresql/15/bin
pg_started=$SECONDS

pgvector_install() {
  local src
  if [ -f /usr/share/postgresql/15/extension/vector.control ]; then
    echo "== pgvector: already installed"
    return
  fi
  echo "== pgvector: building Debian 13's source package for PostgreSQL 15"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql-15 postgresql-server-dev-15 make gcc dpkg-dev >/dev/null
  src=$(mktemp -d)
  echo "deb-src http://deb.debian.org/debian trixie main" >"$src/trixie-src.list"
  local apt_opts=(-o "Dir::Etc::sourcelist=$src/trixie-src.list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0)
  apt-get update -qq "${apt_opts[@]}"
  (cd "$src" && apt-get source -qq "${apt_opts[@]}" pgvector >/dev/null 2>&1)
  (cd "$src"/pgvector-*/ &&
    make -s PG_CONFIG="$pg_bin/pg_config" with_llvm=no -j"$(nproc)" >"$src/build.log" 2>&1 &&
    make -s PG_CONFIG="$pg_bin/pg_config" with_llvm=no install >>"$src/build.log" 2>&1) ||
    { tail -20 "$src/build.log"; return 1; }
  rm -rf "$src"
}

# pg_as runs a command as the server's owner: postgres refuses to run as root.
pg_as() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pgvector_start() {
  local password port
  pg_dir=$(mktemp -d /tmp/ragvsft-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$pg_dir"
  # A password the tests can check is never printed; trust only on the socket.
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  echo "$password" >"$pg_dir/pw" && chmod 600 "$pg_dir/pw"
  [ "$(id -u)" = 0 ] && chown postgres: "$pg_dir/pw"
  pg_as "$pg_bin/initdb" -D "$pg_dir/data" -U ragvsft --pwfile="$pg_dir/pw" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 ||
    { cat "$pg_dir/initdb.log"; return 1; }
  rm -f "$pg_dir/pw"
  for port in $(seq 55432 55532); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue # taken
    if pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $pg_dir -c fsync=off" >/dev/null; then
      break
    fi
    port=""
  done
  if [ -z "$port" ]; then
    tail -20 "$pg_dir/server.log"
    return 1
  fi
  pg_as "$pg_bin/psql" -h "$pg_dir" -p "$port" -U ragvsft -d postgres -qAt \
    -c "CREATE DATABASE ragvsft" >/dev/null
  pg_as "$pg_bin/psql" -h "$pg_dir" -p "$port" -U ragvsft -d ragvsft -qAt \
    -c "CREATE EXTENSION vector" >/dev/null
  export RAGVSFT_PG_DSN="postgres://ragvsft:$password@127.0.0.1:$port/ragvsft?sslmode=disable"
  echo "== pgvector: PostgreSQL 15 with vector $(pg_as "$pg_bin/psql" -h "$pg_dir" -p "$port" -U ragvsft -d ragvsft -qAt \
    -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'") on 127.0.0.1:$port (RAGVSFT_PG_DSN)"
}

pgvector_stop() {
  if [ -n "${pg_dir:-}" ] && [ -d "$pg_dir/data" ]; then
    pg_as "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
}

trap pgvector_stop EXIT
pgvector_install
pgvector_start
echo "== pgvector: ready in $((SECONDS - pg_started)) s"
