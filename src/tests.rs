//! In-database tests (`cargo pgrx test`): the API against the generated 1.3 catalogue.
use pgrx::prelude::*;

#[pg_test]
fn version_is_1_3() {
    assert_eq!(Spi::get_one::<String>("SELECT t_version FROM sch_chameleon.v_version").unwrap().as_deref(), Some("1.3"));
}
