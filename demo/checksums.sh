# Per-table row counts and checksums of canonical row text, MySQL side and PostgreSQL side.
# Sourced by scripts/demo (needs my, the source's client, and psql_ from scripts/lib.sh); $1 = PostgreSQL
# database. SHA-256 on both sides: MySQL 9.7 has no MD5 any more.
checksum_table() { # table key "mysql columns" "postgresql columns"
  local src pg
  src=$(my -N -B -e "SET SESSION group_concat_max_len = 1073741824, time_zone = '+00:00';
    SELECT COUNT(*), SHA2(GROUP_CONCAT(CONCAT_WS('|', $3) ORDER BY $2 SEPARATOR '\n'), 256) FROM shop.$1")
  pg=$(psql_ -d "$PGDB" -qAt -F $'\t' -c "SET TimeZone = 'UTC'" \
    -c "SELECT count(*), encode(sha256(convert_to(string_agg(concat_ws('|', $4), E'\n' ORDER BY $2), 'UTF8')), 'hex') FROM shop.$1")
  printf '%-9s mysql %-72s postgresql %-72s %s\n' "$1" "$(echo "$src" | tr '\t' ' ')" "$(echo "$pg" | tr '\t' ' ')" \
    "$([ "$src" = "$pg" ] && echo EQUAL || echo DIFFERENT)"
  [ "$src" = "$pg" ]
}
checksums() {
  PGDB=$1
  checksum_table customer customer_id "customer_id, name, email, DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s.%f')" \
    "customer_id, name, email, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS.US')"
  checksum_table product product_id "product_id, title, price, stock, attrs" "product_id, title, price, stock, attrs"
  checksum_table orders order_id "order_id, customer_id, product_id, qty, status, DATE_FORMAT(ordered_at, '%Y-%m-%d %H:%i:%s.%f')" \
    "order_id, customer_id, product_id, qty, status, to_char(ordered_at, 'YYYY-MM-DD HH24:MI:SS.US')"
}
