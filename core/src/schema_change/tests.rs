use super::*;
use serde_json::json;

const CORPUS: &str = include_str!("corpus.sql");

fn model() -> Model {
    Model {
        database: "ddl_corpus".into(),
        dest: "ddl_corpus".into(),
        include: vec![],
        exclude: vec![],
        overrides: json!({}),
        tables: BTreeMap::new(),
        naming: Default::default(),
    }
}

/// The corpus's statements (one per line, comments left out; those of one server only, marked
/// `/* mariadb */` or `/* mysql */`, included without their mark). CREATE TABLE … SELECT is
/// left out: the binlog has the table's definition instead (`ctas_as_the_binlog_has_it`).
pub fn corpus() -> Vec<&'static str> {
    CORPUS
        .lines()
        .filter(|l| {
            let select_copy = l.contains("CREATE TABLE") && l.contains(" AS SELECT ");
            !(l.trim().is_empty() || l.starts_with("--") || select_copy)
        })
        .map(|l| {
            l.trim_start_matches("/* mariadb */ ")
                .trim_start_matches("/* mysql */ ")
                .trim_end_matches(';')
        })
        .collect()
}

fn apply(m: &mut Model, sql: &str) -> Translation {
    match m.translate("ddl_corpus", sql) {
        Ok(Outcome::Apply(t)) => t,
        other => panic!("{sql}: {other:?}"),
    }
}

fn ignored(m: &mut Model, sql: &str) -> String {
    match m.translate("ddl_corpus", sql) {
        Ok(Outcome::Ignored(why)) => why,
        other => panic!("{sql}: {other:?}"),
    }
}

fn is_dml(sql: &str) -> bool {
    ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|k| sql.starts_with(k))
}

#[test]
fn the_whole_corpus_translates() {
    let mut m = model();
    let (mut applied, mut skipped) = (0, Vec::new());
    for sql in corpus() {
        match m.translate("ddl_corpus", sql) {
            Ok(Outcome::Apply(t)) => {
                assert!(!is_dml(sql), "{sql}");
                assert!(
                    !t.statements.is_empty() || !t.registrations.is_empty(),
                    "{sql}"
                );
                applied += 1;
            }
            Ok(Outcome::Ignored(why)) => skipped.push((sql, why)),
            Err(e) => panic!("{sql}\n  {} ({:?}) {:?}", e.message, e.detail, e.hint),
        }
    }
    assert!(applied >= 150, "{applied} statements translated");
    // what is ignored is ignored for a reason the DBA can read, and only statements that are
    // not the source's
    let expected_ignored = [
        "CREATE TABLE IF NOT EXISTS plain (id INT PRIMARY KEY)",
        "CREATE TABLE ddl_other.elsewhere (id INT PRIMARY KEY)",
        "CREATE TABLE `ddl_other`.`also_elsewhere` (id INT PRIMARY KEY)",
        "CREATE TEMPORARY TABLE tmp_scratch (id INT)",
        "DROP TEMPORARY TABLE tmp_scratch",
        "ALTER TABLE plain ADD COLUMN IF NOT EXISTS extra INT",
        "ALTER TABLE plain DROP COLUMN IF EXISTS nothing_here",
        "ALTER TABLE ddl_other.elsewhere ADD COLUMN x INT",
        "ALTER TABLE plain ENGINE=InnoDB",
        "RENAME TABLE ddl_other.elsewhere TO ddl_other.elsewhere2",
        "CREATE INDEX ix_elsewhere ON ddl_other.also_elsewhere (id)",
        "TRUNCATE TABLE ddl_other.also_elsewhere",
        "DROP TABLE IF EXISTS never_existed",
        "DROP TABLE IF EXISTS ddl_other.also_elsewhere",
        "SET @user_var = 1",
        "FLUSH TABLES",
        "CREATE DATABASE IF NOT EXISTS ddl_third",
        "DROP DATABASE ddl_third",
        "CREATE VIEW v_plain AS SELECT id, name FROM plain",
        "GRANT SELECT ON ddl_corpus.* TO 'chameleon_repl'@'%'",
    ];
    for e in expected_ignored {
        assert!(skipped.iter().any(|(s, _)| *s == e), "not ignored: {e}");
    }
    for (sql, why) in &skipped {
        assert!(!why.is_empty(), "{sql}");
    }
    // the model follows: columns in MySQL's order, keys, renamed tables
    let plain = &m.tables["plain"];
    let cols: Vec<&str> = plain.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        cols,
        [
            "id",
            "name",
            "a3_renamed",
            "code",
            "qty",
            "price",
            "created",
            "notes",
            "flag",
            "tag",
            "a1",
            "a2",
            "a4",
            "a5",
            "a6",
            "a7",
            "a8"
        ]
    );
    assert_eq!(plain.primary_key(), ["id"]);
    assert!(
        m.tables.contains_key("n3")
            && m.tables.contains_key("plain_copy3")
            && m.tables.contains_key("from")
    );
    assert!(
        !m.tables.contains_key("newer")
            && !m.tables.contains_key("select")
            && !m.tables.contains_key("child2")
    );
    assert!(m.tables["keyless"].primary_key().is_empty());
    assert_eq!(m.tables["comp_pk"].primary_key(), ["id"]);
    assert!(m.tables["upper"].primary_key().is_empty());
    assert_eq!(m.tables["ai_big"].columns[0].name, "ident");
    assert!(m.tables["ai_big"].columns[0].auto_increment());
    let withidx: Vec<(&str, &Vec<String>)> = m.tables["withidx"]
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), &i.columns))
        .collect();
    assert_eq!(
        withidx,
        [
            ("PRIMARY", &vec!["id".to_string()]),
            ("k_ab", &vec![]),
            ("u_c", &vec!["c".to_string()]),
            ("ft_c2", &vec!["c".to_string()]),
            ("k_bc", &vec!["c".to_string()]),
            ("d", &vec!["d".to_string()])
        ]
        .into_iter()
        .filter(|(n, _)| *n != "k_ab")
        .collect::<Vec<_>>()
    );
}

