# Shared settings for chameleon's scripts. Source it; it defines paths, ports and helpers.
# Everything can be overridden from the environment.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The PostgreSQL major everything runs on: CHAMELEON_PG=15 (Debian's own, the default), 17 or
# 18 (scripts/pg-dist: unpacked under the build tree). Each major has its own port and cluster.
PGMAJOR=${CHAMELEON_PG:-15}
PG18_WHEEL=18.6.3
pg_dist_dir() { echo "${CHAMELEON_PG_DIST:-$ROOT/target/pg-dist}/$1"; }
pg_bin_of() { if [ "$1" = 15 ]; then echo /usr/lib/postgresql/15/bin; else echo "$(pg_dist_dir "$1")/bin"; fi; }
pg_port_of() { case "$1" in 15) echo 54329;; 17) echo 54317;; 18) echo 54318;; *) echo "CHAMELEON_PG is 15, 17 or 18" >&2; exit 2;; esac; }
PGBIN=${PGBIN:-$(pg_bin_of "$PGMAJOR")}
PG_CONFIG=${PG_CONFIG:-$PGBIN/pg_config}
PGPORT=${CHAMELEON_PGPORT:-$(pg_port_of "$PGMAJOR")}
MYPORT=${CHAMELEON_MYPORT:-33069}
# Oracle MySQL 9.7 (scripts/mysql-dist), beside MariaDB
MY97PORT=${CHAMELEON_MYSQL97_PORT:-33079}
# a second MySQL 9.7 replicating from the first (GTID auto-position): a failover target
MY97RPORT=${CHAMELEON_MYSQL97_REPLICA_PORT:-33089}
MYSQL_DIST=${CHAMELEON_MYSQL_DIST:-$ROOT/target/mysql-dist}
MYSQL_REPL_USER=usr_replica
MYSQL_REPL_PASSWORD=${CHAMELEON_MYSQL_PASSWORD:-replica_pw}

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

# The servers' files live under the build tree, unless the postgres user cannot reach it
# (a checkout under a 0700 home): then under /tmp, one folder per checkout.
env_dir() {
  if [ -n "${CHAMELEON_ENV_DIR:-}" ]; then echo "$CHAMELEON_ENV_DIR"; return; fi
  local d=$ROOT/target/chameleon-env
  mkdir -p "$d"
  if runuser -u postgres -- test -x "$d" 2>/dev/null; then echo "$d"; else
    echo "/tmp/chameleon-env-$(printf %s "$ROOT" | md5sum | cut -c1-8)"
  fi
}
ENV_DIR=$(env_dir)
mkdir -p "$ENV_DIR"; chmod 755 "$ENV_DIR"
# (15's cluster keeps the folder it always had)
pg_data_of() { if [ "$1" = 15 ]; then echo "$ENV_DIR/pgdata"; else echo "$ENV_DIR/pg$1data"; fi; }
PGDATA_DIR=$(pg_data_of "$PGMAJOR")
PGSOCK=$ENV_DIR/pgsock
MYDATA=$ENV_DIR/mydata
MYSOCK=$ENV_DIR/my.sock

MY97DATA=$ENV_DIR/mysql97data
MY97SOCK=$ENV_DIR/mysql97.sock
MY97RSOCK=$ENV_DIR/mysql97r.sock

# apt_download SUITE DEST PACKAGE...: Debian packages of another suite (sid, trixie) into DEST,
# with a private APT configuration naming this machine's Debian mirror (the system's APT
# sources stay untouched)
apt_download() {
  local suite=$1 dest=$2; shift 2
  local apt_dir mirror; apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest"
  # (APT fetches as its own user where it can)
  chmod 755 "$apt_dir"; chown -R _apt "$apt_dir/lists" "$apt_dir/cache" 2>/dev/null || true
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null)
  [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=-
              -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o Debug::NoLocking=1)
  apt-get "${opts[@]}" -qq update
  (cd "$dest" && apt-get "${opts[@]}" -qq download "$@" 2>&1 | grep -v "unsandboxed" || true)
  rm -rf "$apt_dir"
}

# runs a program of the unpacked MySQL 9.7 (mysqld, mysql, mysqladmin) with its own loader and
# libraries: they need a newer glibc and libstdc++ than Debian 12's
my97() {
  local r=$MYSQL_DIST/root prog=$1; shift
  local bin=$r/usr/bin/$prog; [ -x "$bin" ] || bin=$r/usr/sbin/$prog
  "$r/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
    --library-path "$r/usr/lib/x86_64-linux-gnu:$r/lib/x86_64-linux-gnu" "$bin" "$@"
}
mysql97_() { my97 mysql --no-defaults --default-character-set=utf8mb4 -S "$MY97SOCK" -uroot "$@"; }

# (the major's own psql: an older one warns about a newer server)
psql_() { "$PGBIN/psql" -X -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGPORT" -U postgres "$@"; }
mysql_() { mariadb --no-defaults --default-character-set=utf8mb4 -S "$MYSOCK" -uroot "$@"; }
export PGCONNECT_TIMEOUT=10

# The MySQL server a demo or benchmark reads from: CHAMELEON_SOURCE=mariadb (default) or mysql
# (Oracle MySQL 9.7). Sets SRC_NAME, SRCPORT, SRCSOCK, STATUS_SQL (file and position) and my()
# (runs the server's client as root).
select_source() {
  case "${CHAMELEON_SOURCE:-mariadb}" in
    mysql) SRC_NAME="MySQL 9.7"; SRCPORT=$MY97PORT; SRCSOCK=$MY97SOCK; STATUS_SQL="SHOW BINARY LOG STATUS"
           my() { mysql97_ "$@"; };;
    mariadb) SRC_NAME=MariaDB; SRCPORT=$MYPORT; SRCSOCK=$MYSOCK; STATUS_SQL="SHOW MASTER STATUS"
             my() { mysql_ "$@"; };;
    *) echo "CHAMELEON_SOURCE is mariadb or mysql" >&2; exit 2;;
  esac
}

# Waits until the MySQL 9.7 replica has applied everything its source executed (a benchmark
# should not share the machine with the replica's catch-up of a data set just loaded).
quiesce_mysql97_replica() {
  [ -S "$MY97RSOCK" ] || return 0
  local set; set=$(mysql97_ -N -B -e "SELECT @@global.gtid_executed" | sed 's/\\n//g')
  my97 mysql --no-defaults -S "$MY97RSOCK" -uroot -N -B -e "SELECT WAIT_FOR_EXECUTED_GTID_SET('$set', 1800)" >/dev/null
}
