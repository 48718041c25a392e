//! PostgreSQL connection URLs, read and written in one place.
//!
//! Every URL the harness is given (`--primary-url`, `--replica-url`,
//! `--url`, `--app-url`) or hands out (`harness up`, messages) goes through
//! [`Endpoint::parse`] and [`Endpoint::url`]. The query parameters
//! (`sslmode`, `sslrootcert`, `application_name`, `connect_timeout`, ...)
//! stay on the endpoint in the order given, so a managed database's TLS
//! settings survive every `with_database`, `with_user` and `url_for` the
//! stages make on the way to a pool.
//!
//! The rules are libpq's, because the URLs come from and go to libpq
//! users (psql, pgbench, a provider's console): `%XX` is decoded everywhere
//! and nothing else is (a `+` stays a `+`, unlike an HTML form); the
//! parameters `host`, `port`, `user`, `password` and `dbname` override the
//! authority part; sqlx's spellings of the TLS parameters (`ssl-mode`,
//! `ssl-root-cert`, ...) are read as libpq's names. The structure (userinfo,
//! bracketed IPv6 hosts, ports) is left to the `url` crate; what it does
//! not know (the meaning of the query, PostgreSQL's defaults) is here.
//!
//! Going out, [`Endpoint::connect_options`] turns the fields and the
//! parameters sqlx understands into sqlx options, and
//! [`Endpoint::libpq_env`] gives the tools the harness runs (pgbench) the
//! same settings as libpq environment variables, so a password never sits
//! on a command line. When a connection fails, [`diagnose`] tells a TLS
//! failure from an unreachable server and says what to change.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sqlx::postgres::{PgConnectOptions, PgSslMode};

use super::{ClusterError, Endpoint};

/// Encoded in user names, passwords, hosts and database names: everything
/// but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encoded in parameter values: the same, but `/`, `:` and `,` stay
/// readable (file paths, lists); libpq and sqlx read them either way.
const VALUE: &AsciiSet = &COMPONENT.remove(b'/').remove(b':').remove(b',');

/// The values libpq accepts for `sslmode`.
const SSL_MODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

const ENCODE_HINT: &str = "characters such as @ : / ? # & % or a space in a user name, password or database name must be percent-encoded (@ is %40, / is %2F, # is %23)";

/// What a masked secret prints as.
const MASK: &str = "***";

/// The libpq name of a parameter given in sqlx's spelling.
fn canonical(key: &str) -> &str {
    match key {
        "ssl-mode" => "sslmode",
        "ssl-root-cert" | "ssl-ca" => "sslrootcert",
        "ssl-cert" => "sslcert",
        "ssl-key" => "sslkey",
        other => other,
    }
}

/// Parameters whose value is a secret (a key's passphrase): masked in
/// messages like the password.
fn is_secret(key: &str) -> bool {
    key.contains("password")
}

/// The libpq environment variable that carries a parameter to a tool.
fn libpq_var(key: &str) -> Option<&'static str> {
    Some(match key {
        "sslmode" => "PGSSLMODE",
        "sslrootcert" => "PGSSLROOTCERT",
        "sslcert" => "PGSSLCERT",
        "sslkey" => "PGSSLKEY",
        "sslcrl" => "PGSSLCRL",
        "sslcrldir" => "PGSSLCRLDIR",
        "sslsni" => "PGSSLSNI",
        "sslcompression" => "PGSSLCOMPRESSION",
        "ssl_min_protocol_version" => "PGSSLMINPROTOCOLVERSION",
        "ssl_max_protocol_version" => "PGSSLMAXPROTOCOLVERSION",
        "requirepeer" => "PGREQUIREPEER",
        "channel_binding" => "PGCHANNELBINDING",
        "gssencmode" => "PGGSSENCMODE",
        "krbsrvname" => "PGKRBSRVNAME",
        "application_name" => "PGAPPNAME",
        "options" => "PGOPTIONS",
        "connect_timeout" => "PGCONNECT_TIMEOUT",
        "client_encoding" => "PGCLIENTENCODING",
        "target_session_attrs" => "PGTARGETSESSIONATTRS",
        "hostaddr" => "PGHOSTADDR",
        "passfile" => "PGPASSFILE",
        "service" => "PGSERVICE",
        _ => return None,
    })
}