#[test]
fn create_table_as_init_replica_would() {
    let mut m = model();
    let t = apply(&mut m, "CREATE TABLE `Order Items` (id INT UNSIGNED NOT NULL AUTO_INCREMENT, st ENUM('a','b') DEFAULT 'a', sku VARCHAR(20) NOT NULL, doc JSON, PRIMARY KEY (id), UNIQUE KEY sku (sku), KEY k_st (st, id)) ENGINE=InnoDB");
    assert_eq!(
        t.statements,
        [
            "CREATE TABLE \"ddl_corpus\".\"Order Items\" (\"id\" bigint NOT NULL, \"st\" text DEFAULT 'a', \"sku\" varchar(20) NOT NULL, \"doc\" jsonb)",
            "CREATE SEQUENCE \"ddl_corpus\".\"Order Items_id_seq\" OWNED BY \"ddl_corpus\".\"Order Items\".\"id\";\n                 ALTER TABLE \"ddl_corpus\".\"Order Items\" ALTER COLUMN \"id\" SET DEFAULT nextval('\"ddl_corpus\".\"Order Items_id_seq\"'::regclass);\n                 SELECT setval('\"ddl_corpus\".\"Order Items_id_seq\"'::regclass, coalesce((SELECT max(\"id\")::bigint FROM \"ddl_corpus\".\"Order Items\"), 0) + 1, false)",
            "ALTER TABLE \"ddl_corpus\".\"Order Items\" ADD CONSTRAINT \"Order Items_st_check\" CHECK (\"st\" IN ('a', 'b'))",
            "ALTER TABLE \"ddl_corpus\".\"Order Items\" ADD CONSTRAINT \"Order Items_pkey\" PRIMARY KEY (\"id\")",
            "CREATE UNIQUE INDEX \"Order Items_sku_idx\" ON \"ddl_corpus\".\"Order Items\" (\"sku\")",
            "CREATE INDEX \"Order Items_k_st_idx\" ON \"ddl_corpus\".\"Order Items\" (\"st\", \"id\")",
        ]
    );
    let Registration::Table { pkey, defs, .. } = &t.registrations[0] else {
        panic!()
    };
    assert_eq!(pkey, &["id"]);
    assert_eq!(
        defs.iter().map(|d| d.kind.as_str()).collect::<Vec<_>>(),
        ["primary", "unique", "index"]
    );
    assert!(m.tables["Order Items"].columns[3].is_json);
}

