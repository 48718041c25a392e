//! Converted rows in COPY's binary format.
//!
//! Why: in a text COPY the server's input functions (`timestamptz_in`,
//! `numeric_in`, `uuid_in`, `date_in`, splitting lines into fields) are a
//! large share of the load; their binary counterparts take fixed-width
//! values as they come. The server still checks every value against its
//! column (`varchar(n)` lengths, `numeric` precision, CHECKs, keys, jsonb
//! syntax).
//!
//! Binary input is strict about types: an `int4` field sent to a `bigint`
//! column is an error, where text would have been cast. So a table goes
//! binary only when every target column has exactly the type its rule
//! produces ([`expected_type`], checked against the catalog by the COPY
//! stage); any other table keeps the text format.
//!
//! Format (PostgreSQL's "COPY ... Binary Format"): a signature and two zero
//! words, then per row a field count and, per field, a byte length (-1 for
//! NULL) and the type's `send` representation; a field count of -1 ends it.

use std::net::IpAddr;

use super::convert::{format_decimal, Val};
use crate::app::Rule;

/// The stream header: signature, flags (no OIDs), header-extension length.
pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The stream trailer: a field count of -1.
pub const TRAILER: &[u8] = &[0xff, 0xff];

/// `text`'s type OID, the element type of `text[]`.
const TEXT_OID: u32 = 25;
/// 2000-01-01 (PostgreSQL's epoch) in microseconds and days since 1970-01-01.
const PG_EPOCH_US: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

/// The catalog type name (`pg_type.typname`) a rule's values are sent as;
/// `key_uuid` says whether the key (or the referenced key) is a UUID.
pub fn expected_type(rule: &Rule, key_uuid: bool) -> &'static str {
    match rule {
        Rule::Key { uuid_tag: Some(_) } => "uuid",
        Rule::Key { uuid_tag: None } => "int8",
        Rule::Ref { .. } | Rule::RecordRef { .. } => {
            if key_uuid {
                "uuid"
            } else {
                "int8"
            }
        }
        Rule::Text { max_chars: Some(_) } => "varchar",
        Rule::Text { max_chars: None } => "text",
        Rule::Integer => "int4",
        Rule::Bigint => "int8",
        Rule::Numeric { .. } => "numeric",
        Rule::Float => "float8",
        Rule::Boolean => "bool",
        Rule::Timestamptz { .. } => "timestamptz",
        Rule::Date { .. } => "date",
        Rule::Jsonb => "jsonb",
        Rule::TextArray { .. } => "_text",
        Rule::Point => "point",
        Rule::Inet => "inet",
        Rule::Bytea => "bytea",
    }
}

/// Append one row (values in target column order; `int4[i]` says whether
/// an integer value goes to an `int4` column rather than `int8`).
pub fn encode_row(vals: &[Val], int4: &[bool], buf: &mut Vec<u8>) {
    buf.extend_from_slice(&(vals.len() as i16).to_be_bytes());
    for (v, small) in vals.iter().zip(int4) {
        match v {
            Val::Null => buf.extend_from_slice(&(-1i32).to_be_bytes()),
            Val::Uuid(u) => field(buf, |b| b.extend_from_slice(u.as_bytes())),
            Val::Int(i) if *small => {
                // Checked by the integer rule: within i32.
                let i = *i as i32;
                field(buf, |b| b.extend_from_slice(&i.to_be_bytes()))
            }
            Val::Int(i) => field(buf, |b| b.extend_from_slice(&i.to_be_bytes())),
            Val::Text(s) => field(buf, |b| b.extend_from_slice(s.as_bytes())),
            Val::Numeric { units, scale } => {
                let text = format_decimal(*units, *scale);
                field(buf, |b| numeric(&text, *scale, b))
            }
            Val::Bool(x) => field(buf, |b| b.push(u8::from(*x))),
            Val::Ts(us) => field(buf, |b| {
                b.extend_from_slice(&(us - PG_EPOCH_US).to_be_bytes())
            }),
            Val::Date(d) => field(buf, |b| {
                b.extend_from_slice(&(d - PG_EPOCH_DAYS).to_be_bytes())
            }),
            Val::Json(j) => field(buf, |b| {
                // jsonb's binary form: a version byte, then the text.
                b.push(1);
                b.extend_from_slice(j.as_bytes());
            }),
            Val::List(items) => field(buf, |b| text_array(items, b)),
            Val::Point(x, y) => field(buf, |b| {
                b.extend_from_slice(&x.to_be_bytes());
                b.extend_from_slice(&y.to_be_bytes());
            }),
            Val::Inet(s) => field(buf, |b| inet(s, b)),
            Val::Float(f) => field(buf, |b| b.extend_from_slice(&f.to_be_bytes())),
            Val::Bytes(x) => field(buf, |b| b.extend_from_slice(x)),
        }
    }
}