impl Endpoint {
    /// Parse a `postgres://user:password@host:port/database?name=value&...`
    /// URL (`postgresql://` too). Missing parts take PostgreSQL's usual
    /// defaults: port 5432, user and database `postgres`.
    pub fn parse(url: &str) -> Result<Endpoint, ClusterError> {
        let bad = |why: String| ClusterError::Config(format!("bad URL {}: {why}", redact(url)));
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad("it must start with postgres:// or postgresql://".into()));
        }
        let authority = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split(['/', '?']).next())
            .unwrap_or("");
        let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if hosts.contains(',') {
            return Err(bad(
                "it lists several hosts; give one host per URL (the primary and the replica are two URLs)".into(),
            ));
        }
        let u = url::Url::parse(url).map_err(|e| bad(format!("{e}; {ENCODE_HINT}")))?;
        if u.fragment().is_some() {
            return Err(bad(format!("it holds a '#'; {ENCODE_HINT}")));
        }
        let decode = |what: &str, s: &str| -> Result<String, ClusterError> {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad(format!("the {what} is not UTF-8 once percent-decoded")))
        };
        let mut host = match u.host_str() {
            Some(h) => decode("host", h.trim_start_matches('[').trim_end_matches(']'))?,
            None => String::new(),
        };
        let mut port = u.port();
        let mut user = match u.username() {
            "" => None,
            name => Some(decode("user name", name)?),
        };
        let mut password = match u.password() {
            Some(p) => Some(decode("password", p)?),
            // `user:@host`: an empty password, which the url crate reads as none.
            None => authority
                .rsplit_once('@')
                .filter(|(userinfo, _)| userinfo.ends_with(':'))
                .map(|_| String::new()),
        };
        let path = u.path().strip_prefix('/').unwrap_or(u.path());
        let mut database = match path {
            "" => None,
            p => Some(decode("database name", p)?),
        };
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in u.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                bad(format!(
                    "the parameter {pair:?} has no value; write name=value"
                ))
            })?;
            let key = decode("parameter name", k)?;
            let value = decode(&format!("value of {key}"), v)?;
            match canonical(&key) {
                "host" => host = value,
                "port" => {
                    port = Some(
                        value
                            .parse()
                            .map_err(|_| bad(format!("port={value} is not a port number")))?,
                    )
                }
                "user" => user = Some(value),
                "password" => password = Some(value),
                "dbname" => database = Some(value),
                k => {
                    check_param(k, &value).map_err(bad)?;
                    params.push((k.to_string(), value));
                }
            }
        }
        if host.is_empty() {
            return Err(bad(
                "no host; write postgres://user@host:port/database, or ?host=/socket/directory"
                    .into(),
            ));
        }
        Ok(Endpoint {
            host,
            port: port.unwrap_or(5432),
            user: user.unwrap_or_else(|| "postgres".into()),
            password,
            database: database.unwrap_or_else(|| "postgres".into()),
            params,
        })
    }

    /// A `postgres://` URL for this endpoint, parameters included, every
    /// part percent-encoded as needed: [`Endpoint::parse`] reads back the
    /// same endpoint.
    pub fn url(&self) -> String {
        self.url_for(&self.database)
    }

    /// The same server and parameters, another database.
    pub fn url_for(&self, database: &str) -> String {
        self.write(database, self.password.as_deref(), Form::Full)
    }

    /// The URL with the password (and any secret parameter) masked: the
    /// form every message and log line shows.
    pub fn redacted(&self) -> String {
        self.write(
            &self.database,
            self.password.as_ref().map(|_| MASK),
            Form::Masked,
        )
    }

    fn write(&self, database: &str, password: Option<&str>, form: Form) -> String {
        let masked = form == Form::Masked;
        let enc = |s: &str, set| utf8_percent_encode(s, set).to_string();
        let mut out = format!("postgres://{}", enc(&self.user, COMPONENT));
        if let Some(p) = password {
            out.push(':');
            out.push_str(&if masked {
                p.to_string()
            } else {
                enc(p, COMPONENT)
            });
        }
        out.push('@');
        if self.host.contains(':') {
            // An IPv6 address.
            out.push_str(&format!("[{}]", self.host));
        } else {
            out.push_str(&enc(&self.host, COMPONENT));
        }
        out.push_str(&format!(":{}/{}", self.port, enc(database, COMPONENT)));
        let params = if form == Form::Bare {
            &[][..]
        } else {
            &self.params[..]
        };
        for (i, (k, v)) in params.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            let v = if masked && is_secret(k) {
                MASK.to_string()
            } else {
                enc(v, VALUE)
            };
            out.push_str(&format!("{}={v}", enc(k, COMPONENT)));
        }
        out
    }

    /// The same endpoint with parameter `key` set to `value` (replacing
    /// any value it had), e.g. `sslmode`.
    pub fn with_param(&self, key: &str, value: &str) -> Endpoint {
        let key = canonical(key);
        let mut e = self.clone();
        e.params.retain(|(k, _)| k != key);
        e.params.push((key.to_string(), value.to_string()));
        e
    }

    /// A query parameter's value, by its libpq name.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// sqlx options for this endpoint. Of the parameters, sqlx is given
    /// those it implements: `sslmode`, `sslrootcert`, `sslcert`, `sslkey`,
    /// `application_name` (else "harness"), `options` (`-c name=value`
    /// settings) and `statement-cache-capacity`; `connect_timeout` is
    /// applied by [`Endpoint::connect`]. As in libpq, `sslmode=require`
    /// with a root certificate checks the server's certificate against it
    /// (`verify-ca`), so the harness and the tools it runs agree.
    pub fn connect_options(&self) -> PgConnectOptions {
        // sqlx's own reading of the bare URL looks the password up in
        // PGPASSWORD and then ~/.pgpass for this host, port, user and
        // database, as libpq does; the fields are set again after it so
        // nothing depends on how sqlx reads a host.
        let bare = self.write(&self.database, None, Form::Bare);
        let mut o = PgConnectOptions::from_str(&bare)
            .unwrap_or_else(|_| PgConnectOptions::new())
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(&self.database)
            .application_name("harness");
        if let Some(p) = &self.password {
            o = o.password(p);
        }
        for (k, v) in &self.params {
            o = match k.as_str() {
                "sslrootcert" => o.ssl_root_cert(v),
                "sslcert" => o.ssl_client_cert(v),
                "sslkey" => o.ssl_client_key(v),
                "application_name" => o.application_name(v),
                // Checked by parse; a value set by hand that does not
                // read is left out rather than guessed at.
                "options" => o.options(server_options(v).unwrap_or_default()),
                "statement-cache-capacity" => match v.parse() {
                    Ok(n) => o.statement_cache_capacity(n),
                    Err(_) => o,
                },
                _ => o,
            };
        }
        if let Some(mode) = self.param("sslmode") {
            // parse checked the value; one set by hand that is not a mode
            // fails closed (the strictest mode) rather than open.
            let mode = PgSslMode::from_str(mode).unwrap_or(PgSslMode::VerifyFull);
            let upgraded = match mode {
                PgSslMode::Require if self.param("sslrootcert").is_some() => PgSslMode::VerifyCa,
                m => m,
            };
            o = o.ssl_mode(upgraded);
        }
        o
    }

    /// `connect_timeout`, when the URL gives one above zero.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.param("connect_timeout")
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
    }

    /// The libpq environment for a tool the harness runs against this
    /// endpoint (pgbench, psql, pg_dump): host, port, user, database,
    /// password, and every parameter libpq has a variable for.
    pub fn libpq_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.database.clone()),
        ];
        if let Some(p) = &self.password {
            env.push(("PGPASSWORD", p.clone()));
        }
        for (k, v) in &self.params {
            if let Some(var) = libpq_var(k) {
                env.push((var, v.clone()));
            }
        }
        env
    }
}