#[test]
fn alter_table_sub_commands_in_order() {
    let mut m = model();
    apply(
        &mut m,
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(10) NOT NULL DEFAULT 'x')",
    );
    let t = apply(&mut m, "ALTER TABLE t ADD COLUMN c INT NOT NULL AFTER id, CHANGE b bb VARCHAR(20), DROP COLUMN a, ADD KEY (c), ALTER COLUMN bb SET DEFAULT 'y', ENGINE=InnoDB");
    assert_eq!(
        t.statements,
        [
            "ALTER TABLE \"ddl_corpus\".\"t\" ADD COLUMN \"c\" integer DEFAULT 0 NOT NULL",
            "ALTER TABLE \"ddl_corpus\".\"t\" ALTER COLUMN \"c\" DROP DEFAULT",
            "ALTER TABLE \"ddl_corpus\".\"t\" RENAME COLUMN \"b\" TO \"bb\"",
            "ALTER TABLE \"ddl_corpus\".\"t\" ALTER COLUMN \"bb\" DROP DEFAULT",
            "ALTER TABLE \"ddl_corpus\".\"t\" ALTER COLUMN \"bb\" TYPE varchar(20) USING \"bb\"::varchar(20)",
            "ALTER TABLE \"ddl_corpus\".\"t\" ALTER COLUMN \"bb\" DROP DEFAULT",
            "ALTER TABLE \"ddl_corpus\".\"t\" ALTER COLUMN \"bb\" DROP NOT NULL",
            "ALTER TABLE \"ddl_corpus\".\"t\" DROP COLUMN \"a\"",
            "CREATE INDEX \"t_c_idx\" ON \"ddl_corpus\".\"t\" (\"c\")",
            "ALTER TABLE \"ddl_corpus\".\"t\" ALTER COLUMN \"bb\" SET DEFAULT 'y'",
        ]
    );
    assert_eq!(t.notes, ["ignored: ENGINE = InnoDB"]);
    let cols: Vec<&str> = m.tables["t"]
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(cols, ["id", "c", "bb"]);
}

#[test]
fn rename_keeps_the_names_made_after_the_table() {
    let mut m = model();
    apply(
        &mut m,
        "CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, st ENUM('x'), KEY k (st))",
    );
    let t = apply(&mut m, "RENAME TABLE a TO b");
    assert_eq!(
        t.statements,
        [
            "ALTER TABLE \"ddl_corpus\".\"a\" RENAME TO \"b\"",
            "ALTER INDEX \"ddl_corpus\".\"a_pkey\" RENAME TO \"b_pkey\"",
            // (an index named by an older release takes today's name first)
            "DO $chameleon$ BEGIN IF to_regclass('\"ddl_corpus\".\"a_k_idx\"') IS NULL AND EXISTS (SELECT FROM pg_index WHERE indexrelid = to_regclass('\"ddl_corpus\".\"a_k\"')) THEN ALTER INDEX \"ddl_corpus\".\"a_k\" RENAME TO \"a_k_idx\"; END IF; END $chameleon$",
            "ALTER INDEX \"ddl_corpus\".\"a_k_idx\" RENAME TO \"b_k_idx\"",
            "ALTER SEQUENCE \"ddl_corpus\".\"a_id_seq\" RENAME TO \"b_id_seq\"",
            "ALTER TABLE \"ddl_corpus\".\"b\" RENAME CONSTRAINT \"a_st_check\" TO \"b_st_check\"",
        ]
    );
    assert!(
        matches!(&t.registrations[0], Registration::Table { table, renamed_from: Some(f), .. } if table == "b" && f == "a")
    );
    // moved to another database: no longer replicated, the destination keeps it as it is
    let t = apply(&mut m, "RENAME TABLE b TO elsewhere.b");
    assert!(t.statements.is_empty());
    assert_eq!(t.registrations, [Registration::gone("b")]);
    // coming in from elsewhere: its rows were never copied
    let e = m
        .translate("ddl_corpus", "RENAME TABLE elsewhere.c TO c")
        .unwrap_err();
    assert_eq!(e.state, SqlState::FeatureNotSupported);
}

#[test]
fn server_generated_drop_and_the_include_list() {
    let mut m = model();
    m.include = vec!["kept".into()];
    apply(&mut m, "CREATE TABLE kept (id INT PRIMARY KEY)");
    assert_eq!(
        ignored(&mut m, "CREATE TABLE other (id INT PRIMARY KEY)"),
        "not in the source's table list"
    );
    assert_eq!(
        ignored(&mut m, "ALTER TABLE other ADD x INT"),
        "not a replicated table"
    );
    let t = apply(
        &mut m,
        "DROP TABLE IF EXISTS `kept`,`other` /* generated by server */",
    );
    assert_eq!(
        t.statements,
        ["DROP TABLE IF EXISTS \"ddl_corpus\".\"kept\""]
    );
    assert!(m.tables.is_empty());
}