/// A field: its length word, then what `body` writes.
pub fn field(buf: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    body(buf);
    let len = (buf.len() - at - 4) as i32;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// `numeric`'s binary form of `-?digits(.digits)?` with `scale` fraction
/// digits: digit-group count, weight, sign and display scale as 16-bit
/// words, then base-10000 groups, most significant first, without leading
/// or trailing zero groups.
pub fn numeric(text: &str, scale: u8, buf: &mut Vec<u8>) {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let mut digits = String::with_capacity(int.len() + frac.len() + 8);
    digits.extend(std::iter::repeat_n('0', (4 - int.len() % 4) % 4));
    digits.push_str(int);
    let int_groups = digits.len() / 4;
    digits.push_str(frac);
    digits.extend(std::iter::repeat_n('0', (4 - frac.len() % 4) % 4));
    let mut groups: Vec<i16> = digits
        .as_bytes()
        .chunks(4)
        .map(|g| g.iter().fold(0i16, |n, d| n * 10 + i16::from(d - b'0')))
        .collect();
    let mut weight = int_groups as i16 - 1;
    let lead = groups.iter().take_while(|&&g| g == 0).count();
    groups.drain(..lead);
    weight -= lead as i16;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let (sign, weight) = match (groups.is_empty(), negative) {
        (true, _) => (0u16, 0),
        (false, true) => (0x4000, weight),
        (false, false) => (0, weight),
    };
    buf.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    buf.extend_from_slice(&weight.to_be_bytes());
    buf.extend_from_slice(&sign.to_be_bytes());
    buf.extend_from_slice(&i16::from(scale).to_be_bytes());
    for g in groups {
        buf.extend_from_slice(&g.to_be_bytes());
    }
}

/// A one-dimensional `text[]` (lower bound 1); an empty list has no
/// dimensions, as `'{}'::text[]` has none.
fn text_array(items: &[Option<String>], buf: &mut Vec<u8>) {
    text_array_of(items.iter().map(Option::as_deref), buf)
}

/// [`text_array`] over any items (`None` is a NULL element).
pub fn text_array_of<'a, I>(items: I, buf: &mut Vec<u8>)
where
    I: ExactSizeIterator<Item = Option<&'a str>> + Clone,
{
    let n = items.len();
    let ndim: i32 = if n == 0 { 0 } else { 1 };
    let has_null = i32::from(items.clone().any(|i| i.is_none()));
    buf.extend_from_slice(&ndim.to_be_bytes());
    buf.extend_from_slice(&has_null.to_be_bytes());
    buf.extend_from_slice(&TEXT_OID.to_be_bytes());
    if ndim == 1 {
        buf.extend_from_slice(&(n as i32).to_be_bytes());
        buf.extend_from_slice(&1i32.to_be_bytes());
    }
    for item in items {
        match item {
            None => buf.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(s) => field(buf, |b| b.extend_from_slice(s.as_bytes())),
        }
    }
}

/// `inet`'s binary form of `addr` or `addr/bits` (the rule's canonical
/// text).
fn inet(s: &str, buf: &mut Vec<u8>) {
    let (addr, bits) = match s.split_once('/') {
        Some((a, b)) => (a, b.parse::<u8>().ok()),
        None => (s, None),
    };
    // The rule only lets parsed addresses through.
    let ip: IpAddr = addr
        .parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    inet_addr(ip, bits, buf)
}

/// `inet`'s binary form: family, prefix bits (all of them when `None`),
/// "is cidr" (no), address length, address.
pub fn inet_addr(ip: IpAddr, bits: Option<u8>, buf: &mut Vec<u8>) {
    // PostgreSQL's own family codes (PGSQL_AF_INET, PGSQL_AF_INET6).
    match ip {
        IpAddr::V4(a) => {
            buf.extend_from_slice(&[2, bits.unwrap_or(32), 0, 4]);
            buf.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            buf.extend_from_slice(&[3, bits.unwrap_or(128), 0, 16]);
            buf.extend_from_slice(&a.octets());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, scale: u8) -> Vec<i16> {
        let mut b = Vec::new();
        numeric(text, scale, &mut b);
        b.chunks(2)
            .map(|w| i16::from_be_bytes([w[0], w[1]]))
            .collect()
    }

    #[test]
    fn numeric_groups_in_base_10000_around_the_point() {
        // ndigits, weight, sign, dscale, digits...
        assert_eq!(words("12345.67", 2), [3, 1, 0, 2, 1, 2345, 6700]);
        assert_eq!(words("123456.78", 2), [3, 1, 0, 2, 12, 3456, 7800]);
        assert_eq!(words("-0.05", 2), [1, -1, 0x4000, 2, 500]);
        assert_eq!(words("-10000.00", 2), [1, 1, 0x4000, 2, 1]);
        assert_eq!(words("0.00", 2), [0, 0, 0, 2]);
        assert_eq!(words("-0.00", 2), [0, 0, 0, 2]);
        assert_eq!(words("7", 0), [1, 0, 0, 0, 7]);
        assert_eq!(words("99.50", 2), [2, 0, 0, 2, 99, 5000]);
    }

    #[test]
    fn arrays_addresses_and_dates_have_their_send_layout() {
        let mut b = Vec::new();
        text_array(&[Some("ab".into()), Some(String::new())], &mut b);
        let mut want = Vec::new();
        for w in [1i32, 0, 25, 2, 1, 2] {
            want.extend_from_slice(&w.to_be_bytes());
        }
        want.extend_from_slice(b"ab");
        want.extend_from_slice(&0i32.to_be_bytes());
        assert_eq!(b, want);

        let mut b = Vec::new();
        text_array(&[Some("a".into()), None], &mut b);
        assert_eq!(&b[4..8], &1i32.to_be_bytes(), "has-null flag");

        let mut b = Vec::new();
        inet("10.1.2.3", &mut b);
        assert_eq!(b, [2, 32, 0, 4, 10, 1, 2, 3]);
        let mut b = Vec::new();
        inet("10.1.0.0/16", &mut b);
        assert_eq!(b, [2, 16, 0, 4, 10, 1, 0, 0]);

        let mut r = Vec::new();
        encode_row(&[Val::Date(PG_EPOCH_DAYS + 1)], &[false], &mut r);
        assert_eq!(&r[2..6], &4i32.to_be_bytes());
        assert_eq!(&r[6..10], &1i32.to_be_bytes());
    }
}
