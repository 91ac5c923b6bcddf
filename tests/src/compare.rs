//! Comparing a replicated destination with a fresh init_replica copy of the same MySQL
//! database: the schema as facts, the rows as checksums, the table models kept with the
//! position.

use postgres::Client;

/// The destination schema as facts that do not depend on column order or on how it came to
/// be (sequence positions and the copy's figures left out). Nullability is a column fact:
/// PostgreSQL 18's NOT NULL constraints are left out, their names being PostgreSQL's own,
/// taken from the table and column at creation and kept, as PostgreSQL keeps them, when either
/// is renamed later.
pub fn shape(c: &mut Client, schema: &str) -> Vec<String> {
    let q = |c: &mut Client, sql: &str| -> Vec<String> {
        c.query(sql, &[&schema])
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect()
    };
    let mut out = q(c, "SELECT format('column %s.%s %s%s default %s collation %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                                    CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, coalesce(pg_get_expr(d.adbin, d.adrelid), '-'),
                                    coalesce(co.collname, '-'))
                          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                          LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
                          LEFT JOIN pg_collation co ON co.oid = a.attcollation
                         WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1");
    out.extend(q(c, "SELECT format('index %s %s', indexname, regexp_replace(indexdef, 'INDEX \\S+ ON ', 'INDEX ON '))
                       FROM pg_indexes WHERE schemaname = $1 ORDER BY 1"));
    out.extend(q(c, "SELECT format('constraint %s on %s: %s valid %s', k.conname, c.relname, pg_get_constraintdef(k.oid), k.convalidated)
                       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND k.contype <> 'n' ORDER BY 1"));
    out.extend(q(c, "SELECT format('sequence %s', c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY 1"));
    out.extend(q(c, "SELECT format('registered %s key %s', v_table_name, v_table_pkey) FROM sch_chameleon.t_replica_tables
                      WHERE v_schema_name = $1 ORDER BY 1"));
    out.extend(q(c, "SELECT format('index_def %s.%s %s: %s', v_table_name, v_index_name, v_kind, t_index_def) FROM sch_chameleon.t_index_def
                      WHERE v_schema_name = $1 ORDER BY 1"));
    out
}

/// Every table's row count and a checksum of its rows as JSON (keys sorted, so column order
/// does not matter).
pub fn rows(c: &mut Client, schema: &str) -> Vec<String> {
    let tables: Vec<String> = c
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1",
            &[&schema],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    tables
        .iter()
        .map(|t| {
            let r = c
                .query_one(
                    &format!("SELECT count(*), coalesce(md5(string_agg(to_jsonb(x)::text, E'\\n' ORDER BY to_jsonb(x)::text)), '')
                                FROM \"{schema}\".\"{}\" x", t.replace('"', "\"\"")),
                    &[],
                )
                .unwrap();
            format!("{t}: {} rows {}", r.get::<_, i64>(0), r.get::<_, String>(1))
        })
        .collect()
}

/// Each registered table's kept model as columns in order and indexes with their columns.
pub fn kept_models(c: &mut Client) -> Vec<String> {
    c.query(
        "SELECT format('%s: %s | %s', v_table_name,
                       (SELECT string_agg(x->>'name', ',' ORDER BY n) FROM jsonb_array_elements(jsb_columns->'columns') WITH ORDINALITY a(x, n)),
                       (SELECT string_agg(format('%s%s(%s)', x->>'name', CASE WHEN (x->>'unique')::bool THEN '!' ELSE '' END,
                                                 (SELECT string_agg(c, ',') FROM jsonb_array_elements_text(x->'columns') c)), ' ' ORDER BY x->>'name')
                          FROM jsonb_array_elements(jsb_columns->'indexes') x))
           FROM sch_chameleon.t_replica_tables ORDER BY v_table_name",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