#[test]
fn what_cannot_be_translated_is_an_error_and_changes_nothing() {
    let mut m = model();
    apply(&mut m, "CREATE TABLE t (id INT PRIMARY KEY, a INT)");
    let before = m.tables.clone();
    for (sql, state) in [
        (
            "ALTER TABLE t ADD COLUMN g INT GENERATED ALWAYS AS (a / 2) VIRTUAL",
            SqlState::FeatureNotSupported,
        ),
        (
            "CREATE TABLE p (id INT PRIMARY KEY) PARTITION BY HASH(id) PARTITIONS 2",
            SqlState::SyntaxError,
        ),
        (
            "ALTER TABLE t ADD x INT, DROP COLUMN nope",
            SqlState::FeatureNotSupported,
        ),
        ("DROP DATABASE ddl_corpus", SqlState::FeatureNotSupported),
    ] {
        let e = m.translate("ddl_corpus", sql).unwrap_err();
        assert_eq!(e.state, state, "{sql}: {}", e.message);
        assert!(e.hint.is_some() || state == SqlState::SyntaxError, "{sql}");
        assert_eq!(m.tables, before, "{sql} changed the model");
    }
    // a statement on another database's table is not the source's, readable or not
    assert_eq!(
        ignored(&mut m, "ALTER TABLE other_db.t ADD COLUMN (x INT, y INT)"),
        "another database"
    );
}

#[test]
fn a_default_schema_elsewhere_needs_the_qualified_name() {
    let mut m = model();
    let t = m.translate("mysql", "CREATE TABLE x (id INT)").unwrap();
    assert_eq!(t, Outcome::Ignored("another database".into()));
    let t = m
        .translate("mysql", "CREATE TABLE ddl_corpus.y (id INT)")
        .unwrap();
    assert!(matches!(t, Outcome::Apply(_)));
}

/// Prints the corpus's PostgreSQL statements (`cargo test -p chameleon-core dump_corpus -- --ignored --nocapture`).
#[test]
#[ignore]
fn dump_corpus() {
    let mut m = model();
    println!("CREATE SCHEMA ddl_corpus;");
    for sql in corpus() {
        if let Ok(Outcome::Apply(t)) = m.translate("ddl_corpus", sql) {
            println!("-- {sql}");
            for s in t.statements {
                println!("{s};");
            }
        }
    }
}

