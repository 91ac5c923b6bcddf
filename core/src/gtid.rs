//! MySQL's GTID sets (`3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:11,…`): the executed set a
//! source's position carries, moved forward by each transaction's GTID. MariaDB's GTIDs
//! (`domain-server-seq`) are positions of their own and pass through unchanged.

use std::collections::BTreeMap;
use std::fmt;

use mysql::mysql_common::packets::{GnoInterval, Sid};

use crate::error::{Error, Result};

/// A MySQL GTID set: per source UUID (lower case), its transaction numbers as sorted,
/// disjoint, non-adjacent closed intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidSet {
    sets: BTreeMap<String, Vec<(u64, u64)>>,
}

fn bad(text: &str) -> Error {
    Error::invalid(format!("\"{text}\" is not a MySQL GTID set"))
}

impl GtidSet {
    /// Reads `@@gtid_executed` text (whitespace and newlines allowed; empty = the empty set).
    /// MySQL 8.3+ tagged GTIDs (`uuid:tag:1-5`) keep their tag as part of the key.
    pub fn parse(text: &str) -> Result<GtidSet> {
        let mut set = GtidSet::default();
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for part in clean.split(',').filter(|p| !p.is_empty()) {
            let mut fields = part.split(':');
            let mut key = fields.next().unwrap_or_default().to_ascii_lowercase();
            if key.len() != 36 {
                return Err(bad(text));
            }
            for f in fields {
                match f.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (
                            a.parse().map_err(|_| bad(text))?,
                            b.parse().map_err(|_| bad(text))?,
                        );
                        set.insert_range(&key, a, b);
                    }
                    None => match f.parse::<u64>() {
                        Ok(n) => set.insert_range(&key, n, n),
                        // a tag: the numbers after it belong to uuid:tag
                        Err(_) => key = format!("{}:{}", &key[..36], f.to_ascii_lowercase()),
                    },
                }
            }
        }
        Ok(set)
    }

    /// Adds one transaction (`uuid[:tag]`, number).
    pub fn insert(&mut self, source: &str, gno: u64) {
        self.insert_range(&source.to_ascii_lowercase(), gno, gno);
    }

    fn insert_range(&mut self, key: &str, a: u64, b: u64) {
        let v = self.sets.entry(key.to_string()).or_default();
        v.push((a.min(b), a.max(b)));
        v.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(v.len());
        for (a, b) in v.drain(..) {
            match merged.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *v = merged;
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The set as the COM_BINLOG_DUMP_GTID request carries it (None: it has tagged GTIDs, which
    /// this request form does not carry here).
    pub fn sids(&self) -> Option<Vec<Sid<'static>>> {
        self.sets
            .iter()
            .map(|(key, ranges)| {
                let hex: String = key.chars().filter(|c| *c != '-').collect();
                if hex.len() != 32 {
                    return None;
                }
                let mut uuid = [0u8; 16];
                for (i, b) in uuid.iter_mut().enumerate() {
                    *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
                }
                let intervals = ranges
                    .iter()
                    .map(|(a, b)| GnoInterval::new(*a, b + 1))
                    .collect();
                Some(Sid::new(uuid).with_intervals(intervals))
            })
            .collect()
    }

    /// Whether every transaction of `other` is in this set.
    pub fn includes(&self, other: &GtidSet) -> bool {
        other.sets.iter().all(|(key, ranges)| {
            let mine = self.sets.get(key).map(Vec::as_slice).unwrap_or_default();
            ranges
                .iter()
                .all(|(a, b)| mine.iter().any(|(x, y)| x <= a && b <= y))
        })
    }

    /// Every transaction of either set.
    pub fn union(&self, other: &GtidSet) -> GtidSet {
        let mut u = self.clone();
        for (key, ranges) in &other.sets {
            for (a, b) in ranges {
                u.insert_range(key, *a, *b);
            }
        }
        u
    }

    pub fn contains(&self, source: &str, gno: u64) -> bool {
        self.sets
            .get(&source.to_ascii_lowercase())
            .is_some_and(|v| v.iter().any(|(a, b)| (*a..=*b).contains(&gno)))
    }
}

impl fmt::Display for GtidSet {
    /// As MySQL writes it: sources in order, intervals `a-b` or `a`, comma separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (key, ranges) in &self.sets {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(key)?;
            for (a, b) in ranges {
                if a == b {
                    write!(f, ":{a}")?;
                } else {
                    write!(f, ":{a}-{b}")?;
                }
            }
        }
        Ok(())
    }
}

/// Whether a stored position's GTID text is a MySQL GTID set (a UUID first), not MariaDB's.
pub fn is_mysql_set(text: &str) -> bool {
    let t = text.trim();
    t.len() >= 36 && t.as_bytes()[8] == b'-' && t.as_bytes()[13] == b'-' && !t.contains(' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "4e11fa47-71ca-11e1-9e33-c80aa9429562";

    #[test]
    fn parse_add_and_print_as_mysql_does() {
        let mut s = GtidSet::parse(&format!("{},\n{}:1-5:7", B.to_uppercase(), A)).unwrap();
        assert_eq!(s.to_string(), format!("{A}:1-5:7"));
        s.insert(A, 6);
        assert_eq!(s.to_string(), format!("{A}:1-7"));
        s.insert(B, 1);
        s.insert(A, 9);
        assert_eq!(s.to_string(), format!("{A}:1-7:9,{B}:1"));
        assert!(s.contains(A, 3) && !s.contains(A, 8) && s.contains(B, 1));
        let part = GtidSet::parse(&format!("{A}:2-6")).unwrap();
        assert!(s.includes(&part) && !part.includes(&s));
        assert!(!s.includes(&GtidSet::parse(&format!("{A}:7-9")).unwrap()));
        assert_eq!(GtidSet::parse("").unwrap().to_string(), "");
        assert!(GtidSet::parse("0-1-42").is_err());
        let tagged = GtidSet::parse(&format!("{A}:1-2:blue:5")).unwrap();
        assert!(tagged.contains(&format!("{A}:blue"), 5) && tagged.contains(A, 2));
    }

    #[test]
    fn flavours_apart() {
        assert!(is_mysql_set(&format!("{A}:1-5")));
        assert!(!is_mysql_set("0-1-42"));
        assert!(!is_mysql_set(""));
    }
}
