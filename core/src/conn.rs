//! MySQL connection strings.
//!
//! A source is registered with a URL `mysql://user:password@host[:port]/database[?params]`.
//! The catalogue stores the URL *without* the password (readable by monitoring roles) and the
//! password apart, in a table only the catalogue's owner can read. [`MysqlConn`] is the
//! parsed form; [`MysqlConn::redacted_url`] and [`MysqlConn::url_with_password`] rebuild it.

use crate::error::{Error, Result};
use url::Url;

pub const DEFAULT_PORT: u16 = 3306;

/// URL parameters a source accepts (see [`crate::source::client_opts`] for their meaning).
const KNOWN_PARAMS: &[&str] = &[
    "prefer_socket",
    "ssl",
    "root_cert_path",
    "danger_accept_invalid_certs",
    "danger_skip_domain_validation",
    "tcp_connect_timeout_ms",
    "compress",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlConn {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
    /// Extra URL parameters, in the order given.
    pub params: Vec<(String, String)>,
}

fn bad_url(detail: impl Into<String>) -> Error {
    Error::invalid("invalid MySQL connection string")
        .detail(detail)
        .hint("Use mysql://user:password@host:port/database, e.g. mysql://usr_replica:secret@127.0.0.1:3306/sakila.")
}

fn decode(s: &str) -> Result<String> {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| bad_url("could not decode a percent-encoded part"))
}

impl MysqlConn {
    /// Parses a source URL. The password may be empty here: it may come from a stored secret.
    pub fn parse(url: &str) -> Result<Self> {
        let u = Url::parse(url.trim()).map_err(|e| bad_url(format!("{e}")))?;
        if u.scheme() != "mysql" && u.scheme() != "mariadb" {
            return Err(bad_url(format!(
                "the scheme is \"{}\", expected \"mysql\"",
                u.scheme()
            )));
        }
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad_url("the host is missing"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let user = decode(u.username())?;
        if user.is_empty() {
            return Err(bad_url("the user is missing"));
        }
        let password = match u.password() {
            Some(p) => decode(p)?,
            None => String::new(),
        };
        let database = decode(u.path().trim_start_matches('/'))?;
        if database.is_empty() {
            return Err(bad_url("the database (path of the URL) is missing"));
        }
        if database.contains('/') {
            return Err(bad_url(
                "a source replicates one MySQL database: the path must be a single name",
            ));
        }
        let mut params = Vec::new();
        for (k, v) in u.query_pairs() {
            if !KNOWN_PARAMS.contains(&k.as_ref()) {
                return Err(bad_url(format!("unknown parameter \"{k}\""))
                    .hint(format!("Known parameters: {}.", KNOWN_PARAMS.join(", "))));
            }
            params.push((k.into_owned(), v.into_owned()));
        }
        Ok(MysqlConn {
            host,
            port: u.port().unwrap_or(DEFAULT_PORT),
            user,
            password,
            database,
            params,
        })
    }

    /// The value of URL parameter `key`, if given.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn build(&self, password: Option<&str>) -> String {
        let mut u = Url::parse("mysql://placeholder/").expect("static URL");
        // set_host handles IPv6 literals and validates the name
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        u.set_host(Some(&host))
            .expect("host was validated by parse");
        u.set_port(Some(self.port)).expect("mysql URLs take ports");
        u.set_username(&self.user).expect("mysql URLs take users");
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            u.set_password(Some(p)).expect("mysql URLs take passwords");
        }
        u.set_path(&self.database);
        if !self.params.is_empty() {
            u.query_pairs_mut().extend_pairs(self.params.iter());
        }
        u.to_string()
    }

    /// The URL without its password: safe to store in t_sources and to show.
    pub fn redacted_url(&self) -> String {
        self.build(None)
    }

    /// The full URL, for the client library only. Never log it.
    pub fn url_with_password(&self) -> String {
        self.build(Some(&self.password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_url() {
        let c = MysqlConn::parse(
            "mysql://usr_replica:s%40cret@127.0.0.1:3307/sakila?prefer_socket=false",
        )
        .unwrap();
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 3307);
        assert_eq!(c.user, "usr_replica");
        assert_eq!(c.password, "s@cret");
        assert_eq!(c.database, "sakila");
        assert_eq!(
            c.params,
            vec![("prefer_socket".to_string(), "false".to_string())]
        );
    }

    #[test]
    fn default_port_and_no_password() {
        let c = MysqlConn::parse("mysql://u@db.example/shop").unwrap();
        assert_eq!(c.port, 3306);
        assert_eq!(c.password, "");
    }

    #[test]
    fn redaction_drops_only_the_password() {
        let c = MysqlConn::parse("mysql://u:p%2Fw@h:1/d?prefer_socket=false").unwrap();
        let r = c.redacted_url();
        assert!(!r.contains("p%2Fw") && !r.contains("p/w"), "{r}");
        assert_eq!(r, "mysql://u@h:1/d?prefer_socket=false");
        // round trip: redacted URL + stored password gives the same connection
        let mut back = MysqlConn::parse(&r).unwrap();
        back.password = c.password.clone();
        assert_eq!(back, c);
        assert_eq!(MysqlConn::parse(&c.url_with_password()).unwrap(), c);
    }

    #[test]
    fn ipv6_host() {
        let c = MysqlConn::parse("mysql://u:p@[::1]:3307/d").unwrap();
        assert_eq!(c.host, "::1");
        assert_eq!(MysqlConn::parse(&c.url_with_password()).unwrap(), c);
    }

    #[test]
    fn rejects_bad_urls_with_a_hint() {
        for (url, needle) in [
            ("postgres://u:p@h/d", "scheme"),
            ("mysql://h/d", "user"),
            ("mysql://u:p@h:1/", "database"),
            ("mysql://u:p@h/a/b", "single name"),
            ("mysql://u:p@h/d?bogus=1", "unknown parameter"),
            ("mysql://u:p@h/d?require_ssl=true", "unknown parameter"),
            ("not a url", "relative URL"),
        ] {
            let e = MysqlConn::parse(url).unwrap_err();
            assert_eq!(e.state, crate::SqlState::InvalidParameterValue);
            assert!(
                e.detail.as_deref().unwrap_or("").contains(needle),
                "{url}: {e:?}"
            );
            assert!(e.hint.is_some(), "{url}");
        }
    }
}