#[test]
fn character_sets_follow_columns_and_tables() {
    let mut m = model();
    apply(&mut m, "CREATE TABLE l (id INT PRIMARY KEY, a VARCHAR(10), b TEXT CHARACTER SET utf8mb4, n INT) ENGINE=InnoDB DEFAULT CHARSET=latin1");
    let cs: Vec<Option<&str>> = m.tables["l"]
        .columns
        .iter()
        .map(|c| c.charset.as_deref())
        .collect();
    assert_eq!(cs, [None, Some("latin1"), Some("utf8mb4"), None]);
    apply(
        &mut m,
        "ALTER TABLE l ADD COLUMN c CHAR(3) CHARACTER SET cp1251, ADD COLUMN d TEXT",
    );
    assert_eq!(m.tables["l"].columns[4].charset.as_deref(), Some("cp1251"));
    assert_eq!(
        m.tables["l"].columns[5].charset.as_deref(),
        Some("latin1"),
        "the table's default"
    );
    // the text is in utf8mb4 from then on: the binlog carries it so
    let t = apply(
        &mut m,
        "ALTER TABLE l CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    );
    assert!(t.statements.is_empty());
    let cs: Vec<Option<&str>> = m.tables["l"]
        .columns
        .iter()
        .map(|c| c.charset.as_deref())
        .collect();
    assert_eq!(
        cs,
        [
            None,
            Some("utf8mb4"),
            Some("utf8mb4"),
            None,
            Some("utf8mb4"),
            Some("utf8mb4")
        ]
    );
    assert_eq!(
        ignored(&mut m, "ALTER TABLE l ENGINE = InnoDB"),
        "ignored: ENGINE = InnoDB"
    );
}

#[test]
fn enum_and_set_labels_keep_their_case() {
    let mut m = model();
    apply(&mut m, "CREATE TABLE film (id INT PRIMARY KEY, rating ENUM('G','PG','PG-13','unsigned') DEFAULT 'G')");
    let t = apply(
        &mut m,
        "ALTER TABLE film ADD COLUMN special_features SET('Trailers','Behind the Scenes')",
    );
    assert_eq!(
        t.statements,
        ["ALTER TABLE \"ddl_corpus\".\"film\" ADD COLUMN \"special_features\" text"]
    );
    let cols = &m.tables["film"].columns;
    assert_eq!(cols[1].column_type, "enum('G','PG','PG-13','unsigned')");
    assert!(!cols[1].unsigned());
    assert_eq!(cols[1].enum_values(), ["G", "PG", "PG-13", "unsigned"]);
    assert_eq!(cols[2].enum_values(), ["Trailers", "Behind the Scenes"]);
    let t = apply(
        &mut m,
        "ALTER TABLE film MODIFY rating ENUM('G','NC-17') NOT NULL",
    );
    assert!(
        t.statements.iter().any(|s| s.contains("IN ('G', 'NC-17')")),
        "{:?}",
        t.statements
    );
}

/// The event data stored in log rows by earlier builds reads back, and what is written now
/// reads back the same.
#[test]
fn event_data_round_trips() {
    let mut m = model();
    let t = apply(
        &mut m,
        "CREATE TABLE a (id INT PRIMARY KEY, v INT, KEY k (v))",
    );
    let data = t.event_data("CREATE TABLE a ...").to_json();
    assert_eq!(data["registrations"][0]["defs"][1]["kind"], "index");
    let back: DdlEvent = serde_json::from_value(data).unwrap();
    assert_eq!(back.registrations, t.registrations);
    let stored = json!({"mysql": "DROP TABLE a", "registrations": [{"table": "a", "gone": true}], "notes": []});
    let back: DdlEvent = serde_json::from_value(stored).unwrap();
    assert_eq!(back.registrations, [Registration::gone("a")]);
    let e = crate::Error::new(crate::SqlState::FeatureNotSupported, "no").detail("why");
    let failed = DdlEvent::failed("ALTER TABLE a ...", &e).to_json();
    assert_eq!(failed["error"]["sqlstate"], "0A000");
    let back: DdlEvent = serde_json::from_value(failed).unwrap();
    assert_eq!(back.error.unwrap().reason(), "no (why)");
}

#[test]
fn serial_and_a_list_of_added_columns() {
    let mut m = model();
    let t = apply(&mut m, "CREATE TABLE s (id SERIAL, v INT)");
    assert_eq!(
        t.statements[0],
        "CREATE TABLE \"ddl_corpus\".\"s\" (\"id\" numeric(20,0) NOT NULL, \"v\" integer)"
    );
    assert!(
        t.statements.iter().any(|s| s.contains("CREATE SEQUENCE")),
        "{:?}",
        t.statements
    );
    assert!(
        t.statements
            .iter()
            .any(|s| s == "CREATE UNIQUE INDEX \"s_id_idx\" ON \"ddl_corpus\".\"s\" (\"id\")"),
        "{:?}",
        t.statements
    );
    let id = &m.tables["s"].columns[0];
    assert_eq!(
        (id.data_type.as_str(), id.column_type.as_str(), id.nullable),
        ("bigint", "bigint unsigned", false)
    );
    let t = apply(
        &mut m,
        "ALTER TABLE s ADD COLUMN (a INT, b VARCHAR(5) NOT NULL DEFAULT 'x'), ADD (c INT)",
    );
    assert_eq!(
        t.statements,
        [
            "ALTER TABLE \"ddl_corpus\".\"s\" ADD COLUMN \"a\" integer",
            "ALTER TABLE \"ddl_corpus\".\"s\" ADD COLUMN \"b\" varchar(5) DEFAULT 'x' NOT NULL",
            "ALTER TABLE \"ddl_corpus\".\"s\" ADD COLUMN \"c\" integer",
        ]
    );
    let names: Vec<&str> = m.tables["s"]
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["id", "v", "a", "b", "c"]);
}

