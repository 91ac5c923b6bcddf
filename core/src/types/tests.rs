use super::*;
use mysql::Value as V;
use serde_json::json;

#[test]
fn binlog_text_in_other_character_sets_becomes_utf8() {
    let latin1 = MysqlColumn {
        data_type: "varchar".into(),
        charset: Some("latin1".into()),
        ..Default::default()
    };
    // é, €, ÿ in latin1 (Windows-1252)
    assert_eq!(
        from_binlog(&latin1, &[], V::Bytes(vec![0xE9, 0x80, 0xFF])),
        V::Bytes("é€ÿ".as_bytes().to_vec())
    );
    let cp1251 = MysqlColumn {
        data_type: "text".into(),
        charset: Some("cp1251".into()),
        ..Default::default()
    };
    assert_eq!(
        from_binlog(&cp1251, &[], V::Bytes(vec![0xC4, 0xE0])),
        V::Bytes("Да".as_bytes().to_vec())
    );
    // invalid UTF-8 in a utf8mb4 column (MySQL does not let it in): replaced, not fatal
    let utf8 = MysqlColumn {
        data_type: "varchar".into(),
        charset: Some("utf8mb4".into()),
        ..Default::default()
    };
    assert_eq!(
        from_binlog(&utf8, &[], V::Bytes(vec![b'a', 0xFF])),
        V::Bytes("a\u{FFFD}".as_bytes().to_vec())
    );
    assert_eq!(
        from_binlog(&utf8, &[], V::Bytes("ok 🦎".as_bytes().to_vec())),
        V::Bytes("ok 🦎".as_bytes().to_vec())
    );
}