/// Which URL [`Endpoint::write`] makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Everything, the password in clear: for handing to a client.
    Full,
    /// Password and secret parameters masked: for messages.
    Masked,
    /// No parameters (the password as given): for sqlx's own reading.
    Bare,
}

/// Refuse a parameter value that would only fail later, at connect time.
fn check_param(key: &str, value: &str) -> Result<(), String> {
    match key {
        "sslmode" if !SSL_MODES.contains(&value) => Err(format!(
            "sslmode={value} is not a mode; use one of {}",
            SSL_MODES.join(", ")
        )),
        "connect_timeout" if value.parse::<u64>().is_err() => Err(format!(
            "connect_timeout={value} is not a whole number of seconds"
        )),
        "statement-cache-capacity" if value.parse::<usize>().is_err() => {
            Err(format!("statement-cache-capacity={value} is not a number"))
        }
        "options" => server_options(value).map(|_| ()),
        _ => Ok(()),
    }
}

/// The settings of a libpq `options` string: `-c name=value`,
/// `-cname=value` or `--name=value`, separated by spaces, a backslash
/// escaping the next character.
fn server_options(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut tokens = Vec::new();
    let (mut cur, mut open, mut escaped) = (String::new(), false, false);
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
            open = true;
        } else if c.is_whitespace() {
            if open {
                tokens.push(std::mem::take(&mut cur));
                open = false;
            }
        } else {
            cur.push(c);
            open = true;
        }
    }
    if open {
        tokens.push(cur);
    }
    let mut out = Vec::new();
    let mut it = tokens.into_iter();
    while let Some(t) = it.next() {
        let setting = if t == "-c" {
            it.next()
                .ok_or_else(|| "options ends with -c and no name=value".to_string())?
        } else if let Some(rest) = t.strip_prefix("--").or_else(|| t.strip_prefix("-c")) {
            rest.to_string()
        } else {
            return Err(format!(
                "options: {t:?} is not a setting; write -c name=value (e.g. options=-c%20statement_timeout%3D5s)"
            ));
        };
        let (k, v) = setting
            .split_once('=')
            .ok_or_else(|| format!("options: {setting:?} has no =value"))?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// `url` with its password and secret parameters masked, as written (for
/// a URL that may not even parse): the user's own spelling stays.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => match base[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:{MASK}{}", &base[..s + 3], &base[at..]),
            None => base.to_string(),
        },
        _ => base.to_string(),
    };
    if let Some(q) = query {
        let pairs: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_secret(k) => format!("{k}={MASK}"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// What a failed connection says about TLS, when it was TLS (or the
/// server's rule that only TLS may connect) that stopped it. None: some
/// other cause (down, unreachable, wrong password), worth retrying while a
/// server starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// The server answered no to the TLS request.
    NotOffered,
    /// The certificate chain does not end at a trusted root.
    UntrustedCertificate,
    /// The certificate does not name the host (verify-full).
    WrongName,
    /// A certificate or key file named in the URL cannot be read.
    Unreadable {
        param: &'static str,
        path: String,
        why: String,
    },
    /// pg_hba.conf refused a connection without TLS.
    ServerRequiresTls,
    /// Any other TLS error.
    Handshake,
}

/// Classify a failed connection to `ep`.
pub fn diagnose(ep: &Endpoint, e: &sqlx::Error) -> Option<TlsFailure> {
    let text = e.to_string().to_lowercase();
    if let sqlx::Error::Database(db) = e {
        let refused_plain = db.code().as_deref() == Some("28000")
            && db.message().to_lowercase().contains("no encryption");
        return refused_plain.then_some(TlsFailure::ServerRequiresTls);
    }
    let tls_kind = matches!(e, sqlx::Error::Tls(_));
    let io_or_config = matches!(e, sqlx::Error::Io(_) | sqlx::Error::Configuration(_));
    if tls_kind || io_or_config {
        for param in ["sslrootcert", "sslcert", "sslkey"] {
            if let Some(path) = ep.param(param) {
                if let Err(why) = std::fs::File::open(Path::new(path)) {
                    return Some(TlsFailure::Unreadable {
                        param,
                        path: path.to_string(),
                        why: why.to_string(),
                    });
                }
            }
        }
    }
    if tls_kind && text.contains("does not support tls") {
        return Some(TlsFailure::NotOffered);
    }
    if text.contains("unknownissuer") || text.contains("unknown issuer") {
        return Some(TlsFailure::UntrustedCertificate);
    }
    if text.contains("notvalidforname") || text.contains("not valid for name") {
        return Some(TlsFailure::WrongName);
    }
    // Not "handshake" alone: a server going down mid-handshake says that
    // too, and a restart is worth waiting for.
    let certificate_talk = text.contains("certificate");
    (tls_kind || (io_or_config && certificate_talk)).then_some(TlsFailure::Handshake)
}

impl TlsFailure {
    /// What to do about it, for the endpoint it happened on.
    pub fn hint(&self, ep: &Endpoint) -> String {
        let mode = ep.param("sslmode").unwrap_or("prefer (the default)");
        match self {
            TlsFailure::NotOffered => format!(
                "TLS: the server at {}:{} does not offer TLS, and sslmode={mode} will not connect without it; turn TLS on at the server (ssl = on, with ssl_cert_file and ssl_key_file), or, only on a network you trust, use sslmode=prefer or sslmode=disable",
                ep.host, ep.port
            ),
            TlsFailure::UntrustedCertificate => format!(
                "TLS: the server's certificate is not signed by a certificate authority this connection trusts (sslmode={mode}, sslrootcert={}); give sslrootcert=PATH of the CA certificate that signed the server's certificate (a managed database's provider publishes its CA bundle), or use sslmode=require to encrypt without checking the certificate",
                ep.param("sslrootcert").unwrap_or("not set, so only the built-in public roots")
            ),
            TlsFailure::WrongName => format!(
                "TLS: the server's certificate does not name the host {:?} (sslmode={mode} checks the URL's host against the certificate); connect by a name the certificate lists, or use sslmode=verify-ca to check the certificate authority only",
                ep.host
            ),
            TlsFailure::Unreadable { param, path, why } => format!(
                "TLS: {param}={path} cannot be read ({why}); give the path of a PEM file this user can read"
            ),
            TlsFailure::ServerRequiresTls => "TLS: the server accepts only TLS connections from here (its pg_hba.conf has hostssl lines for this client); add sslmode=require to the URL, or sslmode=verify-full&sslrootcert=CA.pem to also check the server's certificate".to_string(),
            TlsFailure::Handshake => format!(
                "TLS: the handshake failed (sslmode={mode}); check sslmode, sslrootcert, sslcert and sslkey in the URL, and the server's certificate and key"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(url: &str) -> Endpoint {
        Endpoint::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn parameters_are_kept_in_order() {
        let e = ep("postgres://app:pw@db.example.com:6543/appdb?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=my%20app&connect_timeout=5");
        assert_eq!((e.host.as_str(), e.port), ("db.example.com", 6543));
        assert_eq!(
            e.params,
            [
                ("sslmode", "verify-full"),
                ("sslrootcert", "/etc/ca.pem"),
                ("application_name", "my app"),
                ("connect_timeout", "5"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(
            e.url(),
            "postgres://app:pw@db.example.com:6543/appdb?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=my%20app&connect_timeout=5"
        );
        assert_eq!(e.connect_timeout(), Some(Duration::from_secs(5)));
    }

    /// parse -> url -> parse gives the same endpoint, whatever characters
    /// the user name, password, database and parameters hold, and every
    /// derived endpoint keeps the parameters.
    #[test]
    fn round_trips_preserve_everything() {
        let odd = [
            "p@ss:w/rd?#&=+% é",
            "plain",
            "a+b",
            "%41",
            "",
            "sp ace",
            "ünïcödé/ø",
        ];
        for pw in odd {
            // Other parts hold the same characters, reversed, so a leak of
            // the password itself can be told apart.
            let rev: String = pw.chars().rev().collect();
            let e = Endpoint {
                host: "127.0.0.1".into(),
                port: 5433,
                user: format!("u{rev}"),
                password: Some(pw.to_string()),
                database: format!("d{rev}"),
                params: vec![
                    ("sslmode".into(), "require".into()),
                    ("sslrootcert".into(), format!("/tmp/c a{rev}.pem")),
                    ("options".into(), "-c search_path=a\\ b".into()),
                    ("application_name".into(), rev.clone()),
                ],
            };
            let back = ep(&e.url());
            assert_eq!(back, e, "{}", e.url());
            assert_eq!(ep(&back.url()), e);
            assert_eq!(ep(&e.url_for("other")), e.with_database("other"));
            let as_x = e.with_user("x", Some(pw));
            assert_eq!(ep(&as_x.url()), as_x);
            assert_eq!(as_x.params, e.params);
            if pw.len() > 3 {
                let encoded = utf8_percent_encode(pw, COMPONENT).to_string();
                let shown = e.redacted();
                assert!(
                    !shown.contains(pw) && !shown.contains(&encoded),
                    "{shown} shows the password"
                );
            }
        }
    }

    #[test]
    fn libpq_rules_decode_only_percent() {
        let e = ep("postgresql://us%40er:a+b%2Fc@h/db%2Fx?application_name=a+b");
        assert_eq!(e.user, "us@er");
        assert_eq!(e.password.as_deref(), Some("a+b/c"));
        assert_eq!(e.database, "db/x");
        assert_eq!(e.param("application_name"), Some("a+b"));
        // Unencoded @ and : in a password still read as libpq reads them.
        let e = ep("postgres://u:p@ss:w@h:1/d");
        assert_eq!(e.password.as_deref(), Some("p@ss:w"));
        assert_eq!((e.host.as_str(), e.port), ("h", 1));
    }

    #[test]
    fn query_overrides_authority_and_defaults_fill_in() {
        let d = ep("postgresql://localhost");
        assert_eq!(
            (
                d.port,
                d.database.as_str(),
                d.user.as_str(),
                d.password.clone()
            ),
            (5432, "postgres", "postgres", None)
        );
        let e = ep("postgres:///?host=/var/run/postgresql&port=6000&user=me&password=s%26x&dbname=mine&ssl-mode=disable&ssl-root-cert=/x");
        assert_eq!(
            (
                e.host.as_str(),
                e.port,
                e.user.as_str(),
                e.database.as_str()
            ),
            ("/var/run/postgresql", 6000, "me", "mine")
        );
        assert_eq!(e.password.as_deref(), Some("s&x"));
        assert_eq!(e.param("sslmode"), Some("disable"), "sqlx's spelling read");
        assert_eq!(e.param("sslrootcert"), Some("/x"));
        assert_eq!(ep(&e.url()), e, "a socket directory round-trips");
        let w = e.with_param("ssl-mode", "require");
        assert_eq!(w.param("sslmode"), Some("require"));
        assert_eq!(w.params.len(), e.params.len(), "replaced, not added");
        let v6 = ep("postgres://u@[::1]:5999/d");
        assert_eq!(v6.host, "::1");
        assert_eq!(ep(&v6.url()), v6);
    }

    #[test]
    fn bad_urls_say_why_and_hide_the_password() {
        for (url, says) in [
            ("mysql://x", "postgres://"),
            ("postgres://u@h:notaport/d", "port"),
            ("postgres://u:secret@h/d?sslmode=required", "verify-full"),
            (
                "postgres://u:secret@h/d?connect_timeout=soon",
                "connect_timeout",
            ),
            ("postgres://u:secret@h/d?sslmode", "no value"),
            ("postgres://u:sec#ret@h/d", "%23"),
            ("postgres://u:secret@h/d?options=-x", "-c name=value"),
            ("postgres:///d", "no host"),
            ("postgres://u:secret@h1:5432,h2:5432/d", "one host per URL"),
            ("postgres://u:secret@h1,h2/d", "one host per URL"),
        ] {
            let e = Endpoint::parse(url).unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
            assert!(!e.contains("secret"), "{url}: {e}");
        }
    }

    #[test]
    fn connect_options_apply_the_parameters() {
        let e = ep("postgres://u:p@h:7/d?sslmode=verify-full&sslrootcert=/ca.pem&application_name=mine&options=-c%20statement_timeout%3D5s%20--work_mem%3D8MB");
        let o = e.connect_options();
        assert!(matches!(o.get_ssl_mode(), PgSslMode::VerifyFull));
        assert_eq!(o.get_application_name(), Some("mine"));
        assert_eq!(
            o.get_options(),
            Some("-c statement_timeout=5s -c work_mem=8MB")
        );
        assert_eq!(
            (o.get_host(), o.get_port(), o.get_username()),
            ("h", 7, "u")
        );
        // libpq: require with a root certificate checks the chain.
        let r = ep("postgres://h/d?sslmode=require&sslrootcert=/ca.pem").connect_options();
        assert!(matches!(r.get_ssl_mode(), PgSslMode::VerifyCa));
        let plain = ep("postgres://h/d?sslmode=require").connect_options();
        assert!(matches!(plain.get_ssl_mode(), PgSslMode::Require));
        assert_eq!(plain.get_application_name(), Some("harness"));
    }

    #[test]
    fn tools_get_the_parameters_as_libpq_variables() {
        let env = ep("postgres://u:p%20w@h:7/d?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=3&statement-cache-capacity=5").libpq_env();
        let get = |k: &str| env.iter().find(|(v, _)| *v == k).map(|(_, x)| x.as_str());
        assert_eq!(get("PGSSLMODE"), Some("verify-full"));
        assert_eq!(get("PGSSLROOTCERT"), Some("/ca.pem"));
        assert_eq!(get("PGCONNECT_TIMEOUT"), Some("3"));
        assert_eq!(get("PGPASSWORD"), Some("p w"));
        assert_eq!((get("PGHOST"), get("PGPORT")), (Some("h"), Some("7")));
        assert_eq!(env.len(), 8, "sqlx-only parameters stay out: {env:?}");
    }

    #[test]
    fn redact_masks_what_it_can_read() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://h/db?password=x&sslpassword=y&sslmode=require"),
            "postgres://h/db?password=***&sslpassword=***&sslmode=require"
        );
        let e = ep("postgres://u:secret@h/d?sslpassword=key&sslmode=require");
        assert_eq!(
            e.redacted(),
            "postgres://u:***@h:5432/d?sslpassword=***&sslmode=require"
        );
    }

    #[test]
    fn options_strings_read_like_libpq() {
        assert_eq!(
            server_options(" -c a=1   -cb=two\\ words --c-d=3 ").unwrap(),
            [("a", "1"), ("b", "two words"), ("c-d", "3")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(server_options("-c").is_err());
        assert!(server_options("-c novalue").is_err());
    }
}