#[test]
fn the_binary_attribute_is_a_binary_collation() {
    let mut m = model();
    let t = apply(&mut m, "CREATE TABLE b (id INT PRIMARY KEY, c CHAR(10) BINARY, v VARCHAR(5) CHARACTER SET latin1 BINARY NOT NULL, w VARCHAR(5) COLLATE utf8mb4_bin, bin BINARY(4), plain VARCHAR(5))");
    assert_eq!(
        t.statements[0],
        "CREATE TABLE \"ddl_corpus\".\"b\" (\"id\" integer NOT NULL, \"c\" varchar(10) COLLATE \"C\", \"v\" varchar(5) COLLATE \"C\" NOT NULL, \"w\" varchar(5) COLLATE \"C\", \"bin\" bytea, \"plain\" varchar(5))"
    );
    let t = apply(
        &mut m,
        "ALTER TABLE b MODIFY plain VARCHAR(8) BINARY, ADD COLUMN x TEXT BINARY",
    );
    assert_eq!(
        t.statements,
        [
            "ALTER TABLE \"ddl_corpus\".\"b\" ALTER COLUMN \"plain\" DROP DEFAULT",
            "ALTER TABLE \"ddl_corpus\".\"b\" ALTER COLUMN \"plain\" TYPE varchar(8) COLLATE \"C\" USING \"plain\"::varchar(8) COLLATE \"C\"",
            "ALTER TABLE \"ddl_corpus\".\"b\" ALTER COLUMN \"plain\" DROP DEFAULT",
            "ALTER TABLE \"ddl_corpus\".\"b\" ADD COLUMN \"x\" text COLLATE \"C\"",
        ]
    );
}

#[test]
fn ctas_as_the_binlog_has_it() {
    let mut m = model();
    apply(&mut m, "CREATE TABLE src (id INT PRIMARY KEY, name VARCHAR(20))");
    // MySQL 8.0.21+: the definition, then START TRANSACTION (rows follow in the transaction)
    let t = apply(
        &mut m,
        "CREATE TABLE `ctas` (\n  `id` int NOT NULL,\n  `name` varchar(20) DEFAULT NULL\n) START TRANSACTION",
    );
    assert!(t.statements[0].contains("CREATE TABLE"), "{:?}", t.statements);
    // MariaDB: the definition alone
    apply(&mut m, "CREATE TABLE `ctas2` (\n  `id` int(11) NOT NULL\n)");
    assert!(m.tables.contains_key("ctas") && m.tables.contains_key("ctas2"));
}

#[test]
fn index_visibility_and_functional_indexes() {
    let mut m = model();
    apply(&mut m, "CREATE TABLE v (id INT PRIMARY KEY, a INT INVISIBLE, b INT, INDEX ix_b (b) INVISIBLE, INDEX ((a + 1)))");
    let t = &m.tables["v"];
    let kinds: Vec<(&str, &str)> = t.indexes.iter().map(|i| (i.name.as_str(), i.index_type.as_str())).collect();
    assert_eq!(kinds, [("PRIMARY", "BTREE"), ("ix_b", "BTREE"), ("functional_index", "FUNCTIONAL")]);
    // a functional index is the model's only: no PostgreSQL statement
    let t = apply(&mut m, "ALTER TABLE v ADD INDEX ix_fn ((b * 2)), ALTER INDEX ix_b VISIBLE");
    assert!(t.statements.iter().all(|s| !s.contains("ix_fn")), "{:?}", t.statements);
    let t = apply(&mut m, "ALTER TABLE v DROP INDEX ix_fn, ADD INDEX ix_c (b DESC) VISIBLE");
    assert!(t.statements.iter().any(|s| s.contains("ix_c")), "{:?}", t.statements);
    // a column named invisible is a column
    apply(&mut m, "ALTER TABLE v ADD COLUMN invisible INT");
    assert!(m.tables["v"].columns.iter().any(|c| c.name == "invisible"));
}