fn col(data_type: &str, column_type: &str) -> MysqlColumn {
    MysqlColumn {
        name: "c".into(),
        data_type: data_type.into(),
        column_type: column_type.into(),
        nullable: true,
        ..Default::default()
    }
}
fn ty(data_type: &str, column_type: &str) -> String {
    map_column("t", &col(data_type, column_type), &json!({}))
        .unwrap()
        .sql_type
}
fn enc(c: &PgColumn, v: V) -> String {
    let mut out = Vec::new();
    encode(&mut out, c, &v).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn integers_widen_when_unsigned() {
    assert_eq!(ty("tinyint", "tinyint(4)"), "smallint");
    assert_eq!(ty("tinyint", "tinyint(3) unsigned"), "smallint");
    assert_eq!(ty("smallint", "smallint(5) unsigned"), "integer");
    assert_eq!(ty("mediumint", "mediumint(8) unsigned"), "integer");
    assert_eq!(ty("int", "int(11)"), "integer");
    assert_eq!(ty("int", "int(10) unsigned"), "bigint");
    assert_eq!(ty("bigint", "bigint(20)"), "bigint");
    assert_eq!(ty("bigint", "bigint(20) unsigned"), "numeric(20,0)");
    assert_eq!(ty("year", "year(4)"), "smallint");
}

#[test]
fn other_types() {
    let mut d = col("decimal", "decimal(65,30)");
    d.numeric_precision = Some(65);
    d.numeric_scale = Some(30);
    assert_eq!(
        map_column("t", &d, &json!({})).unwrap().sql_type,
        "numeric(65,30)"
    );
    let mut b = col("bit", "bit(64)");
    b.numeric_precision = Some(64);
    assert_eq!(map_column("t", &b, &json!({})).unwrap().sql_type, "bit(64)");
    let mut dt = col("datetime", "datetime(6)");
    dt.datetime_precision = Some(6);
    assert_eq!(
        map_column("t", &dt, &json!({})).unwrap().sql_type,
        "timestamp(6)"
    );
    assert_eq!(ty("timestamp", "timestamp"), "timestamptz(0)");
    assert_eq!(ty("time", "time(3)"), "interval");
    assert_eq!(ty("float", "float"), "real");
    assert_eq!(ty("double", "double"), "double precision");
    let mut v = col("varchar", "varchar(20)");
    v.char_max_length = Some(20);
    assert_eq!(
        map_column("t", &v, &json!({})).unwrap().sql_type,
        "varchar(20)"
    );
    assert_eq!(ty("longblob", "longblob"), "bytea");
    assert_eq!(ty("json", "json"), "jsonb");
    let mut j = col("longtext", "longtext");
    j.is_json = true;
    assert_eq!(map_column("t", &j, &json!({})).unwrap().sql_type, "jsonb");
    assert_eq!(ty("point", "point"), "bytea");
    assert!(map_column("t", &col("mystery", "mystery(3)"), &json!({}))
        .unwrap_err()
        .hint
        .is_some());
}

#[test]
fn enums_become_checked_text() {
    let c = col("enum", "enum('new','it''s','a,b')");
    assert_eq!(c.enum_values(), vec!["new", "it's", "a,b"]);
    let p = map_column("t", &c, &json!({})).unwrap();
    assert_eq!(p.sql_type, "text");
    assert_eq!(p.check.as_deref(), Some("\"c\" IN ('new', 'it''s', 'a,b')"));
}

#[test]
fn labels_keep_their_case() {
    let raw = "ENUM('G','PG-13','It''s','a\\'B','unsigned')";
    let c = col("enum", &normalize_column_type(raw));
    assert_eq!(
        c.column_type,
        "enum('G','PG-13','It''s','a\\'B','unsigned')"
    );
    assert_eq!(
        c.enum_values(),
        vec!["G", "PG-13", "It's", "a'B", "unsigned"]
    );
    assert!(!c.unsigned(), "a label is not an attribute");
    assert_eq!(
        normalize_column_type("INT(10) UNSIGNED"),
        "int(10) unsigned"
    );
    assert!(col("int", "int unsigned").unsigned());
    let p = map_column("t", &c, &json!({})).unwrap();
    assert_eq!(p.labels, vec!["G", "PG-13", "It's", "a'B", "unsigned"]);
    assert_eq!(
        from_binlog(&c, &p.labels, V::Int(2)),
        V::Bytes(b"PG-13".to_vec())
    );
    let st = col(
        "set",
        &normalize_column_type("SET('Trailers','Behind the Scenes')"),
    );
    assert_eq!(
        from_binlog(&st, &st.enum_values(), V::Bytes(vec![0b11])),
        V::Bytes(b"Trailers,Behind the Scenes".to_vec())
    );
}

#[test]
fn overrides_by_type_and_by_column() {
    let c = col("tinyint", "tinyint(1)");
    let p = map_column("t", &c, &json!({"tinyint(1)": "boolean"})).unwrap();
    assert_eq!((p.sql_type.as_str(), p.kind), ("boolean", Kind::Bool));
    assert_eq!(enc(&p, V::Int(1)), "t");
    assert_eq!(enc(&p, V::Int(0)), "f");
    let p = map_column(
        "film",
        &c,
        &json!({"tinyint(1)": "boolean", "film.c": "integer"}),
    )
    .unwrap();
    assert_eq!(
        p.sql_type, "integer",
        "a column override wins over a type override"
    );
}

#[test]
fn defaults() {
    let mut c = col("varchar", "varchar(10)");
    c.default = Some("'it''s'".into());
    assert_eq!(
        map_column("t", &c, &json!({})).unwrap().default.as_deref(),
        Some("'it''s'")
    );
    let mut c = col("int", "int(11)");
    c.default = Some("42".into());
    assert_eq!(
        map_column("t", &c, &json!({})).unwrap().default.as_deref(),
        Some("42")
    );
    let mut c = col("datetime", "datetime");
    c.default = Some("current_timestamp()".into());
    assert_eq!(
        map_column("t", &c, &json!({})).unwrap().default.as_deref(),
        Some("CURRENT_TIMESTAMP")
    );
    c.default = Some("'0000-00-00 00:00:00'".into());
    assert_eq!(
        map_column("t", &c, &json!({})).unwrap().default,
        None,
        "a zero date default is dropped"
    );
    let mut c = col("bit", "bit(3)");
    c.default = Some("b'101'".into());
    assert_eq!(
        map_column("t", &c, &json!({})).unwrap().default.as_deref(),
        Some("B'101'")
    );
    let mut c = col("int", "int(11)");
    c.default = Some("(1 + rand())".into());
    assert_eq!(
        map_column("t", &c, &json!({})).unwrap().default,
        None,
        "expressions are not carried"
    );
    let mut c = col("timestamp", "timestamp");
    c.default = Some("'2020-01-01 00:00:00'".into());
    assert_eq!(
        map_column("t", &c, &json!({})).unwrap().default.as_deref(),
        Some("'2020-01-01 00:00:00+00'::timestamptz")
    );
}

#[test]
fn encoding_edges() {
    let int = map_column("t", &col("bigint", "bigint(20) unsigned"), &json!({})).unwrap();
    assert_eq!(enc(&int, V::UInt(u64::MAX)), "18446744073709551615");
    assert_eq!(enc(&int, V::Int(i64::MIN)), "-9223372036854775808");
    assert_eq!(enc(&int, V::NULL), "\\N");
    let f = map_column("t", &col("float", "float"), &json!({})).unwrap();
    assert_eq!(
        enc(&f, V::Float(3.4028235e38)).parse::<f32>().unwrap(),
        3.4028235e38
    );
    assert_eq!(
        enc(&f, V::Float(-1.1754944e-38)).parse::<f32>().unwrap(),
        -1.1754944e-38
    );
    let d = map_column("t", &col("double", "double"), &json!({})).unwrap();
    assert_eq!(
        enc(&d, V::Double(0.1 + 0.2)).parse::<f64>().unwrap(),
        0.1 + 0.2
    );
    let text = map_column("t", &col("text", "text"), &json!({})).unwrap();
    assert_eq!(
        enc(&text, V::Bytes("a\\b\tc\nd\re🦎\0".as_bytes().to_vec())),
        "a\\\\b\\tc\\nd\\re🦎"
    );
    let blob = map_column("t", &col("blob", "blob"), &json!({})).unwrap();
    assert_eq!(enc(&blob, V::Bytes(vec![0, 255, 10])), "\\\\x00ff0a");
    let mut b = col("bit", "bit(10)");
    b.numeric_precision = Some(10);
    let bit = map_column("t", &b, &json!({})).unwrap();
    assert_eq!(enc(&bit, V::Bytes(vec![0b10, 0b0000_0101])), "1000000101");
}

#[test]
fn binlog_values_meet_the_copy_encoding() {
    let ts = map_column("t", &col("timestamp", "timestamp(6)"), &json!({})).unwrap();
    let c = col("timestamp", "timestamp(6)");
    let v = from_binlog(&c, &[], V::Bytes(b"2147483647.999999".to_vec()));
    assert_eq!(enc(&ts, v), "2038-01-19 03:14:07.999999+00");
    assert_eq!(
        enc(&ts, from_binlog(&c, &[], V::Bytes(b"1".to_vec()))),
        "1970-01-01 00:00:01.000000+00"
    );
    assert_eq!(
        enc(&ts, from_binlog(&c, &[], V::Bytes(b"951782400.5".to_vec()))),
        "2000-02-29 00:00:00.500000+00"
    );
    assert_eq!(
        enc(&ts, from_binlog(&c, &[], V::Bytes(b"0".to_vec()))),
        "\\N",
        "the zero timestamp"
    );
    let e = col("enum", "enum('a','b','c d')");
    assert_eq!(
        from_binlog(&e, &e.enum_values(), V::Int(3)),
        V::Bytes(b"c d".to_vec())
    );
    assert_eq!(
        from_binlog(&e, &e.enum_values(), V::Int(0)),
        V::Bytes(vec![])
    );
    let st = col("set", "set('x','y','z')");
    assert_eq!(
        from_binlog(&st, &st.enum_values(), V::Bytes(vec![0b101])),
        V::Bytes(b"x,z".to_vec())
    );
    assert_eq!(
        from_binlog(&st, &st.enum_values(), V::Bytes(vec![0])),
        V::Bytes(vec![])
    );
    assert_eq!(
        from_binlog(&col("year", "year(4)"), &[], V::Bytes(b"2155".to_vec())),
        V::Int(2155)
    );
    assert_eq!(
        from_binlog(&col("int", "int(11)"), &[], V::Int(7)),
        V::Int(7)
    );
}

#[test]
fn value_text_for_row_images() {
    let blob = map_column("t", &col("blob", "blob"), &json!({})).unwrap();
    assert_eq!(
        value_text(&blob, &V::Bytes(vec![0, 255])).unwrap(),
        (Some("\\x00ff".to_string()), false)
    );
    let text = map_column("t", &col("text", "text"), &json!({})).unwrap();
    assert_eq!(
        value_text(&text, &V::Bytes(b"a\tb\\c\0".to_vec()))
            .unwrap()
            .0
            .as_deref(),
        Some("a\tb\\c")
    );
    assert_eq!(value_text(&text, &V::NULL).unwrap(), (None, false));
    assert!(
        value_text(&text, &V::Bytes(vec![0xff, 0xfe])).is_err(),
        "not UTF-8: an error, not a guess"
    );
    let date = map_column("t", &col("date", "date"), &json!({})).unwrap();
    assert_eq!(
        value_text(&date, &V::Date(0, 0, 0, 0, 0, 0, 0)).unwrap(),
        (None, true)
    );
}

#[test]
fn dates_times_and_zero_dates() {
    let mut c = col("datetime", "datetime(6)");
    c.datetime_precision = Some(6);
    let dt = map_column("t", &c, &json!({})).unwrap();
    assert_eq!(
        enc(&dt, V::Date(2038, 1, 19, 3, 14, 7, 999_999)),
        "2038-01-19 03:14:07.999999"
    );
    let ts = map_column("t", &col("timestamp", "timestamp(6)"), &json!({})).unwrap();
    assert_eq!(
        enc(&ts, V::Date(1970, 1, 1, 0, 0, 1, 0)),
        "1970-01-01 00:00:01.000000+00"
    );
    let date = map_column("t", &col("date", "date"), &json!({})).unwrap();
    assert_eq!(enc(&date, V::Date(9999, 12, 31, 0, 0, 0, 0)), "9999-12-31");
    // zero dates: NULL where allowed, -infinity where not; reported
    let mut out = Vec::new();
    assert!(encode(&mut out, &date, &V::Date(0, 0, 0, 0, 0, 0, 0)).unwrap());
    assert_eq!(out, b"\\N");
    let mut nn = col("date", "date");
    nn.nullable = false;
    let date_nn = map_column("t", &nn, &json!({})).unwrap();
    assert_eq!(enc(&date_nn, V::Date(2020, 0, 1, 0, 0, 0, 0)), "-infinity");
    let time = map_column("t", &col("time", "time(6)"), &json!({})).unwrap();
    assert_eq!(
        enc(&time, V::Time(true, 34, 22, 59, 59, 0)),
        "-838:59:59.000000"
    );
    assert_eq!(
        enc(&time, V::Time(false, 1, 1, 2, 3, 500_000)),
        "25:02:03.500000"
    );
}

#[test]
fn mariadb_inet6_inet4_and_uuid() {
    assert_eq!(ty("inet6", "inet6"), "inet");
    assert_eq!(ty("uuid", "uuid"), "uuid");
    let i = col("inet6", "inet6");
    let mut addr = vec![0x20, 0x01, 0x0d, 0xb8];
    addr.extend([0; 11]);
    addr.push(1);
    assert_eq!(
        from_binlog(&i, &[], V::Bytes(addr)),
        V::Bytes(b"2001:db8::1".to_vec())
    );
    let u = col("uuid", "uuid");
    let raw = (0..16u8).map(|x| x * 17).collect::<Vec<_>>();
    assert_eq!(
        from_binlog(&u, &[], V::Bytes(raw)),
        V::Bytes(b"00112233-4455-6677-8899-aabbccddeeff".to_vec())
    );
    assert_eq!(
        from_binlog(&col("inet4", "inet4"), &[], V::Bytes(vec![10, 0, 0, 1])),
        V::Bytes(b"10.0.0.1".to_vec())
    );
}

#[test]
fn mysql_vector_becomes_real_array() {
    assert_eq!(ty("vector", "vector(3)"), "real[]");
    let c = map_column("t", &col("vector", "vector(3)"), &json!({})).unwrap();
    let bytes: Vec<u8> = [1.0f32, -2.5, 0.1, f32::MAX]
        .iter()
        .flat_map(|f| f.to_le_bytes())
        .collect();
    assert_eq!(enc(&c, V::Bytes(bytes)), "{1,-2.5,0.1,340282350000000000000000000000000000000}");
    assert_eq!(enc(&c, V::Bytes(Vec::new())), "{}");
    let mut out = Vec::new();
    assert!(encode(&mut out, &c, &V::Bytes(vec![0, 0, 128])).is_err(), "3 bytes are no float32");
}

#[test]
fn labels_mariadb_cannot_show() {
    // information_schema showed enum('?','a','?'); the rows had the first, not the last
    let mut c = col("enum", "enum('?','a','?')");
    c.read_labels = Some(vec!["🦎".into(), "a".into(), UNREADABLE_LABEL.into()]);
    let pg = map_column("t", &c, &json!({})).unwrap();
    assert_eq!(pg.labels[0], "🦎");
    assert_eq!(pg.check, None, "no domain with a label unknown");
    let mut known = col("enum", "enum('?','a')");
    known.read_labels = Some(vec!["🦎".into(), "a".into()]);
    assert_eq!(map_column("t", &known, &json!({})).unwrap().check.as_deref(), Some("\"c\" IN ('🦎', 'a')"));
}