#[test]
fn check_constraints_named_as_each_server_names_them() {
    use crate::check::Naming;
    let create = "CREATE TABLE c (id INT PRIMARY KEY, price INT CHECK (price >= 0), s VARCHAR(5), CONSTRAINT named CHECK (id > 0), CHECK (price < 100), CHECK (s <> 'x'))";
    for (naming, names) in [
        (Naming::MariaDb, ["price", "named", "CONSTRAINT_1", "CONSTRAINT_2"]),
        (Naming::MySql, ["c_chk_1", "named", "c_chk_2", "c_chk_3"]),
    ] {
        let mut m = Model { naming, ..model() };
        let t = apply(&mut m, create);
        let got: Vec<&str> = m.tables["c"].checks.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(got, names, "{naming:?}");
        // the text comparison is left out, and said so
        let made = t.statements.iter().filter(|s| s.contains(" CHECK (")).count();
        assert_eq!(made, 3, "{:?}", t.statements);
        assert!(t.notes.iter().any(|n| n.contains(names[3]) && n.contains("collation")), "{:?}", t.notes);
        assert!(t.statements.iter().any(|s| s.contains(r#"CHECK ("price" >= 0) NOT VALID"#)), "{:?}", t.statements);
    }
    // MySQL: added unnamed ones continue the numbers, a renamed table takes its checks' names along
    let mut m = Model { naming: Naming::MySql, ..model() };
    apply(&mut m, create);
    apply(&mut m, "ALTER TABLE c ADD CHECK (id < 1000000), DROP CHECK c_chk_1");
    let t = apply(&mut m, "RENAME TABLE c TO d");
    let got: Vec<&str> = m.tables["d"].checks.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(got, ["named", "d_chk_2", "d_chk_3", "d_chk_4"]);
    assert!(t.statements.iter().any(|s| s.contains(r#"RENAME CONSTRAINT "c_chk_4" TO "d_chk_4""#)), "{:?}", t.statements);
    // a dropped column takes its checks along; an unknown constraint is an error
    apply(&mut m, "ALTER TABLE d DROP COLUMN price");
    let got: Vec<&str> = m.tables["d"].checks.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(got, ["named", "d_chk_3", "d_chk_4"]);
    assert!(m.translate("ddl_corpus", "ALTER TABLE d DROP CONSTRAINT nope").is_err());
}

#[test]
fn generated_columns_are_data_filled_where_rows_exist() {
    let mut m = model();
    let t = apply(&mut m, "CREATE TABLE g (id INT PRIMARY KEY, a INT, b INT, s INT AS (a + b) STORED, v INT GENERATED ALWAYS AS (a * 2) VIRTUAL)");
    assert!(t.statements[0].contains(r#""s" integer"#) && t.statements[0].contains(r#""v" integer"#), "{:?}", t.statements);
    let kinds: Vec<&str> = m.tables["g"].columns.iter().map(|c| c.extra.as_str()).collect();
    assert_eq!(kinds, ["", "", "", "STORED GENERATED", "VIRTUAL GENERATED"]);
    // added to rows that exist: MySQL computes them, so does the replica
    let t = apply(&mut m, "ALTER TABLE g ADD COLUMN w INT AS (a - 1) VIRTUAL AFTER a");
    assert!(t.statements.iter().any(|s| s.contains(r#"SET "w" = "a" - 1"#)), "{:?}", t.statements);
    // an expression PostgreSQL would compute differently stops the change, named
    let e = m.translate("ddl_corpus", "ALTER TABLE g ADD COLUMN x INT AS (a / 3) STORED").unwrap_err();
    assert!(e.message.contains("a / 3"), "{}", e.message);
    assert!(m.translate("ddl_corpus", "ALTER TABLE g MODIFY b INT AS (a + 1)").is_err());
}

#[test]
fn a_myisam_table_keeps_no_foreign_keys() {
    // Roundcube's 2008 schema: MyISAM tables whose FOREIGN KEY clauses MySQL parses and drops;
    // the same key added again once the table is InnoDB is the first one that counts
    let mut m = model();
    apply(&mut m, "CREATE TABLE users (id INT PRIMARY KEY) ENGINE=InnoDB");
    let t = apply(&mut m, "CREATE TABLE msgs (id INT PRIMARY KEY, user_id INT, CONSTRAINT fk_u FOREIGN KEY (user_id) REFERENCES users (id)) ENGINE=MyISAM");
    assert!(!t.statements.iter().any(|s| s.contains("FOREIGN KEY")), "{:?}", t.statements);
    assert!(m.tables["msgs"].foreign_keys.is_empty() && m.tables["msgs"].indexes.len() == 1);
    assert_eq!(
        ignored(&mut m, "ALTER TABLE msgs ADD CONSTRAINT fk_u FOREIGN KEY (user_id) REFERENCES users (id)"),
        "ignored: a foreign key on a myisam table (MySQL keeps none)"
    );
    // (nothing to do in PostgreSQL; the model learns the engine)
    assert!(apply(&mut m, "ALTER TABLE msgs ENGINE=InnoDB").statements.is_empty());
    let t = apply(&mut m, "ALTER TABLE msgs ADD CONSTRAINT fk_u FOREIGN KEY (user_id) REFERENCES users (id)");
    assert!(t.statements.iter().any(|s| s.contains("FOREIGN KEY")), "{:?}", t.statements);
}

#[test]
fn an_auto_increment_column_added_numbers_the_rows_as_mysql_did() {
    // Roundcube's `ALTER TABLE dictionary ADD COLUMN id … AUTO_INCREMENT PRIMARY KEY FIRST`
    // (no key before: exact on an empty table only, a guard stops it where rows are) and
    // osTicket's `DROP PRIMARY KEY, ADD id … AUTO_INCREMENT PRIMARY KEY FIRST` (InnoDB numbers
    // the rows in the order of the key the table had)
    let mut m = model();
    apply(&mut m, "CREATE TABLE d (user_id INT, data TEXT)");
    let t = apply(&mut m, "ALTER TABLE d ADD COLUMN id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST");
    let guard = t.statements.iter().find(|s| s.starts_with("DO $chameleon$")).expect("a guard");
    assert!(guard.contains("WHERE NOT (false)) THEN RAISE EXCEPTION"), "{guard}");
    assert!(!t.statements.iter().any(|s| s.starts_with("UPDATE")), "{:?}", t.statements);
    assert!(t.statements.iter().any(|s| s.starts_with("CREATE SEQUENCE \"ddl_corpus\".\"d_id_seq\"")));
    assert!(t.statements.last().unwrap().contains("PRIMARY KEY (\"id\")"), "{:?}", t.statements);
    assert_eq!(m.tables["d"].columns[0].name, "id");

    apply(&mut m, "CREATE TABLE a (object_id INT NOT NULL, type CHAR(1) NOT NULL, PRIMARY KEY (object_id, type))");
    let t = apply(&mut m, "ALTER TABLE a DROP PRIMARY KEY, ADD id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST");
    let at = |prefix: &str| t.statements.iter().position(|s| s.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix}: {:?}", t.statements));
    assert!(t.statements[at("DO $chameleon$")].contains("!~ '^[0-9A-Z]*$'"));
    assert!(t.statements[at("UPDATE")].contains("row_number() OVER (ORDER BY \"object_id\", \"type\" COLLATE \"C\")"));
    assert!(at("ALTER TABLE \"ddl_corpus\".\"a\" ADD COLUMN") < at("UPDATE") && at("UPDATE") < at("CREATE SEQUENCE"));
}

#[test]
fn the_index_made_for_a_foreign_key_goes_when_another_can_serve_it() {
    // Roundcube: ADD CONSTRAINT user_id_fk_identities FOREIGN KEY (user_id) …, then
    // ADD INDEX user_identities_index (user_id, del): MySQL drops user_id_fk_identities
    let mut m = model();
    apply(&mut m, "CREATE TABLE users (user_id INT PRIMARY KEY)");
    apply(&mut m, "CREATE TABLE ids (id INT PRIMARY KEY, user_id INT, del INT)");
    apply(&mut m, "ALTER TABLE ids ADD CONSTRAINT user_id_fk_ids FOREIGN KEY (user_id) REFERENCES users (user_id)");
    assert!(m.tables["ids"].indexes.iter().any(|i| i.name == "user_id_fk_ids"));
    let t = apply(&mut m, "ALTER TABLE ids ADD INDEX user_ids_index (user_id, del)");
    assert!(t.statements.iter().any(|s| s.contains("DROP INDEX \"ddl_corpus\".\"ids_user_id_fk_ids_idx\"")), "{:?}", t.statements);
    let names: Vec<&str> = m.tables["ids"].indexes.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["PRIMARY", "user_ids_index"]);
}

#[test]
fn a_string_becomes_a_number_as_mysql_reads_it() {
    // CubeCart: `cat_image VARBINARY(250) NOT NULL DEFAULT ''` changed to INT(10)
    let mut m = model();
    apply(&mut m, "CREATE TABLE c (id INT PRIMARY KEY, img VARBINARY(250) NOT NULL DEFAULT '', t VARCHAR(10))");
    let t = apply(&mut m, "ALTER TABLE c CHANGE img img INT(10) NOT NULL, MODIFY t VARBINARY(10)");
    let ty = |col: &str| t.statements.iter().find(|s| s.contains(&format!("ALTER COLUMN \"{col}\" TYPE"))).cloned().unwrap_or_default();
    assert!(ty("img").contains("USING coalesce(substring(convert_from(\"img\", 'UTF8') from '^\\s*([-+]?"), "{}", ty("img"));
    assert!(ty("t").contains("USING convert_to(\"t\"::text, 'UTF8')"), "{}", ty("t"));
}
